import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../src/index.js';
import {
  type Cell,
  type Config,
  expectCloseOrt,
  inputsOf,
  makeLayer,
  runOnnx,
  runOurs,
  useJsBackend,
} from './helpers.js';

beforeAll(() => {
  useJsBackend();
});

const TOL = 1e-5;
const CELLS: Cell[] = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru', 'gru_reset_before'];

async function agree(c: Config, withState: boolean, lengths?: number[]): Promise<void> {
  const layer = makeLayer(c);
  const { x, h0, c0 } = inputsOf(c, c.seed + 100);
  const states = withState ? { h0, ...(c.cell === 'lstm' ? { c0 } : {}) } : {};
  const opts = lengths ? { ...states, lengths } : states;
  const ours = runOurs(layer, x, opts);
  const theirs = await runOnnx(layer, x, opts, { initialState: withState, lengths: lengths !== undefined });
  const what = JSON.stringify(c);
  expectCloseOrt(theirs.output, ours.output, TOL, `output of ${what}`);
  expectCloseOrt(theirs.hn, ours.hN, TOL, `hn of ${what}`);
  if (c.cell === 'lstm') expectCloseOrt(theirs.cn, ours.cN!, TOL, `cn of ${what}`);
  else expect(theirs.cn).toBeUndefined();
}

describe('onnxruntime runs the exported model as our layer computes it', () => {
  for (const cell of CELLS) {
    for (const numLayers of [1, 2]) {
      for (const bidirectional of [false, true]) {
        it(`${cell}, ${numLayers} layer(s), ${bidirectional ? 'bidirectional' : 'unidirectional'}`, async () => {
          const c: Config = {
            cell,
            numLayers,
            bidirectional,
            batchFirst: false,
            inputSize: 5,
            hiddenSize: 4,
            steps: 7,
            batch: 3,
            seed: 11,
          };
          await agree(c, true);
        });
      }
    }
  }

  it('batch first, without initial states, without biases', async () => {
    for (const cell of ['lstm', 'gru', 'rnn_tanh'] as const) {
      await agree(
        {
          cell,
          numLayers: 2,
          bidirectional: true,
          batchFirst: true,
          bias: false,
          inputSize: 3,
          hiddenSize: 6,
          steps: 5,
          batch: 2,
          seed: 5,
        },
        false,
      );
    }
  });

  it('variable-length batches through the lengths input', async () => {
    for (const cell of ['lstm', 'gru', 'rnn_tanh'] as const) {
      await agree(
        {
          cell,
          numLayers: 2,
          bidirectional: true,
          batchFirst: false,
          inputSize: 4,
          hiddenSize: 3,
          steps: 6,
          batch: 3,
          seed: 9,
        },
        true,
        [6, 2, 4],
      );
    }
  });

  it('agrees on random configurations and values (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          cell: fc.constantFrom(...CELLS),
          numLayers: fc.integer({ min: 1, max: 3 }),
          bidirectional: fc.boolean(),
          batchFirst: fc.boolean(),
          bias: fc.boolean(),
          inputSize: fc.integer({ min: 1, max: 6 }),
          hiddenSize: fc.integer({ min: 1, max: 6 }),
          steps: fc.integer({ min: 1, max: 6 }),
          batch: fc.integer({ min: 1, max: 4 }),
          seed: fc.integer({ min: 0, max: 1000 }),
        }),
        fc.boolean(),
        async (c, withState) => {
          await agree(c, withState);
        },
      ),
      { numRuns: 25, seed: 42 },
    );
  });

  it('a model with fixed axes runs on those shapes', async () => {
    const c: Config = {
      cell: 'lstm',
      numLayers: 1,
      bidirectional: false,
      batchFirst: true,
      inputSize: 4,
      hiddenSize: 5,
      steps: 3,
      batch: 2,
      seed: 1,
    };
    const layer = makeLayer(c);
    const { x, h0, c0 } = inputsOf(c, 3);
    const ours = runOurs(layer, x, { h0, c0 });
    const theirs = await runOnnx(layer, x, { h0, c0 }, { seqLen: 3, batchSize: 2, opset: 21 });
    expectCloseOrt(theirs.output, ours.output, TOL, 'output');
    expectCloseOrt(theirs.hn, ours.hN, TOL, 'hn');
    await expect(
      runOnnx(layer, inputsOf({ ...c, steps: 4 }, 3).x, { h0, c0 }, { seqLen: 3 }),
    ).rejects.toThrow();
  });
});

describe('exportOnnx: what it refuses', () => {
  it('a projected LSTM, a bad opset, bad axes, a non-layer', async () => {
    const { LSTM } = await import('@recur/cells');
    const projected = new LSTM({ inputSize: 3, hiddenSize: 4, projSize: 2, seed: 0 });
    expect(() => exportOnnx(projected)).toThrow(/without a projection.*projSize 2/);
    const plain = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 0 });
    expect(() => exportOnnx(plain, { opset: 9 })).toThrow(/opset from 14 to 22, found 9/);
    expect(() => exportOnnx(plain, { seqLen: 0 })).toThrow(/seqLen to be a positive integer, found 0/);
    expect(() => exportOnnx({} as never)).toThrow(/an RNN, LSTM or GRU layer/);
  });
});
