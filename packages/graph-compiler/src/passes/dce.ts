import { type Graph, isOp, rebuild } from '../ir.js';

/** Dead-code elimination: drops ops whose values no output needs (inputs and params stay). */
export function dce(g: Graph): Graph {
  const live = new Set<number>(g.outputs);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (live.has(i) && isOp(n)) for (const input of n.inputs) live.add(input);
  }
  return rebuild(g, (n) => live.has(n.id) || n.kind === 'input' || n.kind === 'param');
}
