import { compileScan, type StepFn } from '@recur/graph-compiler';
import { backward, randn, type Tensor } from '@recur/tensor';
import { beforeAll, describe, it } from 'vitest';
import { type CellWeights, GRU, gruStep, LSTM, lstmStep, RNN, rnnStep } from '../src/index.js';
import { expectClose, useJsBackend } from './helpers.js';

beforeAll(() => {
  useJsBackend();
});

const [T, B, D, H] = [6, 3, 5, 4];

type Kind = 'rnn' | 'lstm' | 'gru';
const weights = (p: Readonly<Record<string, Tensor>>): CellWeights => ({
  weightIh: p.weight_ih_l0!,
  weightHh: p.weight_hh_l0!,
  biasIh: p.bias_ih_l0!,
  biasHh: p.bias_hh_l0!,
});
const STEPS: Record<Kind, StepFn> = {
  rnn: ({ h }, { x }, p) => {
    const h2 = rnnStep(x!, h!, weights(p));
    return { carry: { h: h2 }, y: { h: h2 } };
  },
  lstm: ({ h, c }, { x }, p) => {
    const s = lstmStep(x!, h!, c!, weights(p));
    return { carry: { h: s.h, c: s.c }, y: { h: s.h } };
  },
  gru: ({ h }, { x }, p) => {
    const h2 = gruStep(x!, h!, weights(p));
    return { carry: { h: h2 }, y: { h: h2 } };
  },
};

describe.each(['rnn', 'lstm', 'gru'] as const)('%s layer: eager and compiled agree', (kind) => {
  it('gives the same outputs, final states and gradients (f64)', () => {
    const opts = { inputSize: D, hiddenSize: H, seed: 3, dtype: 'f64' as const };
    const layer = kind === 'lstm' ? new LSTM(opts) : kind === 'gru' ? new GRU(opts) : new RNN(opts);
    const x = randn([T, B, D], { seed: 1, dtype: 'f64' }).requiresGrad_();
    const h0 = randn([1, B, H], { seed: 2, dtype: 'f64' }).requiresGrad_();
    const c0 = randn([1, B, H], { seed: 3, dtype: 'f64' }).requiresGrad_();
    const dy = randn([T, B, H], { seed: 4, dtype: 'f64' });
    const dh = randn([1, B, H], { seed: 5, dtype: 'f64' });
    const dc = randn([1, B, H], { seed: 6, dtype: 'f64' });

    const eager: { output: Tensor; hN: Tensor; cN?: Tensor } =
      kind === 'lstm' ? (layer as LSTM).forward(x, { h0, c0 }) : (layer as RNN).forward(x, { h0 });
    let loss = eager.output.mul(dy).sum().add(eager.hN.mul(dh).sum());
    if (eager.cN) loss = loss.add(eager.cN.mul(dc).sum());
    backward(loss);

    const params = Object.fromEntries([...layer.stateDict()].map(([k, v]) => [k, v]));
    const carry: Record<string, { shape: number[]; dtype: 'f64' }> = { h: { shape: [B, H], dtype: 'f64' } };
    if (kind === 'lstm') carry.c = { shape: [B, H], dtype: 'f64' };
    const spec = {
      carry,
      xs: { x: { shape: [B, D], dtype: 'f64' as const } },
      params: Object.fromEntries(
        Object.entries(params).map(([k, v]) => [k, { shape: [...v.shape], dtype: 'f64' as const }]),
      ),
    };
    const compiled = compileScan(STEPS[kind], spec, { steps: T, train: true });
    const init: Record<string, Tensor> = { h: h0.detach().reshape([B, H]) };
    if (kind === 'lstm') init.c = c0.detach().reshape([B, H]);
    const out = compiled.forward(init, { x: x.detach() }, params);
    expectClose(out.ys.h!, eager.output, 1e-10);
    expectClose(out.final.h!, eager.hN.reshape([B, H]), 1e-10);
    const dfinal: Record<string, Tensor> = { h: dh.reshape([B, H]) };
    if (kind === 'lstm') {
      expectClose(out.final.c!, eager.cN!.reshape([B, H]), 1e-10);
      dfinal.c = dc.reshape([B, H]);
    }
    const g = compiled.backward(dfinal, { h: dy });
    expectClose(g.xs.x!, x.grad!, 1e-10);
    expectClose(g.init.h!, h0.grad!.reshape([B, H]), 1e-10);
    if (kind === 'lstm') expectClose(g.init.c!, c0.grad!.reshape([B, H]), 1e-10);
    for (const [name, p] of Object.entries(params)) expectClose(g.params[name]!, p.grad!, 1e-10);
    compiled.dispose();
  });
});
