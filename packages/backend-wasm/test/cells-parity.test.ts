import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRU, LSTM, type RecurrentLayer, RNN, readSafetensors } from '@recur/cells';
import * as R from '@recur/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/index.js';

/**
 * The PyTorch parity fixtures of @recur/cells (written by its scripts/make_torch_fixtures.py),
 * run on this backend: RNN, LSTM (with and without projections) and GRU layers, 1–3 layers, both
 * directions, variable lengths; eager and compiled; every output, final state and gradient.
 */
const FIXTURES = join(import.meta.dirname, '..', '..', 'cells', 'test', 'fixtures');
const CASES = readdirSync(FIXTURES)
  .filter((f) => /^(rnn|lstm|gru)_.*\.safetensors$/.test(f) && f !== 'lstm_state_dict.safetensors')
  .sort();

interface Config {
  layer: 'RNN' | 'LSTM' | 'GRU';
  nonlinearity?: 'tanh' | 'relu';
  numLayers: number;
  bidirectional: boolean;
  batchFirst?: boolean;
  bias?: boolean;
  projSize?: number;
  lengths?: number[];
  inputSize: number;
  hiddenSize: number;
}

function build(c: Config, dtype: 'f32' | 'f64', compiled: boolean): RecurrentLayer {
  const common = {
    inputSize: c.inputSize,
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers,
    bidirectional: c.bidirectional,
    batchFirst: c.batchFirst ?? false,
    bias: c.bias ?? true,
    dtype,
    compiled,
  };
  if (c.layer === 'RNN') return new RNN({ ...common, nonlinearity: c.nonlinearity ?? 'tanh' });
  if (c.layer === 'LSTM') return new LSTM({ ...common, projSize: c.projSize ?? 0 });
  return new GRU(common);
}

function maxAbsDiff(a: R.Tensor, b: R.Tensor): number {
  const x = a.cast('f64').dataSync();
  const y = b.cast('f64').dataSync();
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
  return d;
}

function runCase(file: string, dtype: 'f32' | 'f64', compiled: boolean, atol: number): void {
  R.tidy(() => {
    const { tensors, metadata } = readSafetensors(readFileSync(join(FIXTURES, file)));
    const config = JSON.parse(metadata!.config!) as Config;
    const get = (name: string): R.Tensor => {
      const t = tensors.get(name);
      if (!t) throw new Error(`fixture ${file} lacks ${name}`);
      return t;
    };
    const layer = build(config, dtype, compiled);
    const stateDict = new Map([...tensors].filter(([k]) => !k.includes('.')));
    layer.loadStateDict(stateDict);
    const leaf = (name: string): R.Tensor => get(name).cast(dtype).requiresGrad_();
    const x = leaf('input.x');
    const h0 = leaf('input.h0');
    const c0 = config.layer === 'LSTM' ? leaf('input.c0') : undefined;
    const lengths = config.lengths;
    const r =
      layer instanceof LSTM
        ? layer.forward(x, { h0, c0: c0!, ...(lengths ? { lengths } : {}) })
        : (layer as RNN | GRU).forward(x, { h0, ...(lengths ? { lengths } : {}) });
    const cot = (name: string): R.Tensor => get(`cotangent.${name}`).cast(dtype);
    let loss = R.mul(r.output, cot('output'))
      .sum()
      .add(R.mul(r.hN, cot('hN')).sum());
    const cN = 'cN' in r ? (r.cN as R.Tensor) : undefined;
    if (cN) loss = loss.add(R.mul(cN, cot('cN')).sum());
    loss.backward();
    const check = (found: R.Tensor, name: string) => {
      const d = maxAbsDiff(found, get(name));
      expect(d, `${file} ${name}: max |difference| ${d} > ${atol}`).toBeLessThanOrEqual(atol);
    };
    check(r.output, 'expected.output');
    check(r.hN, 'expected.hN');
    if (cN) check(cN, 'expected.cN');
    check(x.grad!, 'grad.x');
    check(h0.grad!, 'grad.h0');
    if (c0) check(c0.grad!, 'grad.c0');
    for (const [name, p] of layer.namedParameters()) check(p.grad!, `grad.${name}`);
    layer.dispose();
  });
}

const backends: [string, WasmBackend][] = [];
beforeAll(async () => {
  backends.push(['1 thread', await WasmBackend.create({ threads: 1 })]);
  backends.push(['2 threads', await WasmBackend.create({ threads: 2 })]);
});
afterAll(() => {
  for (const [, b] of backends) b.dispose();
});

describe('cells on the wasm backend match PyTorch', () => {
  it('finds the fixtures', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(12);
  });
  for (const file of CASES) {
    it(`${file.replace('.safetensors', '')}: f32 within 1e-5 and f64 within 1e-12, eager and compiled`, () => {
      for (const [name, backend] of backends) {
        R.withBackend(backend, () => {
          for (const compiled of [false, true]) {
            try {
              runCase(file, 'f32', compiled, 1e-5);
              runCase(file, 'f64', compiled, 1e-12);
            } catch (err) {
              throw new Error(`${name}, ${compiled ? 'compiled' : 'eager'}: ${(err as Error).message}`);
            }
          }
        });
      }
    });
  }
});
