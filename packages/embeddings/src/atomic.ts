import { randomUUID } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describe, EmbeddingsError } from './errors.js';

/**
 * Writes chunks to a temporary file in the target's directory, flushes it to disk, then renames it
 * over `path`. Readers see the old file or the complete new one, never a half-written file; on any
 * error the temporary file is removed and `path` is left untouched.
 */
export async function writeFileAtomic(path: string, chunks: Iterable<Uint8Array>): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  let stage = 'create a temporary file beside it';
  try {
    const handle = await open(tmp, 'wx');
    try {
      stage = 'write';
      for (const chunk of chunks) {
        let off = 0;
        while (off < chunk.length) off += (await handle.write(chunk, off, chunk.length - off)).bytesWritten;
      }
      stage = 'flush';
      await handle.sync();
    } finally {
      await handle.close();
    }
    stage = 'rename the temporary file onto it';
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof EmbeddingsError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new EmbeddingsError(
      describe(
        'writeWord2Vec',
        `to ${stage} ${JSON.stringify(path)}`,
        `an error: ${reason}`,
        'Check the directory exists and is writable.',
      ),
      { cause: err },
    );
  }
}
