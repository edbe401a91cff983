import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  readonly name: string;
  /** Uncompressed size. */
  readonly bytes: number;
  readonly compressedBytes: number;
  /** The entry's contents, inflated. */
  data(): Buffer;
}

/**
 * Reads a zip archive's central directory (stored or deflated entries; no zip64, which a Lambda artifact this
 * size never needs). Used to inspect the deployment zip in the infra tests and the bench.
 */
export function readZipEntries(archive: Buffer): ZipEntry[] {
  const eocd = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive: no end-of-central-directory record');
  const count = archive.readUInt16LE(eocd + 10);
  let offset = archive.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (archive.readUInt32LE(offset) !== 0x02014b50) throw new Error(`bad central directory entry ${i}`);
    const method = archive.readUInt16LE(offset + 10);
    const compressedBytes = archive.readUInt32LE(offset + 20);
    const bytes = archive.readUInt32LE(offset + 24);
    const nameLength = archive.readUInt16LE(offset + 28);
    const extraLength = archive.readUInt16LE(offset + 30);
    const commentLength = archive.readUInt16LE(offset + 32);
    const localHeader = archive.readUInt32LE(offset + 42);
    const name = archive.toString('utf8', offset + 46, offset + 46 + nameLength);
    if (method !== 0 && method !== 8) throw new Error(`${name}: unsupported compression method ${method}`);
    entries.push({
      name,
      bytes,
      compressedBytes,
      data: () => {
        const start =
          localHeader + 30 + archive.readUInt16LE(localHeader + 26) + archive.readUInt16LE(localHeader + 28);
        const raw = archive.subarray(start, start + compressedBytes);
        return method === 8 ? inflateRawSync(raw) : Buffer.from(raw);
      },
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
