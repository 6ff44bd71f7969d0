import * as R from '@recur/tensor';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { cse, dce, execute, type Graph, trace, verify } from '../src/index.js';
import { expectClose, programArb, programInputs, runProgram, useJs } from './helpers.js';

beforeAll(() => useJs());

const PASSES: Record<string, (g: Graph) => Graph> = { dce, cse, 'cse then dce': (g) => dce(cse(g)) };

describe.each(Object.entries(PASSES))('pass %s', (_name, pass) => {
  it('preserves the values of random graphs and yields a graph the verifier accepts', () => {
    fc.assert(
      fc.property(programArb, (p) => {
        R.tidy(() => {
          const inputs = programInputs(p.seed);
          const { graph } = trace((ins) => runProgram(p, ins), inputs);
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

  it('cse merges repeated sub-expressions and keeps distinct ones', () => {
    const { graph } = trace(({ x, y }) => x!.mul(y!).add(x!.mul(y!)).add(y!.mul(x!)), {
      x: R.tensor([1, 2]),
      y: R.tensor([3, 4]),
    });
    const after = dce(cse(graph));
    expect(after.nodes.filter((n) => n.kind === 'op' && n.op === 'mul')).toHaveLength(2);
  });
});
