import { JsBackend } from '@recur/backend-js';
import { GRU, LSTM, type RecurrentLayer, RNN } from '@recur/cells';
import { randn, setBackend, type Tensor, tensor } from '@recur/tensor';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { type ExportOnnxOptions, exportOnnx, ONNX_NAMES } from '../src/index.js';

export function useJsBackend(): void {
  setBackend(new JsBackend());
}

export type Cell = 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru' | 'gru_reset_before';

export interface Config {
  readonly cell: Cell;
  readonly numLayers: number;
  readonly bidirectional: boolean;
  readonly batchFirst: boolean;
  readonly bias?: boolean;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly steps: number;
  readonly batch: number;
  readonly seed: number;
}

export function makeLayer(c: Config): RecurrentLayer {
  const o = {
    inputSize: c.inputSize,
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers,
    bidirectional: c.bidirectional,
    batchFirst: c.batchFirst,
    bias: c.bias ?? true,
    seed: c.seed,
  };
  switch (c.cell) {
    case 'lstm':
      return new LSTM(o);
    case 'gru':
      return new GRU(o);
    case 'gru_reset_before':
      return new GRU({ ...o, resetAfter: false });
    case 'rnn_relu':
      return new RNN({ ...o, nonlinearity: 'relu' });
    case 'rnn_tanh':
      return new RNN(o);
  }
}

export interface Outputs {
  readonly output: Tensor;
  readonly hN: Tensor;
  readonly cN?: Tensor;
}

/** Runs our layer (eval mode) on x with optional states and lengths. */
export function runOurs(
  layer: RecurrentLayer,
  x: Tensor,
  opts: { h0?: Tensor; c0?: Tensor; lengths?: number[] },
): Outputs {
  const o = opts.lengths ? { ...opts, lengths: opts.lengths } : opts;
  if (layer instanceof LSTM) return layer.forward(x, o);
  return (layer as RNN).forward(x, { h0: o.h0, ...(opts.lengths ? { lengths: opts.lengths } : {}) });
}

/** Exports the layer and runs the model in onnxruntime-node on the same inputs. */
export async function runOnnx(
  layer: RecurrentLayer,
  x: Tensor,
  opts: { h0?: Tensor; c0?: Tensor; lengths?: number[] },
  exportOptions: ExportOnnxOptions = {},
): Promise<Record<string, ort.Tensor>> {
  const bytes = exportOnnx(layer, exportOptions);
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const f32 = (t: Tensor) => new ort.Tensor('float32', Float32Array.from(t.dataSync()), [...t.shape]);
    const feeds: Record<string, ort.Tensor> = { [ONNX_NAMES.input]: f32(x) };
    if (opts.h0) feeds[ONNX_NAMES.h0] = f32(opts.h0);
    if (opts.c0) feeds[ONNX_NAMES.c0] = f32(opts.c0);
    if (opts.lengths)
      feeds[ONNX_NAMES.lengths] = new ort.Tensor('int32', Int32Array.from(opts.lengths), [
        opts.lengths.length,
      ]);
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

export function expectCloseOrt(
  actual: ort.Tensor | undefined,
  expected: Tensor,
  atol: number,
  what: string,
): void {
  expect(actual, `${what} missing`).toBeDefined();
  expect([...actual!.dims], `${what} shape`).toEqual([...expected.shape]);
  const a = actual!.data as Float32Array;
  const e = expected.dataSync();
  let worst = 0;
  for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i]! - e[i]!));
  expect(worst, `${what}: max |difference| ${worst} > ${atol}`).toBeLessThanOrEqual(atol);
}

/** Inputs of a configuration: x in the layer's layout, and random initial states. */
export function inputsOf(c: Config, seed: number): { x: Tensor; h0: Tensor; c0: Tensor } {
  const dirs = c.bidirectional ? 2 : 1;
  const xShape = c.batchFirst ? [c.batch, c.steps, c.inputSize] : [c.steps, c.batch, c.inputSize];
  const state = [c.numLayers * dirs, c.batch, c.hiddenSize];
  return {
    x: randn(xShape, { seed }),
    h0: randn(state, { seed: seed + 1 }).mul(tensor(0.5)),
    c0: randn(state, { seed: seed + 2 }).mul(tensor(0.5)),
  };
}
