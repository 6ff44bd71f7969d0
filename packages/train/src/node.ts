/**
 * `@recur/train/node`: checkpoints on disk, for Node.js. A checkpoint is a directory with
 * `model.safetensors` (the weights, PyTorch names), `checkpoint.json` (config, vocabulary,
 * optimizer, schedulers, trainer and generator states) and, when early stopping keeps them,
 * `best.safetensors`. Every file is written atomically (temporary file, fsync, rename), and the
 * manifest last, with the size and hash of the weights it belongs to: a crash mid-save leaves the
 * previous checkpoint loadable or a mismatch that loading reports, never a half-written file.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic as atomic } from '@recur/tensor/node';
import {
  BEST_FILE,
  type CheckpointFiles,
  type CheckpointManifest,
  type CheckpointParts,
  createCheckpointAsync,
  MANIFEST_FILE,
  parseManifest,
  type RestoreTargets,
  restoreCheckpoint,
  verifyFile,
  WEIGHTS_FILE,
} from './checkpoint.js';
import { CheckpointError, describe } from './errors.js';

/** Writes `bytes` to `path` atomically: a temporary file beside it, flushed, then renamed over it. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  return atomic(path, bytes, { error: (m, cause) => new CheckpointError(m, { cause }) });
}

/**
 * Saves a checkpoint into `dir` (created if needed): the weights first, then the manifest that
 * names them. Returns the manifest.
 */
export async function saveCheckpoint(dir: string, parts: CheckpointParts): Promise<CheckpointManifest> {
  const files = await createCheckpointAsync(parts);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, WEIGHTS_FILE), files.weights);
  if (files.best) await writeFileAtomic(join(dir, BEST_FILE), files.best);
  await writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(files.manifest)}\n`);
  return files.manifest;
}

async function readOrFail(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      describe(
        'loadCheckpoint',
        `${what} at ${JSON.stringify(path)}`,
        code === 'ENOENT' ? 'no such file' : (err as Error).message,
        code === 'ENOENT'
          ? 'Pass the directory a checkpoint was saved to (it holds checkpoint.json and model.safetensors).'
          : undefined,
      ),
      { cause: err },
    );
  }
}

/**
 * Reads a checkpoint directory without restoring it: the manifest (e.g. its `model.config`, to
 * build the model, and its `vocabulary`) and the files' bytes, checked against each other.
 */
export async function readCheckpoint(dir: string): Promise<CheckpointFiles> {
  const text = new TextDecoder().decode(
    await readOrFail(join(dir, MANIFEST_FILE), `a checkpoint manifest (${MANIFEST_FILE})`),
  );
  const manifest = parseManifest(text, 'loadCheckpoint');
  const weights = await readOrFail(
    join(dir, manifest.weights.file || WEIGHTS_FILE),
    `the weights (${WEIGHTS_FILE})`,
  );
  verifyFile('loadCheckpoint', WEIGHTS_FILE, weights, manifest.weights);
  const best = manifest.bestWeights
    ? await readOrFail(join(dir, manifest.bestWeights.file || BEST_FILE), `the best weights (${BEST_FILE})`)
    : undefined;
  return { manifest, weights, ...(best ? { best } : {}) };
}

/**
 * Loads a checkpoint directory into a model (and optimizer, schedulers, trainer when given), after
 * checking that it matches; returns the manifest.
 */
export async function loadCheckpoint(dir: string, targets: RestoreTargets): Promise<CheckpointManifest> {
  return restoreCheckpoint(await readCheckpoint(dir), targets, 'loadCheckpoint');
}
