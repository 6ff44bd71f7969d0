import { randomUUID } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DataError, describe } from './errors.js';

/**
 * Writes chunks to a temporary file beside `path`, flushes it to disk and renames it over `path`:
 * readers see the old file or the complete new one, never a half-written one. On any error the
 * temporary file is removed and `path` is left untouched.
 */
export async function writeFileAtomic(
  where: string,
  path: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  let stage = 'create a temporary file beside';
  try {
    const handle = await open(tmp, 'wx');
    try {
      stage = 'write';
      for await (const chunk of chunks) {
        let off = 0;
        while (off < chunk.length) off += (await handle.write(chunk, off, chunk.length - off)).bytesWritten;
      }
      stage = 'flush';
      await handle.sync();
    } finally {
      await handle.close();
    }
    stage = 'rename the temporary file onto';
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof DataError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new DataError(
      describe(
        where,
        `to ${stage} ${JSON.stringify(path)}`,
        `an error: ${reason}`,
        'Check the directory exists and is writable.',
      ),
      { cause: err },
    );
  }
}
