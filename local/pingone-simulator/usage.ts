/** What the simulator's control surface (in-process methods, the admin API) accepts, and its refusal. */

import { randomUUID } from 'node:crypto';

/** A control-API call the simulator cannot honour: unknown environment, duplicate id, bad option. */
export class SimulatorUsageError extends Error {
  constructor(
    message: string,
    readonly reason: 'invalid' | 'not-found' = 'invalid',
  ) {
    super(message);
    this.name = 'SimulatorUsageError';
  }
}

/** The id a caller gave (non-empty, no '/': it becomes a path segment), or a new UUID. */
export function newId(given: string | undefined, what: string): string {
  if (given === undefined) return randomUUID();
  if (typeof given !== 'string' || given === '' || given.includes('/')) {
    throw new SimulatorUsageError(`${what} must be a non-empty string without '/'`);
  }
  return given;
}

export function oneOf<T extends string>(value: T, allowed: readonly T[], what: string): T {
  if (!allowed.includes(value)) throw new SimulatorUsageError(`${what} must be one of ${allowed.join(', ')}`);
  return value;
}
