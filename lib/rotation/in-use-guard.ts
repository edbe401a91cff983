import {
  IN_USE_WINDOW_TAG,
  type InUseWindow,
  type InUseWindowTagPower,
  resolveInUseWindow,
} from '../config.js';
import { PreviousSecretInUseError } from '../errors.js';
import { describeOwner } from '../owner.js';
import type { PingOneSecretState, SecretOwner } from '../pingone/types.js';
import type { RotationDeps } from './deps.js';

/** Why the guard let a regenerate through, for the step's log line. */
export type InUseCheck =
  | { readonly verdict: 'off' }
  | { readonly verdict: 'no-previous' }
  | { readonly verdict: 'never-used' }
  | { readonly verdict: 'quiet'; readonly lastUsed: string };

/**
 * Whether PingOne's previous secret is still in use: unexpired, and `previous.lastUsed` within `window` of
 * `now`. A `lastUsed` in the future (clock skew) counts as in use. A `lastUsed` or `expiresAt` PingOne sends
 * that cannot be read is treated as in use / unexpired: the guard fails closed, and the window tag set to
 * `0` is the operator's way past it.
 */
export function previousInUse(
  state: PingOneSecretState,
  window: InUseWindow,
  now: number,
): { inUse: true; lastUsedMs: number | undefined; expiresAtMs: number | undefined } | { inUse: false } {
  const previous = state.previous;
  if (window.ms === 0 || !previous || previous.lastUsed === undefined) return { inUse: false };
  const expiresAtMs = parseTime(previous.expiresAt);
  if (expiresAtMs !== undefined && expiresAtMs <= now) return { inUse: false };
  const lastUsedMs = parseTime(previous.lastUsed);
  if (lastUsedMs !== undefined && now - lastUsedMs >= window.ms) return { inUse: false };
  return { inUse: true, lastUsedMs, expiresAtMs };
}

/**
 * The in-use guard, called by createSecret just before it would regenerate. PingOne keeps one previous
 * secret; a regenerate replaces it. When consumers still authenticate with it (a second "rotate now"
 * within the grace period, caches, long-lived pods), that would lock them all out at once. So: if the
 * previous secret is unexpired and was used within the window, refuse with PreviousSecretInUseError and
 * change nothing; Secrets Manager retries the rotation, which proceeds once it is quiet or expired.
 */
export function assertPreviousSecretNotInUse(
  deps: Pick<RotationDeps, 'config' | 'logger' | 'metrics' | 'now'>,
  owner: SecretOwner,
  state: PingOneSecretState,
  tags: Readonly<Record<string, string>>,
): InUseCheck {
  const window = resolveInUseWindow(deps.config, tags);
  if (window.ms === 0) return { verdict: 'off' };
  if (!state.previous) return { verdict: 'no-previous' };
  const now = deps.now();
  const check = previousInUse(state, window, now);
  if (!check.inUse) {
    return state.previous.lastUsed === undefined
      ? { verdict: 'never-used' }
      : { verdict: 'quiet', lastUsed: state.previous.lastUsed };
  }
  deps.metrics.count('PreviousSecretInUse');
  deps.logger.warn('previous secret still in use; not regenerating', {
    previousLastUsed: state.previous.lastUsed,
    previousExpiresAt: state.previous.expiresAt,
    inUseWindow: window.text,
    inUseWindowSource: window.source,
  });
  throw inUseError(owner, state.previous, window, check, now, deps.config.tagBounds.inUseWindowMay);
}

function inUseError(
  owner: SecretOwner,
  previous: NonNullable<PingOneSecretState['previous']>,
  window: InUseWindow & { source: 'tag' | 'function-default' },
  check: { lastUsedMs: number | undefined; expiresAtMs: number | undefined },
  now: number,
  tagMay: InUseWindowTagPower,
): PreviousSecretInUseError {
  const setting =
    window.source === 'tag'
      ? `the secret's tag ${IN_USE_WINDOW_TAG}=${window.text}`
      : `PREVIOUS_SECRET_IN_USE_WINDOW=${window.text}`;
  const used =
    check.lastUsedMs === undefined
      ? `reports a last use PingOne sent in a form that cannot be read ('${previous.lastUsed}'), so it is treated as in use`
      : `was last used at ${at(check.lastUsedMs, now)}, within ${setting}`;
  const expires =
    check.expiresAtMs === undefined
      ? 'its expiry cannot be read'
      : `it stays valid until ${at(check.expiresAtMs, now)}`;
  const quietAt =
    check.lastUsedMs === undefined ? undefined : new Date(check.lastUsedMs + window.ms).toISOString();
  return new PreviousSecretInUseError(
    `PreviousSecretInUse: PingOne's previous secret of ${describeOwner(owner)} ${used}; ${expires}. ` +
      'Regenerating now would replace it and lock out every consumer still using it, so nothing was changed. ' +
      'What to do: find the consumers still on the previous secret (caches, long-lived pods) and move them to ' +
      "AWSCURRENT (PingOne's current secret); the rotation proceeds once the previous secret has been unused for " +
      `${window.text}${quietAt ? ` (no earlier than ${quietAt} if no one uses it again)` : ''} or has expired — ` +
      'Secrets Manager retries it, or run `pingone-rotation rotate` then. ' +
      (tagMay === 'switch-off'
        ? `To rotate anyway and evict it, tag the secret ${IN_USE_WINDOW_TAG}=0.`
        : `To rotate anyway and evict it, a deployer must first let tags switch the guard off (stack parameter ` +
          `TagInUseWindowMay=switch-off, now ${tagMay}), then tag the secret ${IN_USE_WINDOW_TAG}=0.`),
    { lastUsed: previous.lastUsed ?? '', expiresAt: previous.expiresAt },
  );
}

function parseTime(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** `2026-01-02T03:04:05Z (12m ago)` / `(in 6d 23h)`. */
function at(ms: number, now: number): string {
  const delta = ms - now;
  const iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `${iso} (${delta >= 0 ? `in ${span(delta)}` : `${span(-delta)} ago`})`;
}

function span(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ];
  const [unit, size] = units.find(([, size]) => ms >= size) ?? ['s', 1_000];
  return `${Math.floor(ms / size)}${unit}`;
}
