/**
 * The fleet manifest: CSV (a header row) or JSON (an array, or `{ "items": [...] }`), one secret per row.
 *
 * Columns / keys (case, `_` and `-` ignored): secretName, environmentId, and either kind + ownerId or one of
 * resourceId / applicationId; optional region, schedule, window, ttl (or previousSecretTtl) and tags (JSON:
 * an object; CSV: `key=value;key=value`).
 */
import { parse as parseCsv } from 'csv-parse/sync';
import type { SecretOwnerKind } from '../../lib/pingone/types.js';
import { UsageError } from '../errors.js';
import type { OnboardingItem } from './items.js';

const KEYS: Record<string, string> = {
  secretname: 'secretName',
  name: 'secretName',
  environmentid: 'environmentId',
  environment: 'environmentId',
  kind: 'kind',
  ownerkind: 'kind',
  ownerid: 'ownerId',
  resourceid: 'resourceId',
  applicationid: 'applicationId',
  region: 'region',
  pingoneregion: 'region',
  schedule: 'schedule',
  window: 'window',
  ttl: 'ttl',
  previoussecretttl: 'ttl',
  tags: 'tags',
};

/** Parses a manifest's text; `file` names it in messages. Throws UsageError naming the row. */
export function parseManifest(text: string, file: string): OnboardingItem[] {
  const trimmed = text.trimStart();
  const json = file.toLowerCase().endsWith('.json') || trimmed.startsWith('[') || trimmed.startsWith('{');
  return json ? fromJson(text, file) : fromCsv(text, file);
}

function fromJson(text: string, file: string): OnboardingItem[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`manifest ${file} is not valid JSON (${(error as Error).message})`, 'fix the file');
  }
  const rows = Array.isArray(parsed) ? parsed : (parsed as { items?: unknown } | null)?.items;
  if (!Array.isArray(rows)) {
    throw new UsageError(
      `manifest ${file} is neither a JSON array nor an object with "items"`,
      'fix the file',
    );
  }
  return rows.map((row, i) => {
    const where = `${file} item ${i + 1}`;
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new UsageError(`${where} is not an object`, 'fix the file');
    }
    return item(row as Record<string, unknown>, where);
  });
}

function fromCsv(text: string, file: string): OnboardingItem[] {
  let records: string[][];
  try {
    records = parseCsv(text, { skip_empty_lines: true, trim: true, comment: '#', relax_column_count: false });
  } catch (error) {
    throw new UsageError(`manifest ${file} is not valid CSV (${(error as Error).message})`, 'fix the file');
  }
  const [header, ...rows] = records;
  if (!header)
    throw new UsageError(`manifest ${file} is empty`, 'it needs a header row and one row per secret');
  const columns = header.map((name) => {
    const key = KEYS[name.toLowerCase().replace(/[_\s-]/g, '')];
    if (!key) {
      throw new UsageError(
        `manifest ${file}: unknown column '${name}'`,
        'use secretName, environmentId, kind, ownerId (or resourceId / applicationId), region, schedule, window, ttl, tags',
      );
    }
    return key;
  });
  return rows.map((cells, i) => {
    const row: Record<string, unknown> = {};
    columns.forEach((key, c) => {
      const cell = cells[c];
      if (cell !== undefined && cell !== '') row[key] = cell;
    });
    // The header is line 1; csv-parse skips empty lines, so count data rows (the usual case has none).
    return item(row, `${file} row ${i + 2}`, true);
  });
}

function item(raw: Record<string, unknown>, where: string, normalised = false): OnboardingItem {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = normalised ? key : KEYS[key.toLowerCase().replace(/[_\s-]/g, '')];
    if (!name) {
      throw new UsageError(`${where}: unknown key '${key}'`, 'see pingone-rotation onboard-fleet --help');
    }
    row[name] = value;
  }
  const text = (key: string): string | undefined => {
    const value = row[key];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string')
      throw new UsageError(`${where}: ${key} is not a string`, 'fix the manifest');
    return value.trim();
  };
  const secretName = text('secretName');
  const environmentId = text('environmentId');
  if (!secretName || !environmentId) {
    throw new UsageError(`${where} needs secretName and environmentId`, 'fix the manifest');
  }
  const given = [
    text('resourceId') && 'resourceId',
    text('applicationId') && 'applicationId',
    text('ownerId') && 'ownerId',
  ].filter(Boolean);
  let kind: SecretOwnerKind;
  let ownerId: string;
  if (given.length !== 1) {
    throw new UsageError(
      `${where} needs exactly one of ownerId (with kind), resourceId, applicationId`,
      'a secret belongs to exactly one PingOne owner',
    );
  }
  if (text('ownerId')) {
    const k = text('kind')?.toLowerCase();
    if (k !== 'resource' && k !== 'application') {
      throw new UsageError(`${where}: kind must be resource or application`, 'fix the manifest');
    }
    kind = k;
    ownerId = text('ownerId') as string;
  } else {
    kind = text('resourceId') ? 'resource' : 'application';
    ownerId = (text('resourceId') ?? text('applicationId')) as string;
  }
  return {
    secretName,
    environmentId,
    kind,
    ownerId,
    region: text('region'),
    schedule: text('schedule'),
    window: text('window'),
    ttl: text('ttl'),
    tags: tags(row.tags, where),
    source: where,
  };
}

function tags(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') {
    const out: Record<string, string> = {};
    for (const pair of value
      .split(';')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const at = pair.indexOf('=');
      if (at <= 0)
        throw new UsageError(`${where}: tag '${pair}' is not key=value`, 'write tags as key=value;key=value');
      out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
    return out;
  }
  if (typeof value === 'object' && !Array.isArray(value)) {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v !== 'string')
        throw new UsageError(`${where}: tag ${k} is not a string`, 'fix the manifest');
      out[k] = v;
    }
    return out;
  }
  throw new UsageError(`${where}: tags must be an object or key=value;key=value`, 'fix the manifest');
}
