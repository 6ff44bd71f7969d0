import { writeFileAtomic as atomic } from '@recur/tensor/node';
import { DataError } from './errors.js';

/**
 * Writes chunks to a temporary file beside `path`, flushes it to disk and renames it over `path`:
 * readers see the old file or the complete new one, never a half-written one. On any error the
 * temporary file is removed and `path` is left untouched.
 */
export function writeFileAtomic(
  where: string,
  path: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<void> {
  return atomic(path, chunks, { where, error: (m, cause) => new DataError(m, { cause }) });
}
