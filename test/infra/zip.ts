import { readZipEntries } from '../../local/zip.js';

/** The zip archive's entries by name, inflated. */
export function readZip(archive: Buffer): Map<string, Buffer> {
  return new Map(readZipEntries(archive).map((entry) => [entry.name, entry.data()]));
}
