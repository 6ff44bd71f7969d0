import { concat, Rng, reshape, type Tensor } from '@recur/tensor';
import { assertGradients, type GradInput } from '@recur/tensor/testkit';
import * as fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import {
  type CellWeights,
  cellParamShapes,
  GRU,
  gruStep,
  LSTM,
  lstmStep,
  type RecurrentMode,
  RNN,
  recurrentForward,
  rnnStep,
} from '../src/index.js';
import { useJsBackend, values } from './helpers.js';

beforeAll(() => {
  useJsBackend();
});

const GATES: Record<RecurrentMode, number> = {
  rnn_tanh: 1,
  rnn_relu: 1,
  lstm: 4,
  gru: 3,
  gru_reset_before: 3,
};

interface LayerCase {
  readonly mode: RecurrentMode;
  readonly steps: number;
  readonly batch: number;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly projSize: number;
  readonly numLayers: number;
  readonly bidirectional: boolean;
  readonly bias: boolean;
  readonly lengths: number[] | undefined;
  readonly seed: number;
}

/** A case's inputs (x, h0, c0 for LSTM, then every cell's weights) and the function of them. */
function layerProblem(c: LayerCase): { inputs: GradInput[]; fn: (...ts: Tensor[]) => Tensor } {
  const rng = new Rng(c.seed);
  const dirs = c.bidirectional ? 2 : 1;
  const out = c.projSize > 0 ? c.projSize : c.hiddenSize;
  const isLstm = c.mode === 'lstm';
  const input = (shape: number[], scale = 1): GradInput => ({
    shape,
    values: values(
      rng,
      shape.reduce((a, b) => a * b, 1),
      scale,
    ),
  });
  const inputs: GradInput[] = [
    input([c.steps, c.batch, c.inputSize]),
    input([c.numLayers * dirs, c.batch, out]),
  ];
  if (isLstm) inputs.push(input([c.numLayers * dirs, c.batch, c.hiddenSize]));
  const perCell: number[] = [];
  for (let layer = 0; layer < c.numLayers; layer++) {
    for (let d = 0; d < dirs; d++) {
      const shapes = cellParamShapes({
        gates: GATES[c.mode],
        inputSize: layer === 0 ? c.inputSize : dirs * out,
        hiddenSize: c.hiddenSize,
        projSize: c.projSize,
        bias: c.bias,
      });
      for (const s of shapes) inputs.push(input(s.shape, 0.8));
      perCell.push(shapes.length);
    }
  }
  const fn = (...ts: Tensor[]): Tensor => {
    const [x, h0] = ts as [Tensor, Tensor];
    const c0 = isLstm ? ts[2] : undefined;
    let at = isLstm ? 3 : 2;
    const weights: CellWeights[] = perCell.map((n) => {
      const [weightIh, weightHh, ...rest] = ts.slice(at, at + n) as Tensor[];
      at += n;
      return {
        weightIh: weightIh!,
        weightHh: weightHh!,
        biasIh: c.bias ? rest[0] : undefined,
        biasHh: c.bias ? rest[1] : undefined,
        weightHr: c.projSize > 0 ? rest[c.bias ? 2 : 0] : undefined,
      };
    });
    const r = recurrentForward(x, weights, h0, c0, {
      mode: c.mode,
      numLayers: c.numLayers,
      bidirectional: c.bidirectional,
      lengths: c.lengths,
    });
    const parts = [r.output, r.hN, ...(r.cN ? [r.cN] : [])];
    return concat(
      parts.map((p) => reshape(p, [-1])),
      0,
    );
  };
  return { inputs, fn };
}

function layerCases(mode: RecurrentMode, projected = false): fc.Arbitrary<LayerCase> {
  return fc
    .record({
      steps: fc.integer({ min: 1, max: 4 }),
      batch: fc.integer({ min: 1, max: 3 }),
      inputSize: fc.integer({ min: 1, max: 3 }),
      hiddenSize: fc.integer({ min: projected ? 2 : 1, max: 3 }),
      numLayers: fc.integer({ min: 1, max: 3 }),
      bidirectional: fc.boolean(),
      bias: fc.boolean(),
      withLengths: fc.boolean(),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    })
    .chain(({ withLengths, ...r }) =>
      fc
        .record({
          projSize: projected ? fc.integer({ min: 1, max: r.hiddenSize - 1 }) : fc.constant(0),
          lengths: withLengths
            ? fc.array(fc.integer({ min: 1, max: r.steps }), { minLength: r.batch, maxLength: r.batch })
            : fc.constant(undefined),
        })
        .map((extra): LayerCase => ({ mode, ...r, ...extra })),
    );
}

const RUNS = { numRuns: 12, seed: 2024 };

describe('layer gradients match finite differences (f64), over sizes, layers, directions and lengths', () => {
  const modes: [string, RecurrentMode, boolean][] = [
    ['RNN tanh', 'rnn_tanh', false],
    ['RNN relu', 'rnn_relu', false],
    ['LSTM', 'lstm', false],
    ['LSTM with projSize', 'lstm', true],
    ['GRU reset-after', 'gru', false],
    ['GRU reset-before', 'gru_reset_before', false],
  ];
  for (const [name, mode, projected] of modes) {
    it(`${name}: inputs, initial states and every weight`, async () => {
      await fc.assert(
        fc.asyncProperty(layerCases(mode, projected), async (c) => {
          const { fn, inputs } = layerProblem(c);
          await assertGradients(fn, inputs);
        }),
        RUNS,
      );
    });
  }
});

describe('step functions: gradients w.r.t. input, state and every weight', () => {
  const sizes = fc.record({
    batch: fc.integer({ min: 1, max: 3 }),
    inputSize: fc.integer({ min: 1, max: 3 }),
    hiddenSize: fc.integer({ min: 1, max: 3 }),
    bias: fc.boolean(),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  });
  type Sizes = { batch: number; inputSize: number; hiddenSize: number; bias: boolean; seed: number };

  function stepInputs(s: Sizes, gates: number, states: number): GradInput[] {
    const rng = new Rng(s.seed);
    const make = (shape: number[], scale = 1): GradInput => ({
      shape,
      values: values(
        rng,
        shape.reduce((a, b) => a * b, 1),
        scale,
      ),
    });
    const out = [make([s.batch, s.inputSize])];
    for (let i = 0; i < states; i++) out.push(make([s.batch, s.hiddenSize]));
    const g = gates * s.hiddenSize;
    out.push(make([g, s.inputSize], 0.8), make([g, s.hiddenSize], 0.8));
    if (s.bias) out.push(make([g], 0.8), make([g], 0.8));
    return out;
  }
  const weightsOf = (ts: Tensor[], bias: boolean): CellWeights => ({
    weightIh: ts[0]!,
    weightHh: ts[1]!,
    biasIh: bias ? ts[2] : undefined,
    biasHh: bias ? ts[3] : undefined,
  });

  for (const nl of ['tanh', 'relu'] as const) {
    it(`rnnStep (${nl})`, async () => {
      await fc.assert(
        fc.asyncProperty(sizes, async (s) => {
          await assertGradients(
            (x, h, ...w) => rnnStep(x!, h!, weightsOf(w, s.bias), nl),
            stepInputs(s, 1, 1),
          );
        }),
        { numRuns: 15, seed: 1 },
      );
    });
  }

  it('lstmStep (h and c outputs)', async () => {
    await fc.assert(
      fc.asyncProperty(sizes, async (s) => {
        await assertGradients(
          (x, h, c, ...w) => {
            const r = lstmStep(x!, h!, c!, weightsOf(w, s.bias));
            return concat([r.h, r.c], 1);
          },
          stepInputs(s, 4, 2),
        );
      }),
      { numRuns: 15, seed: 2 },
    );
  });

  it('lstmStep with a projection (weight_hr)', async () => {
    await fc.assert(
      fc.asyncProperty(sizes, fc.integer({ min: 1, max: 3 }), async (s, proj) => {
        const rng = new Rng(s.seed + 1);
        const inputs = stepInputs({ ...s, hiddenSize: s.hiddenSize }, 4, 2);
        // h has the projection's size, and so has weight_hh's second axis.
        inputs[1] = { shape: [s.batch, proj], values: values(rng, s.batch * proj) };
        inputs[4] = { shape: [4 * s.hiddenSize, proj], values: values(rng, 4 * s.hiddenSize * proj, 0.8) };
        inputs.push({ shape: [proj, s.hiddenSize], values: values(rng, proj * s.hiddenSize, 0.8) });
        await assertGradients((x, h, c, ...w) => {
          const r = lstmStep(x!, h!, c!, { ...weightsOf(w, s.bias), weightHr: w[w.length - 1] });
          return concat([reshape(r.h, [-1]), reshape(r.c, [-1])], 0);
        }, inputs);
      }),
      { numRuns: 15, seed: 3 },
    );
  });

  for (const resetAfter of [true, false]) {
    it(`gruStep (reset ${resetAfter ? 'after' : 'before'})`, async () => {
      await fc.assert(
        fc.asyncProperty(sizes, async (s) => {
          await assertGradients(
            (x, h, ...w) => gruStep(x!, h!, weightsOf(w, s.bias), { resetAfter }),
            stepInputs(s, 3, 1),
          );
        }),
        { numRuns: 15, seed: 4 },
      );
    });
  }
});

describe('layer classes: gradients w.r.t. inputs and states through batchFirst and unbatched paths', () => {
  const rng = new Rng(11);
  const input = (shape: number[]): GradInput => ({
    shape,
    values: values(
      rng,
      shape.reduce((a, b) => a * b, 1),
    ),
  });
  const flat = (...ts: Tensor[]): Tensor => concat(ts.map((t) => reshape(t, [-1])));

  it('LSTM, batch first, bidirectional, projected, with lengths', async () => {
    const lstm = new LSTM({
      inputSize: 2,
      hiddenSize: 3,
      projSize: 2,
      numLayers: 2,
      bidirectional: true,
      batchFirst: true,
      dtype: 'f64',
      seed: 5,
    });
    await assertGradients(
      (x, h0, c0) => {
        const r = lstm.forward(x!, { h0: h0!, c0: c0!, lengths: [3, 1] });
        return flat(r.output, r.hN, r.cN);
      },
      [input([2, 3, 2]), input([4, 2, 2]), input([4, 2, 3])],
    );
  });

  it('GRU and RNN on unbatched input [T, D]', async () => {
    const gru = new GRU({
      inputSize: 2,
      hiddenSize: 2,
      numLayers: 2,
      bidirectional: true,
      dtype: 'f64',
      seed: 6,
    });
    await assertGradients(
      (x, h0) => {
        const r = gru.forward(x!, { h0: h0! });
        return flat(r.output, r.hN);
      },
      [input([3, 2]), input([4, 2])],
    );
    const rnn = new RNN({ inputSize: 2, hiddenSize: 3, nonlinearity: 'relu', dtype: 'f64', seed: 7 });
    await assertGradients(
      (x, h0) => {
        const r = rnn.forward(x!, { h0: h0! });
        return flat(r.output, r.hN);
      },
      [input([4, 2]), input([1, 3])],
    );
  });
});
