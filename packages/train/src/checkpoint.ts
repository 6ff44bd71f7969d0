import { readSafetensors, writeSafetensors, writeSafetensorsAsync } from '@recur/cells';
import type { Tensor } from '@recur/tensor';
import { CheckpointError, describe, fmtShape, typeName } from './errors.js';
import type { Optimizer, OptimizerState } from './optim/optimizer.js';
import { captureRngStates, type RngSnapshot, restoreRngStates } from './rng-state.js';
import type { LrScheduler, SchedulerState } from './schedules.js';
import type { TrainerState } from './trainer.js';

/** What a checkpoint saves and restores of a `Trainer` (any batch type). */
export interface CheckpointTrainer {
  readonly monitorName: string;
  readonly best: { readonly value: number; readonly epoch: number } | null;
  stateDict(): TrainerState;
  loadStateDict(state: TrainerState): void;
  bestStateDict(): ReadonlyMap<string, Tensor> | null;
  loadBestStateDict(dict: ReadonlyMap<string, Tensor> | null): void;
}

/** The JSON part of a checkpoint (`checkpoint.json`). */
export interface CheckpointManifest {
  readonly format: 'recur-checkpoint';
  readonly version: 1;
  /** Size and FNV-1a hash of the weights file, so a mismatched pair of files is detected. */
  readonly weights: { readonly file: string; readonly bytes: number; readonly fnv1a: string };
  readonly model: {
    /** The caller's description of the model (sizes, cell type...), to rebuild it before loading. */
    readonly config: unknown;
    readonly parameters: readonly {
      readonly name: string;
      readonly shape: readonly number[];
      readonly dtype: string;
    }[];
  };
  readonly vocabulary?: unknown;
  readonly extra?: unknown;
  readonly optimizer?: OptimizerState;
  readonly schedulers?: readonly SchedulerState[];
  readonly trainer?: TrainerState;
  /** States of the model's random generators (dropout). */
  readonly rng?: readonly RngSnapshot[];
  /** The best monitored value so far. */
  readonly best?: { readonly monitor: string; readonly value: number; readonly epoch: number } | null;
  /** Whether `best.safetensors` holds the best epoch's weights. */
  readonly bestWeights?: { readonly file: string; readonly bytes: number; readonly fnv1a: string } | null;
}

/** A model as checkpoints see it: named parameters to save, and a state dict to load. */
export interface CheckpointModel {
  namedParameters(): [string, Tensor][];
  loadStateDict(dict: ReadonlyMap<string, Tensor>): unknown;
}

/** What goes into a checkpoint; everything but the model is optional. */
export interface CheckpointParts {
  readonly model: CheckpointModel;
  readonly config?: unknown;
  readonly vocabulary?: unknown;
  readonly extra?: unknown;
  readonly optimizer?: Optimizer;
  readonly schedulers?: readonly LrScheduler[];
  readonly trainer?: CheckpointTrainer;
}

/** A checkpoint in memory: the files' bytes. */
export interface CheckpointFiles {
  readonly manifest: CheckpointManifest;
  /** `model.safetensors` */
  readonly weights: Uint8Array;
  /** `best.safetensors`, when the trainer keeps the best weights. */
  readonly best?: Uint8Array;
}

export const WEIGHTS_FILE = 'model.safetensors';
export const BEST_FILE = 'best.safetensors';
export const MANIFEST_FILE = 'checkpoint.json';

/** FNV-1a (32-bit) of bytes, as 8 hex digits. */
export function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function checkJson(where: string, name: string, value: unknown): void {
  if (value === undefined) return;
  try {
    JSON.stringify(value);
  } catch (err) {
    throw new CheckpointError(
      describe(
        where,
        `${name} that JSON can hold`,
        `a value JSON.stringify rejects (${(err as Error).message})`,
      ),
    );
  }
}

/**
 * Builds a checkpoint in memory (browser-safe): the weights as safetensors with PyTorch's names,
 * and a manifest with the model's config and parameter shapes, the caller's vocabulary and extra
 * JSON, the optimizer's, schedulers' and trainer's states, and the model's random generators.
 * Reads tensors synchronously (CPU backends); `createCheckpointAsync` works on any backend.
 */
export function createCheckpoint(parts: CheckpointParts): CheckpointFiles {
  const named = checkParts('createCheckpoint', parts);
  const weights = writeSafetensors(new Map(named), { format: 'pt' });
  const best = parts.trainer?.bestStateDict();
  const bestBytes = best ? writeSafetensors(best, { format: 'pt' }) : undefined;
  return assemble(parts, named, weights, bestBytes, parts.optimizer?.stateDict());
}

/** `createCheckpoint` for any backend (GPU ones included): tensors are read with `await tensor.data()`. */
export async function createCheckpointAsync(parts: CheckpointParts): Promise<CheckpointFiles> {
  const named = checkParts('createCheckpointAsync', parts);
  const best = parts.trainer?.bestStateDict();
  const [weights, bestBytes, optimizer] = await Promise.all([
    writeSafetensorsAsync(new Map(named), { format: 'pt' }),
    best ? writeSafetensorsAsync(best, { format: 'pt' }) : undefined,
    parts.optimizer?.stateDictAsync(),
  ]);
  return assemble(parts, named, weights, bestBytes, optimizer);
}

function checkParts(where: string, parts: CheckpointParts): [string, Tensor][] {
  if (!parts?.model || typeof parts.model.namedParameters !== 'function') {
    throw new CheckpointError(describe(where, 'parts.model (a Module)', typeName(parts?.model)));
  }
  checkJson(where, 'config', parts.config);
  checkJson(where, 'vocabulary', parts.vocabulary);
  checkJson(where, 'extra', parts.extra);
  return parts.model.namedParameters();
}

function assemble(
  parts: CheckpointParts,
  named: [string, Tensor][],
  weights: Uint8Array,
  bestBytes: Uint8Array | undefined,
  optimizer: OptimizerState | undefined,
): CheckpointFiles {
  const trainerState = parts.trainer?.stateDict();
  const manifest: CheckpointManifest = {
    format: 'recur-checkpoint',
    version: 1,
    weights: { file: WEIGHTS_FILE, bytes: weights.length, fnv1a: fnv1a(weights) },
    model: {
      config: parts.config ?? null,
      parameters: named.map(([name, p]) => ({ name, shape: [...p.shape], dtype: p.dtype })),
    },
    ...(parts.vocabulary !== undefined ? { vocabulary: parts.vocabulary } : {}),
    ...(parts.extra !== undefined ? { extra: parts.extra } : {}),
    ...(optimizer ? { optimizer } : {}),
    ...(parts.schedulers ? { schedulers: parts.schedulers.map((s) => s.stateDict()) } : {}),
    ...(trainerState ? { trainer: trainerState } : {}),
    rng: captureRngStates(parts.model),
    best: parts.trainer?.best ? { monitor: parts.trainer.monitorName, ...parts.trainer.best } : null,
    bestWeights: bestBytes ? { file: BEST_FILE, bytes: bestBytes.length, fnv1a: fnv1a(bestBytes) } : null,
  };
  return { manifest, weights, ...(bestBytes ? { best: bestBytes } : {}) };
}

/** Parses and checks a manifest's JSON text. */
export function parseManifest(text: string, where = 'parseManifest'): CheckpointManifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(
      describe(
        where,
        `valid JSON in ${MANIFEST_FILE}`,
        `a parse error (${(err as Error).message})`,
        'The file is damaged: use another checkpoint.',
      ),
    );
  }
  const o = m as Partial<CheckpointManifest> | null;
  if (typeof o !== 'object' || o === null || o.format !== 'recur-checkpoint') {
    throw new CheckpointError(
      describe(
        where,
        `a Recur checkpoint manifest (format 'recur-checkpoint')`,
        typeName((o as { format?: unknown } | null)?.format ?? o),
      ),
    );
  }
  if (o.version !== 1) {
    throw new CheckpointError(
      describe(
        where,
        'checkpoint version 1',
        typeName(o.version),
        'It was written by another version of @recur/train.',
      ),
    );
  }
  if (!o.model || !Array.isArray(o.model.parameters) || !o.weights || typeof o.weights.fnv1a !== 'string') {
    throw new CheckpointError(
      describe(where, 'a manifest with model.parameters and weights', 'an incomplete one'),
    );
  }
  return o as CheckpointManifest;
}

/** Checks a file's bytes against the size and hash the manifest recorded. */
export function verifyFile(
  where: string,
  name: string,
  bytes: Uint8Array,
  expected: { bytes: number; fnv1a: string },
): void {
  if (bytes.length !== expected.bytes || fnv1a(bytes) !== expected.fnv1a) {
    throw new CheckpointError(
      describe(
        where,
        `${name} of ${expected.bytes} bytes with hash ${expected.fnv1a} (as ${MANIFEST_FILE} records)`,
        `${bytes.length} bytes with hash ${fnv1a(bytes)}`,
        'The files do not belong together (a save was interrupted or files were copied from different checkpoints).',
      ),
    );
  }
}

/** Compares a model's parameters with a manifest's; throws one message listing every difference. */
export function checkModelMatches(where: string, model: CheckpointModel, manifest: CheckpointManifest): void {
  const mine = new Map(model.namedParameters().map(([n, p]) => [n, p.shape] as const));
  const saved = new Map(manifest.model.parameters.map((p) => [p.name, p.shape] as const));
  const problems: string[] = [];
  for (const [n, s] of saved) {
    const m = mine.get(n);
    if (!m) problems.push(`'${n}' ${fmtShape(s)} is in the checkpoint but not in the model`);
    else if (m.length !== s.length || m.some((d, i) => d !== s[i])) {
      problems.push(`'${n}' is ${fmtShape(s)} in the checkpoint but ${fmtShape(m)} in the model`);
    }
  }
  for (const [n, s] of mine)
    if (!saved.has(n)) problems.push(`'${n}' ${fmtShape(s)} is in the model but not in the checkpoint`);
  if (problems.length > 0) {
    const shown =
      problems.slice(0, 6).join('; ') + (problems.length > 6 ? `; and ${problems.length - 6} more` : '');
    throw new CheckpointError(
      describe(
        where,
        'a checkpoint of this model (the same parameter names and shapes)',
        shown,
        `Build the model with the configuration saved in ${MANIFEST_FILE} (model.config: ${JSON.stringify(manifest.model.config)}).`,
      ),
    );
  }
}

/** Where a checkpoint is restored to; each part present is restored. */
export interface RestoreTargets {
  readonly model: CheckpointModel;
  readonly optimizer?: Optimizer;
  readonly schedulers?: readonly LrScheduler[];
  readonly trainer?: CheckpointTrainer;
}

/**
 * Restores a checkpoint: checks that it fits the model (names and shapes, with a message listing
 * every difference) before changing anything, then restores the generators' states, the
 * optimizer's, schedulers' and trainer's states when given, and the weights last (a refused state
 * leaves the model untouched).
 */
export function restoreCheckpoint(
  files: CheckpointFiles,
  targets: RestoreTargets,
  where = 'restoreCheckpoint',
): CheckpointManifest {
  const { manifest } = files;
  verifyFile(where, WEIGHTS_FILE, files.weights, manifest.weights);
  checkModelMatches(where, targets.model, manifest);
  if (targets.optimizer && !manifest.optimizer) {
    throw new CheckpointError(
      describe(
        where,
        'an optimizer state in the checkpoint',
        'none',
        'It was saved without an optimizer: restore only the model.',
      ),
    );
  }
  if (targets.schedulers && targets.schedulers.length !== (manifest.schedulers?.length ?? 0)) {
    throw new CheckpointError(
      describe(
        where,
        `states for ${targets.schedulers.length} schedulers`,
        `${manifest.schedulers?.length ?? 0}`,
      ),
    );
  }
  if (targets.trainer && !manifest.trainer) {
    throw new CheckpointError(describe(where, 'a trainer state in the checkpoint', 'none'));
  }
  const ref = targets.model.namedParameters()[0]?.[1];
  const { tensors } = readSafetensors(files.weights, ref ? { backend: ref.backend } : {});
  let best: Map<string, Tensor> | null = null;
  try {
    // Everything that can still refuse the checkpoint goes first; the weights are loaded last.
    if (manifest.rng) restoreRngStates(targets.model, manifest.rng);
    if (targets.optimizer) targets.optimizer.loadStateDict(manifest.optimizer!);
    targets.schedulers?.forEach((s, i) => {
      s.loadStateDict(manifest.schedulers![i]!);
    });
    if (targets.trainer) {
      targets.trainer.loadStateDict(manifest.trainer!);
      if (manifest.bestWeights && files.best) {
        verifyFile(where, BEST_FILE, files.best, manifest.bestWeights);
        best = readSafetensors(files.best, ref ? { backend: ref.backend } : {}).tensors;
      }
      targets.trainer.loadBestStateDict(best);
    }
    targets.model.loadStateDict(tensors);
  } finally {
    for (const t of tensors.values()) t.dispose();
    if (best) for (const t of best.values()) t.dispose();
  }
  return manifest;
}
