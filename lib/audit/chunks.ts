/**
 * Long lists in log lines, bounded: CloudWatch Logs refuses an event over 256 KB, and a fleet of 100,000
 * secrets names 2–3 MB of them. A list goes out as several lines, each holding at most `maxBytes` of it
 * (UTF-8, as JSON), numbered `part` of `parts`, each with the list's full `count`.
 */

/** The default bound of one line's list: far below CloudWatch's 256 KB, with room for the line's other fields. */
export const LOG_LIST_MAX_BYTES = 32 * 1024;

/**
 * Splits `items` into consecutive chunks whose JSON (`["a","b"]`) is at most `maxBytes` long in UTF-8. An item
 * longer than that alone is cut to fit (its chunk holds only it), so no chunk is ever over the bound.
 */
export function chunkByBytes(items: readonly string[], maxBytes = LOG_LIST_MAX_BYTES): string[][] {
  if (!(Number.isInteger(maxBytes) && maxBytes >= 64)) throw new RangeError('maxBytes must be at least 64');
  const chunks: string[][] = [];
  let current: string[] = [];
  let size = 2; // []
  for (const raw of items) {
    let item = raw;
    let bytes = Buffer.byteLength(JSON.stringify(item), 'utf8');
    if (bytes + 2 > maxBytes) {
      item = truncateJson(item, maxBytes - 2);
      bytes = Buffer.byteLength(JSON.stringify(item), 'utf8');
    }
    const added = bytes + (current.length > 0 ? 1 : 0);
    if (current.length > 0 && size + added > maxBytes) {
      chunks.push(current);
      current = [];
      size = 2;
    }
    size += bytes + (current.length > 0 ? 1 : 0);
    current.push(item);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** The longest prefix of `text` (whole code points, with a trailing '…') whose JSON fits in `maxBytes`. */
function truncateJson(text: string, maxBytes: number): string {
  const points = [...text];
  let low = 0;
  let high = points.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    const candidate = `${points.slice(0, mid).join('')}…`;
    if (Buffer.byteLength(JSON.stringify(candidate), 'utf8') <= maxBytes) low = mid;
    else high = mid - 1;
  }
  return `${points.slice(0, low).join('')}…`;
}

/** Logs `items` as one or more lines of `fieldName` chunks, each with `count`, `part` and `parts`. */
export function logInChunks(
  log: (message: string, fields: Record<string, unknown>) => void,
  message: string,
  fieldName: string,
  items: readonly string[],
  extra: Record<string, unknown> = {},
  maxBytes = LOG_LIST_MAX_BYTES,
): void {
  const chunks = chunkByBytes(items, maxBytes);
  chunks.forEach((chunk, index) => {
    log(message, {
      ...extra,
      count: items.length,
      part: index + 1,
      parts: chunks.length,
      [fieldName]: chunk,
    });
  });
}
