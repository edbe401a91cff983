// Writes build outputs the way a process that may be running them needs: each file to a temporary name in its
// own directory, then renamed over the old one, so nothing ever sees a file missing or half written.
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** @param {ReadonlyArray<{ path: string; contents: Uint8Array | string; mode?: number }>} files */
export async function writeOutputs(files) {
  for (const file of files) {
    await mkdir(dirname(file.path), { recursive: true });
    const temporary = `${file.path}.${process.pid}.tmp`;
    await writeFile(temporary, file.contents);
    if (file.mode !== undefined) await chmod(temporary, file.mode);
    await rename(temporary, file.path);
  }
}
