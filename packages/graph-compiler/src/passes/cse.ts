import { type Graph, isOp, rebuild } from '../ir.js';

/** Common-subexpression elimination: an op with the same inputs and attributes as an earlier one reuses it. */
export function cse(g: Graph): Graph {
  const seen = new Map<string, number>();
  const replace = new Map<number, number>();
  const canonical = (id: number): number => replace.get(id) ?? id;
  for (const n of g.nodes) {
    let key: string;
    if (isOp(n)) {
      key = `${n.op}(${n.inputs.map(canonical).join(',')})${JSON.stringify(n.attrs)}`;
    } else if (n.kind === 'const') {
      key = `const ${n.dtype}[${n.shape}] ${JSON.stringify(n.value)}`;
    } else {
      continue;
    }
    const prev = seen.get(key);
    if (prev === undefined) seen.set(key, n.id);
    else replace.set(n.id, prev);
  }
  return rebuild(g, () => true, replace);
}
