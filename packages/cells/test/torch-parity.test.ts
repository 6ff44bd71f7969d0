import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mul, type Tensor, tidy } from '@recur/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { GRU, LSTM, type RecurrentLayer, RNN, readSafetensors } from '../src/index.js';
import { expectClose, useJsBackend } from './helpers.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');

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

const CASES = readdirSync(FIXTURES)
  .filter(
    (f) => f.endsWith('.safetensors') && /^(rnn|lstm|gru)_/.test(f) && f !== 'lstm_state_dict.safetensors',
  )
  .sort();

function build(c: Config, dtype: 'f32' | 'f64'): RecurrentLayer {
  const common = {
    inputSize: c.inputSize,
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers,
    bidirectional: c.bidirectional,
    batchFirst: c.batchFirst ?? false,
    bias: c.bias ?? true,
    dtype,
  };
  if (c.layer === 'RNN') return new RNN({ ...common, nonlinearity: c.nonlinearity ?? 'tanh' });
  if (c.layer === 'LSTM') return new LSTM({ ...common, projSize: c.projSize ?? 0 });
  return new GRU(common);
}

/** Runs a fixture through our layer in `dtype` and compares every value and gradient. */
function runCase(file: string, dtype: 'f32' | 'f64', atol: number): void {
  tidy(() => {
    const { tensors, metadata } = readSafetensors(readFileSync(join(FIXTURES, file)));
    const config = JSON.parse(metadata!.config!) as Config;
    const get = (name: string): Tensor => {
      const t = tensors.get(name);
      if (!t) throw new Error(`fixture ${file} lacks ${name}`);
      return t;
    };
    const layer = build(config, dtype);
    // The weights are the file's entries without a prefix: a PyTorch state_dict, loaded strictly.
    const stateDict = new Map([...tensors].filter(([k]) => !k.includes('.')));
    layer.loadStateDict(stateDict);
    const leaf = (name: string): Tensor => get(name).cast(dtype).requiresGrad_();
    const x = leaf('input.x');
    const h0 = leaf('input.h0');
    const isLstm = config.layer === 'LSTM';
    const c0 = isLstm ? leaf('input.c0') : undefined;
    const lengths = config.lengths;
    const r =
      layer instanceof LSTM
        ? layer.forward(x, { h0, c0: c0!, ...(lengths ? { lengths } : {}) })
        : (layer as RNN | GRU).forward(x, { h0, ...(lengths ? { lengths } : {}) });
    const cot = (name: string): Tensor => get(`cotangent.${name}`).cast(dtype);
    let loss = mul(r.output, cot('output'))
      .sum()
      .add(mul(r.hN, cot('hN')).sum());
    const cN = 'cN' in r ? (r.cN as Tensor) : undefined;
    if (cN) loss = loss.add(mul(cN, cot('cN')).sum());
    loss.backward();

    expectClose(r.output, get('expected.output'), atol, `${file} output`);
    expectClose(r.hN, get('expected.hN'), atol, `${file} hN`);
    expect(cN !== undefined).toBe(isLstm);
    if (cN) expectClose(cN, get('expected.cN'), atol, `${file} cN`);
    expectClose(x.grad!, get('grad.x'), atol, `${file} grad x`);
    expectClose(h0.grad!, get('grad.h0'), atol, `${file} grad h0`);
    if (c0) expectClose(c0.grad!, get('grad.c0'), atol, `${file} grad c0`);
    const params = layer.namedParameters();
    expect(params.length).toBe(stateDict.size);
    for (const [name, p] of params) expectClose(p.grad!, get(`grad.${name}`), atol, `${file} grad ${name}`);
    layer.dispose();
  });
}

beforeAll(() => {
  useJsBackend();
});

describe('parity with PyTorch (fixtures from scripts/make_torch_fixtures.py)', () => {
  it('has the fixtures: RNN tanh/relu, LSTM with and without projSize, GRU, 1-3 layers, both directions, lengths', () => {
    const configs = CASES.map((f) => {
      const { metadata } = readSafetensors(readFileSync(join(FIXTURES, f)));
      return JSON.parse(metadata!.config!) as Config;
    });
    expect(configs.length).toBeGreaterThanOrEqual(12);
    const has = (p: (c: Config) => boolean): boolean => configs.some(p);
    expect(has((c) => c.layer === 'RNN' && c.nonlinearity === 'tanh')).toBe(true);
    expect(has((c) => c.layer === 'RNN' && c.nonlinearity === 'relu')).toBe(true);
    expect(has((c) => c.layer === 'LSTM' && !c.projSize)).toBe(true);
    expect(has((c) => c.layer === 'LSTM' && (c.projSize ?? 0) > 0)).toBe(true);
    expect(has((c) => c.layer === 'GRU')).toBe(true);
    for (const n of [1, 2, 3]) expect(has((c) => c.numLayers === n)).toBe(true);
    expect(has((c) => c.bidirectional)).toBe(true);
    expect(has((c) => !c.bidirectional)).toBe(true);
    for (const layer of ['RNN', 'LSTM', 'GRU'])
      expect(has((c) => c.layer === layer && !!c.lengths)).toBe(true);
  });

  for (const file of CASES) {
    it(`${file.replace('.safetensors', '')}: outputs, final states and all gradients within 1e-5 in f32`, () => {
      runCase(file, 'f32', 1e-5);
    });
    it(`${file.replace('.safetensors', '')}: the same in f64 within 1e-12`, () => {
      runCase(file, 'f64', 1e-12);
    });
  }
});
