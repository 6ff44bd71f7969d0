import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import type { RecurrentLayer } from '@recur/cells';
import { type ExportOnnxOptions, exportOnnxAsync } from './export.js';

/**
 * Exports `layer` (see `exportOnnx`) and writes the model to `path` atomically: to a temporary file
 * beside it, then renamed over `path`, so that a reader never sees half a model.
 */
export async function saveOnnx(
  path: string,
  layer: RecurrentLayer,
  options: ExportOnnxOptions = {},
): Promise<void> {
  const bytes = await exportOnnxAsync(layer, options);
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
