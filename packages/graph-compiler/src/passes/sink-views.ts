import { GraphBuilder } from '../builder.js';
import { type Graph, isElementwise, isOp, type OpNode } from '../ir.js';
import { dce } from './dce.js';

/**
 * Moves slices below elementwise ops: slice(f(a, b)) becomes f(slice(a'), slice(b')) (a', b'
 * broadcast to f's shape first) when every consumer of f(a, b) is a slice. The gate split of a
 * cell, slice(x·W + h·U + b), then reads the GEMM results directly, and the gate math of every
 * gate has one shape, so it fuses into one kernel.
 */
export function sinkViews(g: Graph): Graph {
  let cur = g;
  for (let round = 0; round < 8; round++) {
    const next = sinkOnce(cur);
    if (next === cur) return cur;
    cur = dce(next);
  }
  return cur;
}

function sinkOnce(g: Graph): Graph {
  const consumers: number[][] = g.nodes.map(() => []);
  for (const n of g.nodes) if (isOp(n)) for (const i of n.inputs) consumers[i]!.push(n.id);
  const outputs = new Set(g.outputs);
  const movable = (id: number): boolean => {
    const n = g.nodes[id]!;
    if (!isOp(n) || outputs.has(id) || !isElementwise(n) || n.inputs.length === 0) return false;
    return consumers[id]!.length > 0 && consumers[id]!.every((c) => (g.nodes[c] as OpNode).op === 'slice');
  };
  if (!g.nodes.some((n) => movable(n.id))) return g;
  const b = new GraphBuilder();
  const map = new Map<number, number>();
  for (const n of g.nodes) {
    if (isOp(n) && n.op === 'slice' && movable(n.inputs[0]!)) {
      const f = g.nodes[n.inputs[0]!] as OpNode;
      const attrs = n.attrs as { begin: number[]; end: number[] };
      const args = f.inputs.map((i) => {
        const src = g.nodes[i]!;
        let v = map.get(i)!;
        if (src.shape.join() !== f.shape.join()) v = b.op('broadcastTo', [v], { shape: [...f.shape] });
        return b.op('slice', [v], { begin: [...attrs.begin], end: [...attrs.end] });
      });
      map.set(n.id, b.op(f.op, args, f.attrs as never));
      continue;
    }
    map.set(n.id, b.copy(n, isOp(n) ? n.inputs.map((i) => map.get(i)!) : []));
  }
  return b.build(g.outputs.map((o) => map.get(o)!));
}
