import { GraphBuilder } from '../builder.js';
import { type Graph, isOp, type OpNode } from '../ir.js';

/**
 * Gate-GEMM grouping: matmuls that share their left operand (the G gate projections x·W_i, x·W_f,
 * ... of a cell written with one weight per gate) become one matmul against the weights
 * concatenated along the output axis, followed by slices. In a loop the concatenation is
 * loop-invariant, so hoisting computes it once.
 */
export function groupGemms(g: Graph): Graph {
  const groups = new Map<string, OpNode[]>();
  for (const n of g.nodes) {
    if (!isOp(n) || n.op !== 'matmul') continue;
    const [a, b] = n.inputs as [number, number];
    const bn = g.nodes[b]!;
    if (bn.shape.length !== 2 || g.nodes[a]!.shape.length > 2) continue;
    const { transA, transB } = n.attrs as { transA: boolean; transB: boolean };
    const k = transB ? bn.shape[1] : bn.shape[0];
    const key = `${a}|${transA}|${transB}|${k}|${n.dtype}`;
    const list = groups.get(key) ?? [];
    // Every weight must exist where the grouped matmul is emitted (at the first member).
    if (list.length === 0 || b < list[0]!.id) list.push(n);
    groups.set(key, list);
  }
  const leader = new Map<number, OpNode[]>();
  const member = new Set<number>();
  for (const list of groups.values()) {
    if (list.length < 2) continue;
    leader.set(list[0]!.id, list);
    for (const n of list) member.add(n.id);
  }
  if (leader.size === 0) return g;

  const b = new GraphBuilder();
  const map = new Map<number, number>();
  for (const n of g.nodes) {
    const list = leader.get(n.id);
    if (list && isOp(n)) {
      const { transA, transB } = n.attrs as { transA: boolean; transB: boolean };
      const weights = list.map((m) => map.get(m.inputs[1]!)!);
      const w = b.op('concat', weights, { axis: transB ? 0 : 1 });
      const y = b.op('matmul', [map.get(n.inputs[0]!)!, w], { transA, transB });
      const rows = b.node(y).shape[0]!;
      let at = 0;
      for (const m of list) {
        const width = m.shape[1]!;
        map.set(m.id, b.op('slice', [y], { begin: [0, at], end: [rows, at + width] }));
        at += width;
      }
      continue;
    }
    if (member.has(n.id)) continue;
    map.set(n.id, b.copy(n, isOp(n) ? n.inputs.map((i) => map.get(i)!) : []));
  }
  return b.build(g.outputs.map((o) => map.get(o)!));
}
