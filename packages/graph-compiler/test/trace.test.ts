import * as R from '@recur/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  countOps,
  execute,
  type Graph,
  GraphError,
  type Node,
  type OpNode,
  printGraph,
  trace,
  verify,
} from '../src/index.js';
import { expectClose, useJs } from './helpers.js';

beforeAll(() => useJs());

function lstmStep(x: R.Tensor, h: R.Tensor, c: R.Tensor, p: Readonly<Record<string, R.Tensor>>) {
  const gates = x
    .matmul(p.wih!, { transB: true })
    .add(p.bih!)
    .add(h.matmul(p.whh!, { transB: true }))
    .add(p.bhh!);
  const [i, f, g, o] = gates.split(4, -1) as [R.Tensor, R.Tensor, R.Tensor, R.Tensor];
  const c2 = f.sigmoid().mul(c).add(i.sigmoid().mul(g.tanh()));
  return [o.sigmoid().mul(c2.tanh()), c2];
}

describe('trace', () => {
  const H = 4;
  const params = () => ({
    wih: R.randn([4 * H, 3], { seed: 1 }),
    whh: R.randn([4 * H, H], { seed: 2 }),
    bih: R.randn([4 * H], { seed: 3 }),
    bhh: R.randn([4 * H], { seed: 4 }),
  });
  const inputs = () => ({
    x: R.randn([2, 3], { seed: 5 }),
    h: R.randn([2, H], { seed: 6 }),
    c: R.randn([2, H], { seed: 7 }),
  });

  it('records an LSTM step that verifies and re-executes to the eager values', () => {
    const p = params();
    const { graph, outputs } = trace(({ x, h, c }) => lstmStep(x!, h!, c!, p), inputs(), p);
    verify(graph);
    expect(countOps(graph)).toMatchObject({ input: 3, param: 4, matmul: 2, slice: 4, sigmoid: 3, tanh: 2 });
    expectClose(execute(graph, inputs(), p), outputs, 1e-6);
  });

  it('records composite ops as their parts and captures foreign tensors as constants', () => {
    const w = R.tensor([1, 2, 3]);
    const { graph } = trace(({ x }) => R.softmax(x!.mul(w)), { x: R.tensor([[1, 1, 1]]) });
    verify(graph);
    const ops = countOps(graph);
    expect(ops.softmax).toBeUndefined();
    expect(ops.exp).toBe(2); // one in logsumexp, one for the result
    expect(ops.const).toBeGreaterThanOrEqual(1);
    expect(printGraph(graph)).toMatch(
      /^%0 = input "x" : f32\[1,3\]\n%1 = const "c1" : f32\[3\]\n%2 = mul\(%0, %1\) : f32\[1,3\]/,
    );
  });

  it('names every input and param when executing, with a clear error when one is missing or misshapen', () => {
    const { graph } = trace(({ x }) => x!.tanh(), { x: R.tensor([1, 2]) });
    expect(() => execute(graph, {})).toThrow(/expected a value for input 'x' of shape \[2\]/);
    expect(() => execute(graph, { x: R.tensor([1, 2, 3]) })).toThrow(
      /expected input 'x' as f32\[2\], found f32\[3\]/,
    );
  });
});

describe('verify', () => {
  it('rejects forward references and shapes that disagree with the shape rule', () => {
    const { graph } = trace(({ x }) => x!.add(x!), { x: R.tensor([1, 2]) });
    const [input, add] = graph.nodes as [Node, OpNode];
    const forward: Graph = { ...graph, nodes: [input, { ...add, inputs: [1, 0] }] };
    expect(() => verify(forward)).toThrow(GraphError);
    const wrongShape: Graph = { ...graph, nodes: [input, { ...add, shape: [3] }] };
    expect(() => verify(wrongShape)).toThrow(/expected f32\[2\] from the shape rule, found f32\[3\]/);
  });
});
