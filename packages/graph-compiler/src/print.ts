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

const label = (g: Graph, id: number): string => {
  const n = g.nodes[id]!;
  const what = isOp(n) ? n.op : `${n.kind} ${n.name}`;
  return `%${id} ${what}\\n${n.dtype}[${n.shape.join(',')}]`;
};

/** Graphviz source: one box per node, edges from inputs, outputs double-bordered. */
export function graphToDot(g: Graph, name = 'graph'): string {
  const outs = new Set(g.outputs);
  const lines = [`digraph ${JSON.stringify(name)} {`, '  node [shape=box, fontname="monospace"];'];
  for (const n of g.nodes) {
    const style = isOp(n) ? (outs.has(n.id) ? ', peripheries=2' : '') : ', style=rounded';
    lines.push(`  n${n.id} [label="${label(g, n.id)}"${style}];`);
    if (isOp(n)) for (const i of n.inputs) lines.push(`  n${i} -> n${n.id};`);
  }
  lines.push('}');
  return lines.join('\n');
}

/** Mermaid flowchart source (renders in GitHub markdown). */
export function graphToMermaid(g: Graph): string {
  const lines = ['flowchart TD'];
  for (const n of g.nodes) {
    const text = label(g, n.id).replace('\\n', '<br/>');
    lines.push(isOp(n) ? `  n${n.id}["${text}"]` : `  n${n.id}(["${text}"])`);
    if (isOp(n)) for (const i of n.inputs) lines.push(`  n${i} --> n${n.id}`);
  }
  return lines.join('\n');
}
