import * as R from '@recur/tensor';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { constantFold, cse, dce, execute, type Graph, sinkViews, trace, verify } from '../src/index.js';
import { expectClose, programArb, programInputs, runProgram, useJs } from './helpers.js';

beforeAll(() => useJs());

const PASSES: Record<string, (g: Graph) => Graph> = {
  dce,
  cse,
  constantFold: (g) => constantFold(g),
  'fold, cse, dce': (g) => dce(cse(constantFold(g))),
};

describe.each(Object.entries(PASSES))('pass %s', (_name, pass) => {
  it('preserves the values of random graphs and yields a graph the verifier accepts', () => {
    fc.assert(
      fc.property(programArb, (p) => {
        R.tidy(() => {
          const { bias, ...inputs } = programInputs(p.seed);
          // The bias is captured as a constant, so ops on it alone can be folded.
          const { graph } = trace((ins) => runProgram(p, { ...ins, bias: bias! }), inputs);
          verify(graph);
          const after = pass(graph);
          verify(after);
          expect(after.nodes.length).toBeLessThanOrEqual(graph.nodes.length);
          expectClose(execute(after, inputs), execute(graph, inputs), 1e-6);
        });
      }),
      { numRuns: 60, seed: 11 },
    );
  });
});

describe('pass sinkViews', () => {
  it('preserves values of random graphs with sliced elementwise results, and verifies (property)', () => {
    let moved = 0;
    fc.assert(
      fc.property(programArb, (p) => {
        R.tidy(() => {
          const inputs = programInputs(p.seed);
          const { graph } = trace((ins) => runProgram(p, ins), inputs);
          const after = sinkViews(graph);
          verify(after);
          if (after !== graph) moved++;
          expectClose(execute(after, inputs), execute(graph, inputs), 1e-6);
        });
      }),
      { numRuns: 80, seed: 5 },
    );
    expect(moved).toBeGreaterThan(0);
  });
});

describe('dce and cse', () => {
  it('dce removes exactly the values no output needs', () => {
    const { graph } = trace(
      ({ x }) => {
        x!.exp();
        return x!.tanh();
      },
      { x: R.tensor([1, 2]) },
    );
    expect(dce(graph).nodes.map((n) => (n.kind === 'op' ? n.op : n.kind))).toEqual(['input', 'tanh']);
  });

  it('constantFold turns ops on constants into constants and leaves the rest', () => {
    const b1 = R.tensor([1, 2]);
    const b2 = R.tensor([10, 20]);
    const { graph } = trace(({ x }) => x!.add(b1.add(b2).tanh()), { x: R.tensor([0, 0]) });
    const folded = dce(constantFold(graph));
    expect(folded.nodes.map((n) => (n.kind === 'op' ? n.op : n.kind))).toEqual(['input', 'const', 'add']);
    const c = folded.nodes[1]!;
    expect(c.kind === 'const' && c.value).toEqual([Math.fround(Math.tanh(11)), Math.fround(Math.tanh(22))]);
  });

  it('cse merges repeated sub-expressions and keeps distinct ones', () => {
    const { graph } = trace(({ x, y }) => x!.mul(y!).add(x!.mul(y!)).add(y!.mul(x!)), {
      x: R.tensor([1, 2]),
      y: R.tensor([3, 4]),
    });
    const after = dce(cse(graph));
    expect(after.nodes.filter((n) => n.kind === 'op' && n.op === 'mul')).toHaveLength(2);
  });
});
