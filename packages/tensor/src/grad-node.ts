import type { OpDef } from './op.js';
import type { Tensor } from './tensor.js';

/** Where the gradient of one op input goes: another node, a leaf tensor, or nowhere. */
export type Edge = { readonly node: GradNode } | { readonly leaf: Tensor } | null;

/**
 * One recorded op of the autograd graph. Reference-counted: tensors whose `gradFn` it is and
 * nodes that lead to it hold it alive; when the count reaches zero it frees the values it saved.
 */
export class GradNode {
  private refs = 1;
  /** False once backward (without retainGraph) or disposal has released the saved values. */
  saved: { inputs: (Tensor | null)[]; output: Tensor | null; versions: number[] } | null;

  constructor(
    // biome-ignore lint/suspicious/noExplicitAny: nodes of every op live in one graph
    readonly op: OpDef<any>,
    readonly attrs: unknown,
    readonly next: readonly Edge[],
    saved: { inputs: (Tensor | null)[]; output: Tensor | null; versions: number[] },
  ) {
    this.saved = saved;
    for (const e of next) if (e && 'node' in e) e.node.refs++;
  }

  ref(): void {
    this.refs++;
  }

  /** Drops one reference; frees this node, and nodes only it kept alive, when none remain. */
  unref(): void {
    const stack: GradNode[] = [this];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (--n.refs > 0) continue;
      n.releaseSaved();
      for (const e of n.next) if (e && 'node' in e) stack.push(e.node);
    }
  }

  releaseSaved(): void {
    if (!this.saved) return;
    for (const t of this.saved.inputs) t?.dispose();
    this.saved.output?.dispose();
    this.saved = null;
  }
}
