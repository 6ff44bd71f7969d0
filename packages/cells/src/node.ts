/**
 * `@recur/cells/node`: safetensors files on disk, for Node.js. Writes are atomic: a temporary
 * file beside the target, flushed, then renamed over it, so readers never see half a file.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic as atomic } from '@recur/tensor/node';
import { CellsError, describe } from './errors.js';
import type { StateDict } from './module.js';
import {
  type ReadSafetensorsOptions,
  readSafetensors,
  type SafetensorsContents,
  writeSafetensorsAsync,
} from './safetensors.js';

/** Writes `bytes` to `path` atomically (temporary file, fsync, rename); on error `path` is untouched. */
export function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  return atomic(path, bytes, { where: 'saveSafetensors', error: (m, cause) => new CellsError(m, { cause }) });
}

/** Saves tensors (e.g. `model.stateDict()`) as a safetensors file, atomically. Works on every backend. */
export async function saveSafetensors(
  path: string,
  tensors: StateDict,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  await writeFileAtomic(path, await writeSafetensorsAsync(tensors, metadata));
}

/** Reads a safetensors file; `SafetensorsError` for malformed content, `CellsError` if it cannot be read. */
export async function loadSafetensors(
  path: string,
  options: ReadSafetensorsOptions = {},
): Promise<SafetensorsContents> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CellsError(describe('loadSafetensors', `a readable file at ${JSON.stringify(path)}`, reason), {
      cause: err,
    });
  }
  return readSafetensors(bytes, options);
}

export type { SafetensorsContents } from './safetensors.js';
