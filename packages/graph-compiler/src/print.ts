import { type Graph, isOp } from './ir.js';

function attrsText(attrs: unknown): string {
  const entries = Object.entries((attrs ?? {}) as Record<string, unknown>);
  return entries.length === 0 ? '' : ` {${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
}

/** A readable listing, one node a line: `%3 = add(%1, %2) : f32[2,3]`. */
export function printGraph(g: Graph): string {
  const lines = g.nodes.map((n) => {
    const type = `${n.dtype}[${n.shape.join(',')}]`;
    if (!isOp(n)) return `%${n.id} = ${n.kind} ${JSON.stringify(n.name)} : ${type}`;
    return `%${n.id} = ${n.op}(${n.inputs.map((i) => `%${i}`).join(', ')})${attrsText(n.attrs)} : ${type}`;
  });
  lines.push(`return ${g.outputs.map((o) => `%${o}`).join(', ')}`);
  return lines.join('\n');
}

/** Counts of nodes by kind and op, for summaries and tests. */
export function countOps(g: Graph): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of g.nodes) {
    const key = isOp(n) ? n.op : n.kind;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
