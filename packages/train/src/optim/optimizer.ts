import { keep, noGrad, type Tensor, tidy } from '@recur/tensor';
import { checkNumber, describe, fmtShape, TrainError, typeName } from '../errors.js';
import { decodeTensor, type EncodedTensor, encodeTensor, encodeTensorAsync } from '../tensor-codec.js';

/** What an optimizer updates: a module (anything with `namedParameters()`), named tensors, or tensors. */
export type ParameterSource =
  | { namedParameters(): [string, Tensor][] }
  | ReadonlyMap<string, Tensor>
  | readonly Tensor[];

/** Hyper-parameters of an optimizer, as numbers and flags (the learning rate among them). */
export type Hyperparameters = Readonly<Record<string, number | boolean>>;

/** One parameter's optimizer state in a state dict. */
export interface ParameterState {
  readonly name: string;
  readonly shape: readonly number[];
  /** Updates this parameter has received (PyTorch's per-parameter `step`). */
  readonly step: number;
  /** Named buffers (moments, momentum...), exactly as held. */
  readonly buffers: Readonly<Record<string, EncodedTensor>>;
}

/** An optimizer's whole state as plain JSON: restoring it makes the next step exactly as if never saved. */
export interface OptimizerState {
  readonly type: string;
  readonly hyper: Hyperparameters;
  /** The learning rate the optimizer was built with (schedulers scale it). */
  initialLr: number;
  /** Optimizer steps taken. */
  readonly steps: number;
  readonly params: readonly ParameterState[];
}

/** Per-parameter state an optimizer keeps: buffers (kept alive) and an update count. */
export interface SlotState {
  step: number;
  buffers: Record<string, Tensor>;
}

/** Named parameters from any accepted source, in order. */
export function namedParametersOf(where: string, source: ParameterSource): [string, Tensor][] {
  if (Array.isArray(source)) return (source as readonly Tensor[]).map((t, i) => [String(i), t]);
  if (source instanceof Map) return [...source.entries()];
  if (typeof source === 'object' && source !== null && 'namedParameters' in source) {
    return (source as { namedParameters(): [string, Tensor][] }).namedParameters();
  }
  throw new TrainError(
    describe(
      where,
      'a module (with namedParameters()), a Map of named tensors, or an array of tensors',
      typeName(source),
    ),
  );
}

/**
 * The base of every optimizer: the parameters it updates (those that require gradients), the
 * learning rate (`lr`, which schedulers change; `initialLr` stays), per-parameter state, and a
 * JSON state dict. `step()` updates every parameter that has a gradient, as PyTorch's optimizers
 * do, without recording gradients and without leaking tensors.
 */
export abstract class Optimizer {
  /** The learning rate of the next step. */
  lr: number;
  /** The learning rate given at construction; schedulers multiply it by their factors. */
  initialLr: number;
  /** Steps taken (calls of `step()`). */
  steps = 0;
  readonly params: readonly Tensor[];
  readonly names: readonly string[];
  protected readonly slots: (SlotState | null)[];
  private readonly where: string;

  protected constructor(where: string, params: ParameterSource, lr: number) {
    this.where = where;
    const named = namedParametersOf(where, params).filter(([, p]) => p.requiresGrad);
    if (named.length === 0) {
      throw new TrainError(
        describe(
          where,
          'at least one parameter that requires gradients',
          'none',
          'Pass model (or model.parameters()) after building it; frozen parameters are skipped.',
        ),
      );
    }
    this.names = named.map(([n]) => n);
    this.params = named.map(([, p]) => p);
    this.slots = this.params.map(() => null);
    this.lr = checkNumber(where, 'lr', lr, { min: 0 });
    this.initialLr = this.lr;
  }

  /** The optimizer's type name, stored in its state dict. */
  abstract get type(): string;

  /** The hyper-parameters besides the learning rate, stored in the state dict and checked on load. */
  protected abstract hyper(): Hyperparameters;

  /** Computes one parameter's update: returns its new value, updating `slot` in place. */
  protected abstract update(p: Tensor, g: Tensor, slot: SlotState): Tensor;

  /** Names of the buffers a slot holds (checked on load). */
  protected abstract bufferNames(): readonly string[];

  /** Fresh state for a parameter, before its first update. */
  protected newSlot(_p: Tensor, _g: Tensor): SlotState {
    return { step: 0, buffers: {} };
  }

  /** Updates every parameter that has a gradient. */
  step(): void {
    if (!Number.isFinite(this.lr)) {
      throw new TrainError(describe(`${this.where}.step`, 'a finite learning rate', String(this.lr)));
    }
    noGrad(() => {
      for (let i = 0; i < this.params.length; i++) {
        const p = this.params[i]!;
        const g = p.grad;
        if (!g) continue;
        tidy(() => {
          let slot = this.slots[i];
          if (!slot) {
            slot = this.newSlot(p, g);
            for (const b of Object.values(slot.buffers)) keep(b);
            this.slots[i] = slot;
          }
          slot.step++;
          const before = { ...slot.buffers };
          const next = this.update(p, g, slot);
          // Buffers the update replaced: keep the new ones, free the old.
          for (const [k, b] of Object.entries(slot.buffers)) {
            if (before[k] !== b) {
              keep(b);
              before[k]?.dispose();
            }
          }
          p.assign(next);
        });
      }
    });
    this.steps++;
  }

  /** Clears the gradient of every parameter. */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /** The whole state as JSON-ready data (buffers are read synchronously, so a CPU backend is needed; `stateDictAsync` works on any). */
  stateDict(): OptimizerState {
    return this.buildState((b) => encodeTensor(b, `${this.where}.stateDict`));
  }

  /** `stateDict` for any backend (GPU ones included): every buffer is read with `await tensor.data()`. */
  async stateDictAsync(): Promise<OptimizerState> {
    const buffers = this.slots.flatMap((slot) => (slot ? Object.values(slot.buffers) : []));
    const encoded = new Map(
      await Promise.all(buffers.map(async (b) => [b, await encodeTensorAsync(b)] as const)),
    );
    return this.buildState((b) => encoded.get(b)!);
  }

  private buildState(encode: (buffer: Tensor) => EncodedTensor): OptimizerState {
    return {
      type: this.type,
      hyper: { lr: this.lr, ...this.hyper() },
      initialLr: this.initialLr,
      steps: this.steps,
      params: this.params.map((p, i) => {
        const slot = this.slots[i];
        const buffers: Record<string, EncodedTensor> = {};
        if (slot) {
          for (const [k, b] of Object.entries(slot.buffers)) {
            buffers[k] = encode(b);
          }
        }
        return { name: this.names[i]!, shape: [...p.shape], step: slot?.step ?? 0, buffers };
      }),
    };
  }

  /**
   * Restores a state dict saved from an optimizer of the same type over the same parameters
   * (names, order and shapes are checked before anything changes). The learning rate and the
   * step counts come from the state; the hyper-parameters must match.
   */
  loadStateDict(state: OptimizerState): void {
    const where = `${this.where}.loadStateDict`;
    if (typeof state !== 'object' || state === null || !Array.isArray(state.params)) {
      throw new TrainError(
        describe(where, 'an optimizer state { type, hyper, params, ... }', typeName(state)),
      );
    }
    if (state.type !== this.type) {
      throw new TrainError(
        describe(
          where,
          `the state of a ${this.type} optimizer`,
          `one of ${typeName(state.type)}`,
          'Build the optimizer the checkpoint was saved with.',
        ),
      );
    }
    const mine = this.hyper();
    for (const [k, v] of Object.entries(mine)) {
      if (state.hyper?.[k] !== v) {
        throw new TrainError(
          describe(
            where,
            `${k} = ${v} (this optimizer's setting)`,
            `${k} = ${typeName(state.hyper?.[k])} in the saved state`,
            'Build the optimizer with the settings it was saved with.',
          ),
        );
      }
    }
    if (state.params.length !== this.params.length) {
      throw new TrainError(
        describe(
          where,
          `state for ${this.params.length} parameters`,
          `${state.params.length}`,
          'The state was saved for another model.',
        ),
      );
    }
    const expectedBuffers = new Set(this.bufferNames());
    const saved: readonly ParameterState[] = state.params;
    saved.forEach((s, i) => {
      const p = this.params[i]!;
      const name = this.names[i]!;
      if (s.name !== name || s.shape.length !== p.shape.length || s.shape.some((d, j) => d !== p.shape[j])) {
        throw new TrainError(
          describe(
            where,
            `parameter ${i} to be '${name}' ${fmtShape(p.shape)}`,
            `'${s.name}' ${fmtShape(s.shape ?? [])}`,
            'The state was saved for another model.',
          ),
        );
      }
      for (const k of Object.keys(s.buffers)) {
        if (!expectedBuffers.has(k)) {
          throw new TrainError(
            describe(where, `buffers among ${[...expectedBuffers].join(', ')}`, `'${k}' for '${name}'`),
          );
        }
      }
    });
    const decoded = saved.map((s, i) =>
      Object.entries(s.buffers).map(([k, e]) => {
        const t = decodeTensor(e, `${where} ('${s.name}'.${k})`, this.params[i]!);
        const p = this.params[i]!;
        if (t.shape.length !== p.shape.length || t.shape.some((d, j) => d !== p.shape[j])) {
          t.dispose();
          throw new TrainError(
            describe(
              where,
              `buffer '${k}' of '${s.name}' with shape ${fmtShape(p.shape)}`,
              fmtShape(t.shape),
            ),
          );
        }
        return [k, keep(t)] as const;
      }),
    );
    this.disposeState();
    saved.forEach((s, i) => {
      this.slots[i] =
        s.step > 0 || decoded[i]!.length > 0
          ? { step: s.step, buffers: Object.fromEntries(decoded[i]!) }
          : null;
    });
    this.lr = checkNumber(where, 'hyper.lr', state.hyper.lr, { min: 0 });
    this.initialLr = checkNumber(where, 'initialLr', state.initialLr, { min: 0 });
    this.steps = checkNumber(where, 'steps', state.steps, { min: 0, integer: true });
  }

  /** Frees the optimizer's buffers (the parameters are not touched). */
  dispose(): void {
    this.disposeState();
  }

  private disposeState(): void {
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i];
      if (slot) for (const b of Object.values(slot.buffers)) b.dispose();
      this.slots[i] = null;
    }
  }
}
