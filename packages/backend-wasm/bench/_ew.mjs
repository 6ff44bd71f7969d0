import * as R from '@recur/tensor';
import { WasmBackend } from '../dist/index.js';

const { ex } = R;
const b = await WasmBackend.create({ threads: 1 });
const rows = 32,
  cols = 256;
const buf = (n) => {
  const x = b.alloc('f32', n);
  b.write(
    x,
    Float32Array.from({ length: n }, (_, i) => Math.sin(i)),
  );
  return x;
};
const gates = buf(rows * 1024),
  xp = buf(rows * 1024),
  bias = buf(1024),
  bias2 = buf(1024),
  c = buf(rows * 256);
const outs = [b.alloc('f32', rows * 256), b.alloc('f32', rows * 256), b.alloc('f32', rows * 256)];
const x = (i) => ex.input(i, 'f32');
const gate = (k) =>
  ex.binary('add', ex.binary('add', x(4 * k), x(4 * k + 1)), ex.binary('add', x(4 * k + 2), x(4 * k + 3)));
const inputs = [];
for (let k = 0; k < 4; k++)
  inputs.push(
    { buffer: gates, offset: k * 256, strides: [1024, 1] },
    { buffer: bias, offset: k * 256, strides: [0, 1] },
    { buffer: xp, offset: k * 256, strides: [1024, 1] },
    { buffer: bias2, offset: k * 256, strides: [0, 1] },
  );
inputs.push({ buffer: c, offset: 0, strides: [256, 1] });
function variant(name, mk) {
  const [e0, ...more] = mk();
  const call = {
    expr: e0,
    inputs,
    out: outs[0],
    shape: [rows, cols],
    more: more.map((e, i) => ({ expr: e, out: outs[i + 1], offset: 0, strides: [256, 1] })),
  };
  for (let i = 0; i < 20; i++) b.elementwise(call);
  const ts = [];
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now();
    b.elementwise(call);
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  console.log(
    name.padEnd(30),
    'min',
    (ts[0] * 1000).toFixed(1),
    'us  median',
    (ts[150] * 1000).toFixed(1),
    'us',
  );
}
const lstm = () => {
  const i = ex.unary('sigmoid', gate(0)),
    f = ex.unary('sigmoid', gate(1)),
    g = ex.unary('tanh', gate(2)),
    o = ex.unary('sigmoid', gate(3));
  const c2 = ex.binary('add', ex.binary('mul', f, x(16)), ex.binary('mul', i, g));
  return [ex.binary('mul', o, ex.unary('tanh', c2)), c2, c2];
};
variant('lstm fwd (5 transcendental)', lstm);
variant('adds only (same loads/stores)', () => {
  const s = ex.binary('add', ex.binary('add', gate(0), gate(1)), ex.binary('add', gate(2), gate(3)));
  return [s, ex.binary('mul', s, x(16)), s];
});
variant('one exp', () => [ex.unary('exp', gate(0))]);
variant('one sigmoid', () => [ex.unary('sigmoid', gate(0))]);
variant('one tanh', () => [ex.unary('tanh', gate(0))]);
variant('copy gate sum', () => [gate(0)]);
b.dispose();
