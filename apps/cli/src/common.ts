import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Backend, setBackend } from '@recur/tensor';
import type { CheckpointFiles } from '@recur/train';
import type { Command } from 'commander';
import { type BackendName, createBackend } from './backends.js';
import { findDataDir } from './data-path.js';
import { CliError } from './errors.js';
import { type ModelKind, readModelDir } from './model-dir.js';
import { type OptionSpec, resolveOptions } from './options.js';

const activated: Backend[] = [];

/** Creates the backend a command asked for and makes it the active one (until `releaseBackends`). */
export async function activateBackend(name: BackendName): Promise<Backend> {
  const backend = await createBackend(name);
  setBackend(backend);
  activated.push(backend);
  return backend;
}

/** Frees the backends that commands created (worker threads, GPU devices) once the command is over. */
export function releaseBackends(): void {
  for (const b of activated.splice(0)) b.dispose();
}

/** A bundled data set's path (`names`, `text/tinyshakespeare.txt`), or an error saying how to point at one. */
export function bundled(relative: string, flag: string): string {
  const dir = findDataDir();
  const path = dir === null ? null : join(dir, relative);
  if (path === null || !existsSync(path)) {
    throw new CliError(
      `expected the bundled data at ../shared/data/${relative} (beside the repository) or $RECUR_DATA/${relative}, found none. Pass ${flag}.`,
    );
  }
  return path;
}

/** `81.2%` */
export const pct = (x: number, digits = 1): string => `${(x * 100).toFixed(digits)}%`;

/** Options a resumed run may change; the rest come from the saved run. */
export function checkResumeFlags(
  given: Record<string, unknown>,
  allowed: readonly string[],
  command: string,
): void {
  const extra = Object.keys(given).filter(
    (k) => given[k] !== undefined && !allowed.includes(k) && k !== 'resume',
  );
  if (extra.length > 0) {
    const flags = extra.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ');
    throw new CliError(
      `${command} --resume: expected only ${allowed.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} beside --resume (the rest comes from the saved run), found ${flags}.`,
    );
  }
}

/**
 * The options of a training run: resolved from defaults, --config and flags; or, with --resume DIR,
 * those saved in the model directory, of which only `allowed` may be changed by flags.
 */
export async function trainingOptions<T extends { out: string }>(
  cmd: Command,
  specs: readonly OptionSpec[],
  kind: ModelKind,
  allowed: readonly string[],
): Promise<{ o: T; resumed: CheckpointFiles | null }> {
  const given = cmd.opts() as Record<string, unknown>;
  const command = `train ${kind}`;
  if (typeof given.resume !== 'string') return { o: resolveOptions<T>(cmd, specs), resumed: null };
  checkResumeFlags(given, allowed, command);
  const resumed = await readModelDir(given.resume, kind, `${command} --resume`);
  const saved = (resumed.manifest.extra as { options?: T } | undefined)?.options;
  if (!saved)
    throw new CliError(`${command} --resume: expected the run's options in ${given.resume}, found none.`);
  const flags = Object.fromEntries(
    Object.entries(given).filter(([k, v]) => v !== undefined && k !== 'resume'),
  );
  return { o: { ...saved, out: given.resume, ...flags } as T, resumed };
}

/** Options as saved with a model, without the ones that only shape this invocation. */
export function savedOptions<T extends object>(o: T): T {
  const {
    json: _json,
    config: _config,
    resume: _resume,
    ...rest
  } = o as T & {
    json?: unknown;
    config?: unknown;
    resume?: unknown;
  };
  return rest as T;
}
