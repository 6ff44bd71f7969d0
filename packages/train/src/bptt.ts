import { concat, keep, slice, Tensor, tidy } from '@recur/tensor';
import { checkNumber, describe, TrainError, typeName } from './errors.js';

/** A recurrent state: one tensor (`h`), a list, or a record such as an LSTM's `{ h, c }`. */
export type RecurrentState = Tensor | readonly Tensor[] | { readonly [key: string]: Tensor };

/** Maps every tensor of a state. */
export function mapState<S extends RecurrentState>(state: S, fn: (t: Tensor) => Tensor): S {
  if (state instanceof Tensor) return fn(state) as S;
  if (Array.isArray(state)) return state.map(fn) as unknown as S;
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(state as Record<string, Tensor>)) out[k] = fn(v);
  return out as S;
}

/** The tensors of a state. */
export function stateTensors(state: RecurrentState): Tensor[] {
  if (state instanceof Tensor) return [state];
  if (Array.isArray(state)) return [...state];
  return Object.values(state as Record<string, Tensor>);
}

/**
 * The state with gradients cut: same values, no history. Carrying a detached state from one chunk
 * to the next is what truncates backpropagation through time.
 */
export function detachState<S extends RecurrentState>(state: S): S {
  return mapState(state, (t) => t.detach());
}

/** Frees every tensor of a state. */
export function disposeState(state: RecurrentState | undefined): void {
  if (state) for (const t of stateTensors(state)) t.dispose();
}

/** A model run over one chunk of time steps from a state, as `truncatedBptt` calls it. */
export type ChunkForward<S extends RecurrentState> = (
  inputs: Tensor,
  state: S | undefined,
) => { readonly output: Tensor; readonly state: S };

/** The time span of a chunk: steps `start` (inclusive) to `end` (exclusive) of the whole sequence. */
export interface ChunkSpan {
  readonly index: number;
  readonly start: number;
  readonly end: number;
}

export interface TruncatedBpttOptions<S extends RecurrentState> {
  /** The inputs, with time on `timeAxis`; chunks are slices of it. */
  readonly inputs: Tensor;
  /** The time axis of `inputs` and of the outputs (default 0, time-major; 1 for batch-first). */
  readonly timeAxis?: number;
  /** Runs the model over a chunk from a state (undefined: the model's own initial state). */
  readonly forward: ChunkForward<S>;
  /** The scalar loss of a chunk from its outputs (time on `timeAxis`, steps `span.start` to `span.end`). */
  readonly loss: (output: Tensor, span: ChunkSpan) => Tensor;
  /** Steps between parameter updates: each chunk adds k1 new steps to the loss (default: the whole length). */
  readonly k1?: number;
  /** Steps backpropagated from the end of each chunk (default k1; at least k1). Steps before are run from a detached state. */
  readonly k2?: number;
  /** The state before step 0 (default: the model's own, e.g. zeros). Not disposed. */
  readonly initialState?: S;
  /**
   * Called after each chunk's backward with the chunk's loss: clip gradients, step the optimizer and
   * zero the gradients here. Without it, gradients accumulate over the chunks.
   */
  readonly afterBackward?: (span: ChunkSpan, loss: number) => void;
}

export interface TruncatedBpttResult<S extends RecurrentState> {
  /** The loss of each chunk. */
  readonly losses: number[];
  /** The (detached) state after the last step, to carry into the next sequence; the caller disposes it. */
  readonly state: S | undefined;
}

/**
 * Backpropagation through time over a long sequence, chunk by chunk (Williams & Peng's BPTT(k2; k1)):
 * every `k1` steps, the loss of those k1 steps is backpropagated through the last `k2` steps. The
 * state is carried across chunks, so the forward pass equals one pass over the whole sequence,
 * while gradients stop at the cut, where the carried state was detached. With `k1 = k2 = T` it is
 * full BPTT; with `k2 > k1` the overlapping steps are run again from the state saved at the cut.
 *
 * ```ts
 * const { losses, state } = truncatedBptt({
 *   inputs: ids,                     // [T, B] token ids, time-major
 *   forward: (x, s) => { const r = lstm.forward(emb.forward(x), s ? { h0: s.h, c0: s.c } : {}); return { output: head.forward(r.output), state: { h: r.hN, c: r.cN } }; },
 *   loss: (logits, span) => crossEntropyLoss(logits, slice(targets, [span.start, 0], [span.end, B])),
 *   k1: 35,
 *   afterBackward: () => { clipGradNorm(params, 5); opt.step(); opt.zeroGrad(); },
 * });
 * ```
 */
export function truncatedBptt<S extends RecurrentState>(
  options: TruncatedBpttOptions<S>,
): TruncatedBpttResult<S> {
  const chunks = bpttChunks(options, 'truncatedBptt', (l) => l.item());
  try {
    let step = chunks.next();
    while (!step.done) {
      const { span, loss } = step.value;
      options.afterBackward?.(span, loss);
      step = chunks.next(loss);
    }
    return step.value;
  } finally {
    chunks.return(undefined as never);
  }
}

/**
 * `truncatedBptt` for any backend (GPU ones included): each chunk's forward and backward are
 * queued, then its loss is read with `await`; `afterBackward` may be async (use
 * `clipGradNormAsync` there). Same chunks, states and gradients as the synchronous version.
 */
export async function truncatedBpttAsync<S extends RecurrentState>(
  options: Omit<TruncatedBpttOptions<S>, 'afterBackward'> & {
    readonly afterBackward?: (span: ChunkSpan, loss: number) => void | Promise<void>;
  },
): Promise<TruncatedBpttResult<S>> {
  // The read is queued inside the chunk's scope, which may then free the loss; it is awaited outside.
  const chunks = bpttChunks(options, 'truncatedBpttAsync', (l) => ({ read: l.data() }));
  try {
    let step = chunks.next();
    while (!step.done) {
      const { span, loss } = step.value;
      const value = (await loss.read)[0]!;
      await options.afterBackward?.(span, value);
      step = chunks.next(value);
    }
    return step.value;
  } finally {
    chunks.return(undefined as never);
  }
}

/**
 * The chunks of BPTT(k2; k1): runs each chunk's forward and backward, yields its span and its
 * loss as `read` gives it, and takes back the loss's value. Returns the result when done; states
 * it still owns are disposed when it ends or is closed early.
 */
function* bpttChunks<S extends RecurrentState, L>(
  options: TruncatedBpttOptions<S> | Omit<TruncatedBpttOptions<S>, 'afterBackward'>,
  where: string,
  read: (loss: Tensor) => L,
): Generator<{ span: ChunkSpan; loss: L }, TruncatedBpttResult<S>, number> {
  const { inputs, forward, loss } = options;
  if (!(inputs instanceof Tensor))
    throw new TrainError(describe(where, 'inputs to be a Tensor', typeName(inputs)));
  if (typeof forward !== 'function' || typeof loss !== 'function') {
    throw new TrainError(
      describe(where, 'forward and loss functions', `${typeof forward} and ${typeof loss}`),
    );
  }
  const rank = inputs.shape.length;
  const axis = checkNumber(where, 'timeAxis', options.timeAxis ?? 0, {
    min: 0,
    max: rank - 1,
    integer: true,
  });
  const steps = inputs.shape[axis]!;
  if (steps < 1) throw new TrainError(describe(where, 'at least one time step', `${steps}`));
  const k1 = checkNumber(where, 'k1', options.k1 ?? steps, { min: 1, integer: true });
  const k2 = checkNumber(where, 'k2', options.k2 ?? k1, { min: 1, integer: true });
  if (k2 < k1) {
    throw new TrainError(
      describe(
        where,
        `k2 ≥ k1 (each chunk's ${k1} new steps are backpropagated)`,
        `k2 = ${k2}`,
        'Raise k2 or lower k1.',
      ),
    );
  }
  const sliceTime = (t: Tensor, from: number, to: number): Tensor => {
    const begin = t.shape.map(() => 0);
    const end = [...t.shape];
    begin[axis] = from;
    end[axis] = to;
    return slice(t, begin, end);
  };

  // Detached states at the time positions where later windows start; position 0 is the initial state.
  const saved = new Map<number, S | undefined>([[0, options.initialState]]);
  const owned = new Set<S>();
  const losses: number[] = [];
  let finalState: S | undefined = options.initialState;
  try {
    for (let index = 0, start = 0; start < steps; index++, start += k1) {
      const end = Math.min(steps, start + k1);
      const windowStart = Math.max(0, end - k2);
      const nextEnd = Math.min(steps, end + k1);
      const nextStart = end < steps ? Math.max(0, nextEnd - k2) : steps;
      const cuts = [windowStart, ...(nextStart > windowStart && nextStart < end ? [nextStart] : []), end];
      const span: ChunkSpan = { index, start, end };
      if (!saved.has(windowStart)) {
        throw new TrainError(`${where}: internal error: no state saved at step ${windowStart}.`);
      }
      const startState = saved.get(windowStart);
      const pending = tidy(() => {
        let state = startState;
        const outputs: Tensor[] = [];
        for (let i = 0; i + 1 < cuts.length; i++) {
          const a = cuts[i]!;
          const b = cuts[i + 1]!;
          const r = forward(sliceTime(inputs, a, b), state);
          checkChunkOutput(where, r, axis, b - a);
          outputs.push(r.output);
          state = r.state;
          if (b === nextStart || b === steps) {
            const kept = mapState(detachState(r.state), keep);
            owned.add(kept);
            saved.set(b, kept);
          }
        }
        const out = outputs.length === 1 ? outputs[0]! : concat(outputs, axis);
        const own =
          start - windowStart === 0 && end - windowStart === out.shape[axis]
            ? out
            : sliceTime(out, start - windowStart, end - windowStart);
        const l = loss(own, span);
        if (!(l instanceof Tensor) || l.size !== 1) {
          throw new TrainError(
            describe(
              where,
              'loss to return a scalar Tensor',
              l instanceof Tensor ? `shape [${l.shape.join(', ')}]` : typeName(l),
            ),
          );
        }
        l.backward();
        return { loss: read(l) };
      });
      // The start state of this window is not needed again unless the next window starts there too.
      if (nextStart !== windowStart) {
        const s = saved.get(windowStart);
        saved.delete(windowStart);
        if (s && owned.has(s)) {
          disposeState(s);
          owned.delete(s);
        }
      }
      losses.push(yield { span, loss: pending.loss });
    }
    finalState = saved.get(steps);
    if (finalState) owned.delete(finalState);
    return { losses, state: finalState };
  } finally {
    for (const s of owned) disposeState(s);
  }
}

function checkChunkOutput(where: string, r: unknown, axis: number, len: number): void {
  const ok =
    typeof r === 'object' &&
    r !== null &&
    (r as { output?: unknown }).output instanceof Tensor &&
    (r as { state?: unknown }).state !== undefined;
  if (!ok) {
    throw new TrainError(describe(where, 'forward to return { output: Tensor, state }', typeName(r)));
  }
  const out = (r as { output: Tensor }).output;
  if (out.shape[axis] !== len) {
    throw new TrainError(
      describe(
        where,
        `forward's output to have ${len} steps on the time axis ${axis} (as the chunk it was given)`,
        `shape [${out.shape.join(', ')}]`,
        'Return outputs for every step of the chunk, with time on the same axis as the inputs.',
      ),
    );
  }
}

/** A recurrent layer as `truncatedBptt` runs it: `RNN`/`GRU` carry `hN`, `LSTM` carries `{ h, c }`. */
export interface LayerLike {
  forward(x: Tensor, options?: { h0?: Tensor; c0?: Tensor }): { output: Tensor; hN: Tensor; cN?: Tensor };
}

/** The state a layer carries between chunks. */
export type LayerState = Tensor | { readonly h: Tensor; readonly c: Tensor };

/**
 * Wraps an `RNN`, `GRU` or `LSTM` layer (of `@recur/cells`) as a chunk forward for `truncatedBptt`,
 * passing the carried state as `h0` (and `c0`); `head` maps the layer's output (e.g. a `Linear`).
 */
export function layerChunkForward(
  layer: LayerLike,
  head?: (output: Tensor) => Tensor,
): ChunkForward<LayerState> {
  return (x, state) => {
    const init =
      state === undefined ? {} : state instanceof Tensor ? { h0: state } : { h0: state.h, c0: state.c };
    const r = layer.forward(x, init);
    const output = head ? head(r.output) : r.output;
    return { output, state: r.cN ? { h: r.hN, c: r.cN } : r.hN };
  };
}
