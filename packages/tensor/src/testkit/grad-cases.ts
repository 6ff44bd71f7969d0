import * as fc from 'fast-check';
import * as ew from '../ops/elementwise.js';
import { gather, scatterAdd } from '../ops/index-ops.js';
import { matmul } from '../ops/matmul.js';
import { crossEntropy, logSoftmax, softmax } from '../ops/nn.js';
import { logsumexp, max, mean, min, sum } from '../ops/reduce.js';
import { broadcastTo, concat, pad, reshape, slice, transpose } from '../ops/shape-ops.js';
import type { OpName } from '../ops/table.js';
import { Rng } from '../random.js';
import { sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import type { GradInput } from './gradcheck.js';

/** One generated gradient-check problem: inputs and the function of them to differentiate. */
export interface GradCase {
  readonly label: string;
  readonly inputs: readonly GradInput[];
  readonly fn: (...xs: Tensor[]) => Tensor;
}

/** Why an op has no gradient check: it has no gradient to check. */
export type NoGradient = { readonly noGradient: string };

const dim = fc.integer({ min: 1, max: 4 });
const shapeArb = (minRank = 0, maxRank = 3) => fc.array(dim, { minLength: minRank, maxLength: maxRank });
const seedArb = fc.integer({ min: 0, max: 2 ** 30 });

type Domain = 'any' | 'positive' | 'awayFromZero';

function values(shape: readonly number[], seed: number, domain: Domain = 'any'): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: sizeOf(shape) }, () => {
    const u = rng.uniform();
    if (domain === 'positive') return 0.5 + 2 * u;
    const magnitude = domain === 'awayFromZero' ? 0.5 + 1.5 * u : 2 * u;
    return rng.uniform() < 0.5 ? -magnitude : magnitude;
  });
}

function ints(shape: readonly number[], seed: number, bound: number): GradInput {
  const rng = new Rng(seed);
  return { shape, values: Array.from({ length: sizeOf(shape) }, () => rng.int(bound)), dtype: 'i32' };
}

/** Two shapes that broadcast together: size-1 and missing leading dimensions included. */
const broadcastPair = fc
  .record({ out: shapeArb(0, 3), dropA: fc.nat(3), dropB: fc.nat(3), onesA: fc.nat(7), onesB: fc.nat(7) })
  .map(({ out, dropA, dropB, onesA, onesB }) => {
    const derive = (drop: number, ones: number) =>
      out.slice(Math.min(drop, out.length)).map((d, i) => ((ones >> i) & 1 ? 1 : d));
    return [derive(dropA, onesA), derive(dropB, onesB)] as const;
  });

function unary(op: (x: Tensor) => Tensor, name: string, domain: Domain): fc.Arbitrary<GradCase> {
  return fc.record({ shape: shapeArb(), seed: seedArb }).map(({ shape, seed }) => ({
    label: `${name} ${JSON.stringify(shape)}`,
    inputs: [{ shape, values: values(shape, seed, domain) }],
    fn: op,
  }));
}

function binary(
  op: (a: Tensor, b: Tensor) => Tensor,
  name: string,
  domains: [Domain, Domain],
  separate = false,
): fc.Arbitrary<GradCase> {
  return fc.record({ shapes: broadcastPair, seed: seedArb }).map(({ shapes: [sa, sb], seed }) => {
    const a = values(sa, seed, domains[0]);
    let b = values(sb, seed + 1, domains[1]);
    // min/max have a kink where a == b: keep the operands apart so differences are valid.
    if (separate) b = b.map((v, i) => v + (a[i % a.length]! >= v ? -0.3 : 0.3));
    return {
      label: `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`,
      inputs: [
        { shape: sa, values: a },
        { shape: sb, values: b },
      ],
      fn: op,
    };
  });
}

/**
 * Values a ladder 0.25 apart in a seeded order: min and max have kinks where values tie, and a
 * finite difference must not step across one (even with f32's larger step).
 */
function separated(shape: readonly number[], seed: number): number[] {
  const v = values(shape, seed);
  const order = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(v.length);
  order.forEach(([, i], r) => {
    out[i] = (r - v.length / 2) * 0.25;
  });
  return out;
}

function reduction(
  op: (x: Tensor, axes: number[], keep: boolean) => Tensor,
  name: string,
  kinked = false,
): fc.Arbitrary<GradCase> {
  return fc
    .record({ shape: shapeArb(1, 3), seed: seedArb, mask: fc.nat(7), keep: fc.boolean() })
    .map(({ shape, seed, mask, keep }) => {
      const axes = shape.flatMap((_, i) => ((mask >> i) & 1 ? [i] : []));
      return {
        label: `${name} ${JSON.stringify(shape)} axes ${JSON.stringify(axes)} keep ${keep}`,
        inputs: [{ shape, values: kinked ? separated(shape, seed) : values(shape, seed) }],
        fn: (x: Tensor) => op(x, axes, keep),
      };
    });
}

function alongAxis(op: (x: Tensor, axis: number) => Tensor, name: string): fc.Arbitrary<GradCase> {
  return fc
    .record({ shape: shapeArb(1, 3), seed: seedArb, axisSeed: fc.nat(2) })
    .map(({ shape, seed, axisSeed }) => {
      const axis = axisSeed % shape.length;
      return {
        label: `${name} ${JSON.stringify(shape)} axis ${axis}`,
        inputs: [{ shape, values: values(shape, seed) }],
        fn: (x: Tensor) => op(x, axis),
      };
    });
}

const noGradient = (why: string): NoGradient => ({ noGradient: why });

/**
 * A gradient-check generator for every op. The type demands an entry per op name, so a new op
 * cannot be added without either a gradient check or a stated reason why it has no gradient.
 */
export const GRAD_CASES: { readonly [K in OpName]: fc.Arbitrary<GradCase> | NoGradient } = {
  neg: unary(ew.neg, 'neg', 'any'),
  exp: unary(ew.exp, 'exp', 'any'),
  log: unary(ew.log, 'log', 'positive'),
  sqrt: unary(ew.sqrt, 'sqrt', 'positive'),
  abs: unary(ew.abs, 'abs', 'awayFromZero'),
  tanh: unary(ew.tanh, 'tanh', 'any'),
  sigmoid: unary(ew.sigmoid, 'sigmoid', 'any'),
  relu: unary(ew.relu, 'relu', 'awayFromZero'),
  sign: noGradient('piecewise constant: its derivative is zero wherever it exists'),
  add: binary(ew.add, 'add', ['any', 'any']),
  sub: binary(ew.sub, 'sub', ['any', 'any']),
  mul: binary(ew.mul, 'mul', ['any', 'any']),
  div: binary(ew.div, 'div', ['any', 'awayFromZero']),
  pow: binary(ew.pow, 'pow', ['positive', 'any']),
  minimum: binary(ew.minimum, 'minimum', ['any', 'any'], true),
  maximum: binary(ew.maximum, 'maximum', ['any', 'any'], true),
  eq: noGradient('comparison: integer-valued output'),
  ne: noGradient('comparison: integer-valued output'),
  lt: noGradient('comparison: integer-valued output'),
  le: noGradient('comparison: integer-valued output'),
  gt: noGradient('comparison: integer-valued output'),
  ge: noGradient('comparison: integer-valued output'),
  where: fc.record({ shapes: broadcastPair, seed: seedArb }).map(({ shapes: [sa, sb], seed }) => ({
    label: `where ${JSON.stringify(sa)} ${JSON.stringify(sb)}`,
    inputs: [
      ints(sa, seed + 2, 2),
      { shape: sa, values: values(sa, seed) },
      { shape: sb, values: values(sb, seed + 1) },
    ],
    fn: (c: Tensor, a: Tensor, b: Tensor) => ew.where(c, a, b),
  })),
  cast: unary((x) => ew.cast(x, x.dtype), 'cast', 'any'),
  full: noGradient('constant: no tensor inputs'),
  fullLike: noGradient('constant: ignores its input values'),
  matmul: fc
    .record({
      m: dim,
      n: dim,
      k: dim,
      batchA: shapeArb(0, 2),
      bBatched: fc.boolean(),
      transA: fc.boolean(),
      transB: fc.boolean(),
      seed: seedArb,
    })
    .map(({ m, n, k, batchA, bBatched, transA, transB, seed }) => {
      const sa = [...batchA, ...(transA ? [k, m] : [m, k])];
      const sb = [
        ...(bBatched ? batchA.map((d, i) => (i === 0 ? 1 : d)) : []),
        ...(transB ? [n, k] : [k, n]),
      ];
      return {
        label: `matmul ${JSON.stringify(sa)}${transA ? 'ᵀ' : ''} ${JSON.stringify(sb)}${transB ? 'ᵀ' : ''}`,
        inputs: [
          { shape: sa, values: values(sa, seed) },
          { shape: sb, values: values(sb, seed + 1) },
        ],
        fn: (a: Tensor, b: Tensor) => matmul(a, b, { transA, transB }),
      };
    }),
  sum: reduction(sum, 'sum'),
  max: reduction(max, 'max', true),
  min: reduction(min, 'min', true),
  mean: reduction(mean, 'mean'),
  logsumexp: reduction(logsumexp, 'logsumexp'),
  argmax: noGradient('integer-valued output'),
  argmin: noGradient('integer-valued output'),
  reshape: fc.record({ shape: shapeArb(1, 3), seed: seedArb }).map(({ shape, seed }) => ({
    label: `reshape ${JSON.stringify(shape)}`,
    inputs: [{ shape, values: values(shape, seed) }],
    fn: (x: Tensor) => reshape(x, [-1, shape[0]!]),
  })),
  transpose: fc
    .record({ shape: shapeArb(1, 3), seed: seedArb, rot: fc.nat(2) })
    .map(({ shape, seed, rot }) => {
      const perm = shape.map((_, i) => (i + rot) % shape.length);
      return {
        label: `transpose ${JSON.stringify(shape)} ${JSON.stringify(perm)}`,
        inputs: [{ shape, values: values(shape, seed) }],
        fn: (x: Tensor) => transpose(x, perm),
      };
    }),
  slice: fc.record({ shape: shapeArb(1, 3), seed: seedArb, cut: fc.nat(15) }).map(({ shape, seed, cut }) => {
    const begin = shape.map((d, i) => ((cut >> i) & 1 ? Math.floor(d / 2) : 0));
    const end = shape.map((d, i) => ((cut >> (i + 1)) & 1 ? Math.max(begin[i]! + 1, d - 1) : d));
    return {
      label: `slice ${JSON.stringify(shape)} ${JSON.stringify(begin)}..${JSON.stringify(end)}`,
      inputs: [{ shape, values: values(shape, seed) }],
      fn: (x: Tensor) => slice(x, begin, end),
    };
  }),
  pad: fc
    .record({ shape: shapeArb(1, 3), seed: seedArb, p: fc.nat(63), value: fc.integer({ min: -2, max: 2 }) })
    .map(({ shape, seed, p, value }) => {
      const pads = shape.map((_, i) => [(p >> (2 * i)) & 1, (p >> (2 * i + 1)) & 1] as [number, number]);
      return {
        label: `pad ${JSON.stringify(shape)} ${JSON.stringify(pads)} value ${value}`,
        inputs: [{ shape, values: values(shape, seed) }],
        fn: (x: Tensor) => pad(x, pads, value),
      };
    }),
  concat: fc
    .record({ shape: shapeArb(1, 3), seed: seedArb, axisSeed: fc.nat(2), extra: dim })
    .map(({ shape, seed, axisSeed, extra }) => {
      const axis = axisSeed % shape.length;
      const other = shape.map((d, i) => (i === axis ? extra : d));
      return {
        label: `concat ${JSON.stringify(shape)} ${JSON.stringify(other)} axis ${axis}`,
        inputs: [
          { shape, values: values(shape, seed) },
          { shape: other, values: values(other, seed + 1) },
        ],
        fn: (a: Tensor, b: Tensor) => concat([a, b], axis),
      };
    }),
  broadcastTo: broadcastPair.chain(([sa]) =>
    fc.record({ seed: seedArb, lead: dim }).map(({ seed, lead }) => {
      const target = [lead, ...sa.map((d, i) => (d === 1 ? i + 2 : d))];
      return {
        label: `broadcastTo ${JSON.stringify(sa)} -> ${JSON.stringify(target)}`,
        inputs: [{ shape: sa, values: values(sa, seed) }],
        fn: (x: Tensor) => broadcastTo(x, target),
      };
    }),
  ),
  gather: fc
    .record({ shape: shapeArb(1, 3), seed: seedArb, idxShape: shapeArb(0, 2), axisSeed: fc.nat(2) })
    .map(({ shape, seed, idxShape, axisSeed }) => {
      const axis = axisSeed % shape.length;
      return {
        label: `gather ${JSON.stringify(shape)} by ${JSON.stringify(idxShape)} axis ${axis}`,
        inputs: [{ shape, values: values(shape, seed) }, ints(idxShape, seed + 1, shape[axis]!)],
        fn: (x: Tensor, idx: Tensor) => gather(x, idx, axis),
      };
    }),
  scatterAdd: fc
    .record({
      shape: shapeArb(1, 3),
      seed: seedArb,
      count: fc.integer({ min: 0, max: 5 }),
      axisSeed: fc.nat(2),
    })
    .map(({ shape, seed, count, axisSeed }) => {
      const axis = axisSeed % shape.length;
      const updShape = shape.map((d, i) => (i === axis ? count : d));
      return {
        label: `scatterAdd ${JSON.stringify(shape)} ${count} updates on axis ${axis}`,
        inputs: [
          { shape, values: values(shape, seed) },
          ints([count], seed + 1, shape[axis]!),
          { shape: updShape, values: values(updShape, seed + 2) },
        ],
        fn: (x: Tensor, idx: Tensor, upd: Tensor) => scatterAdd(x, idx, upd, axis),
      };
    }),
  softmax: alongAxis(softmax, 'softmax'),
  logSoftmax: alongAxis(logSoftmax, 'logSoftmax'),
  oneHot: noGradient('integer input'),
  crossEntropy: fc
    .record({
      lead: shapeArb(1, 2),
      classes: fc.integer({ min: 2, max: 5 }),
      seed: seedArb,
      reduction: fc.constantFrom('mean' as const, 'sum' as const, 'none' as const),
      smoothing: fc.constantFrom(0, 0.1),
      withMask: fc.boolean(),
      ignoreIndex: fc.constantFrom(-100, 0),
    })
    .map(({ lead, classes, seed, reduction, smoothing, withMask, ignoreIndex }) => {
      const logits = [...lead, classes];
      const targets = ints(lead, seed + 1, classes);
      // Keep at least one counted target so the mean is defined.
      const targetValues = targets.values.map((v, i) => (i === 0 && v === ignoreIndex ? 1 : v));
      const mask = ints(lead, seed + 2, 2);
      const maskValues = mask.values.map((v, i) => (i === 0 ? 1 : v));
      const inputs: GradInput[] = [
        { shape: logits, values: values(logits, seed) },
        { ...targets, values: targetValues },
      ];
      if (withMask) inputs.push({ ...mask, values: maskValues });
      return {
        label: `crossEntropy ${JSON.stringify(logits)} ${reduction} smoothing ${smoothing} mask ${withMask} ignore ${ignoreIndex}`,
        inputs,
        fn: (x: Tensor, t: Tensor, m?: Tensor) =>
          crossEntropy(x, t, {
            reduction,
            labelSmoothing: smoothing,
            ignoreIndex,
            ...(m ? { mask: m } : {}),
          }),
      };
    }),
};
