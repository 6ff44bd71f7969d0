import { writeFileAtomic as atomic } from '@recur/tensor/node';
import { EmbeddingsError } from './errors.js';

/**
 * Writes chunks to a temporary file in the target's directory, flushes it to disk, then renames it
 * over `path`. Readers see the old file or the complete new one, never a half-written file; on any
 * error the temporary file is removed and `path` is left untouched.
 */
export function writeFileAtomic(path: string, chunks: Iterable<Uint8Array>): Promise<void> {
  return atomic(path, chunks, {
    where: 'writeWord2Vec',
    error: (m, cause) => new EmbeddingsError(m, { cause }),
  });
}
