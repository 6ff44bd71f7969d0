import { existsSync, statSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  CheckpointError,
  type CheckpointFiles,
  type CheckpointManifest,
  type CheckpointParts,
  MANIFEST_FILE,
} from '@recur/train';
import { readCheckpoint, saveCheckpoint } from '@recur/train/node';
import { CliError } from './errors.js';

/** The model kinds the CLI trains; each model directory records its own. */
export type ModelKind = 'names' | 'charlm' | 'series';

const TRAINED_BY: Record<ModelKind, string> = {
  names: 'recur train names',
  charlm: 'recur train charlm',
  series: 'recur train series',
};

/** What every model directory's `model.config` holds, besides the kind's own fields. */
export interface BaseConfig {
  readonly kind: ModelKind;
  /** Layout version of this kind's config. */
  readonly version: 1;
}

/** Refuses to overwrite a folder that is not a model directory (a typo in --out must not wipe a home folder). */
export function checkOutDir(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) {
    throw new CliError(
      `--out: expected a directory for the model, found a file at ${dir}. Pick another path.`,
    );
  }
}

async function checkReplaceable(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const entries = await readdir(dir);
  if (entries.length > 0 && !entries.includes(MANIFEST_FILE)) {
    throw new CliError(
      `--out: expected a new or empty directory, or a model directory to replace, found ${dir} with other files (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}). Pick another path.`,
    );
  }
}

/**
 * Saves a model directory atomically: the checkpoint is written to a fresh folder beside `dir`
 * (each file itself atomically, see `@recur/train/node`), which then replaces `dir` by renames. A
 * crash leaves either the old directory or the new one, never a mix.
 */
export async function saveModelDir(dir: string, parts: CheckpointParts): Promise<void> {
  const target = resolve(dir);
  checkOutDir(target);
  await checkReplaceable(target);
  const stamp = `${process.pid}-${Date.now().toString(36)}`;
  const tmp = join(dirname(target), `.${basename(target)}.new-${stamp}`);
  const old = join(dirname(target), `.${basename(target)}.old-${stamp}`);
  try {
    await saveCheckpoint(tmp, parts);
    if (existsSync(target)) {
      await rename(target, old);
      await rename(tmp, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (existsSync(old) && !existsSync(target)) await rename(old, target);
    throw e;
  }
}

/**
 * Reads a model directory and checks that it holds a model of `kind`; a one-line error says what it
 * holds instead and which command makes the right one.
 */
export async function readModelDir(dir: string, kind: ModelKind, command: string): Promise<CheckpointFiles> {
  if (!existsSync(dir)) {
    throw new CliError(
      `${command}: expected a model directory at ${dir}, found nothing there. Train one with ${TRAINED_BY[kind]} --out ${dir}.`,
    );
  }
  let files: CheckpointFiles;
  try {
    files = await readCheckpoint(dir);
  } catch (e) {
    if (e instanceof CheckpointError) throw new CliError(`${command}: ${e.message}`);
    throw e;
  }
  const found = modelKind(files.manifest);
  if (found !== kind) {
    throw new CliError(
      `${command}: expected a ${kind} model in ${dir}, found ${found ? `a ${found} model (made by ${TRAINED_BY[found]})` : 'a checkpoint that recur did not make'}. Pass a model trained with ${TRAINED_BY[kind]}.`,
    );
  }
  return files;
}

/** The kind a checkpoint's config records, or null. */
export function modelKind(manifest: CheckpointManifest): ModelKind | null {
  const k = (manifest.model.config as { kind?: unknown } | null)?.kind;
  return k === 'names' || k === 'charlm' || k === 'series' ? k : null;
}

/** Reads just the kind of a model directory (for `recur eval`). */
export async function kindOf(
  dir: string,
  command: string,
): Promise<{ kind: ModelKind; files: CheckpointFiles }> {
  if (!existsSync(dir))
    throw new CliError(`${command}: expected a model directory at ${dir}, found nothing there.`);
  let files: CheckpointFiles;
  try {
    files = await readCheckpoint(dir);
  } catch (e) {
    if (e instanceof CheckpointError) throw new CliError(`${command}: ${e.message}`);
    throw e;
  }
  const kind = modelKind(files.manifest);
  if (!kind) {
    throw new CliError(
      `${command}: expected a model made by recur train (names, charlm or series) in ${dir}, found a checkpoint without a model kind.`,
    );
  }
  return { kind, files };
}
