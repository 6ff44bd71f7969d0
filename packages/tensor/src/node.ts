/**
 * `@recur/tensor/node`: file helpers for Node.js that every Recur package writing files shares.
 */
import { randomUUID } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RecurError } from './errors.js';

/** What `writeFileAtomic` writes: bytes, text (UTF-8), or chunks produced as it goes. */
export type AtomicData = Uint8Array | string | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface WriteFileAtomicOptions {
  /** The operation named in error messages (default `writeFileAtomic`). */
  readonly where?: string;
  /** Builds the error thrown when the file cannot be written (default: a `RecurError`). */
  readonly error?: (message: string, cause: unknown) => Error;
}

/**
 * Writes `data` to a temporary file beside `path`, flushes it to disk and renames it over `path`:
 * readers see the old file or the complete new one, never a half-written one. On any error the
 * temporary file is removed and `path` is left untouched. A `RecurError` raised while producing the
 * chunks is rethrown as it is; a file-system error becomes one message saying which step failed.
 */
export async function writeFileAtomic(
  path: string,
  data: AtomicData,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const chunks =
    typeof data === 'string' ? [new TextEncoder().encode(data)] : data instanceof Uint8Array ? [data] : data;
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
    if (err instanceof RecurError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    const message = `${options.where ?? 'writeFileAtomic'}: expected to ${stage} ${JSON.stringify(path)}, found an error: ${reason}. Check that the directory exists and is writable and the disk has space.`;
    throw options.error ? options.error(message, err) : new RecurError(message, { cause: err });
  }
}
