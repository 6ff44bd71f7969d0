import { engine } from './engine.js';
import { GradError } from './errors.js';
import type { GradNode } from './grad-node.js';
import { fmt, shapesEqual } from './shape.js';
import { Tensor } from './tensor.js';

export interface BackwardOptions {
  /** Gradient of the root; required when the root is not a scalar. Defaults to 1. */
  readonly grad?: Tensor;
  /** Keep the saved values so backward can run through this graph again. */
  readonly retainGraph?: boolean;
}

type AddFn = (a: Tensor, b: Tensor) => Tensor;
type OnesFn = (like: Tensor) => Tensor;
type CloneFn = (t: Tensor) => Tensor;
let addFn: AddFn;
let onesLike: OnesFn;
let cloneFn: CloneFn;

/** @internal Breaks the import cycle with the op modules. */
export function installAutogradOps(add: AddFn, ones: OnesFn, clone: CloneFn): void {
  addFn = add;
  onesLike = ones;
  cloneFn = clone;
}

/**
 * Reverse-mode autograd from `root`: accumulates d(root)/d(leaf) into `leaf.grad` for every leaf
 * that requires grad. Frees the graph's saved values unless `retainGraph` is set.
 */
export function backward(root: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new GradError(
      `backward: expected a tensor that depends on parameters with requiresGrad, found one that does not (shape ${fmt(root.shape)}). Create parameters with { requiresGrad: true } and do not compute the loss under noGrad.`,
    );
  }
  if (options.grad) {
    if (!shapesEqual(options.grad.shape, root.shape)) {
      throw new GradError(
        `backward: expected a gradient of shape ${fmt(root.shape)}, found ${fmt(options.grad.shape)}.`,
      );
    }
  } else if (root.size !== 1) {
    throw new GradError(
      `backward: expected a scalar (one element) to differentiate, found shape ${fmt(root.shape)}. Reduce it (e.g. .sum() or .mean()) or pass { grad }.`,
    );
  }

  engine.tidy(() =>
    engine.noGrad(() => {
      const seed = options.grad ? Tensor.share(options.grad) : onesLike(root);
      if (!root.gradFn) {
        accumulateLeaf(root, seed);
        return;
      }
      const order = topoOrder(root.gradFn);
      const grads = new Map<GradNode, Tensor>([[root.gradFn, seed]]);
      for (const node of order) {
        const g = grads.get(node);
        grads.delete(node);
        if (!g) continue;
        const saved = node.saved;
        if (!saved) {
          throw new GradError(
            `backward: expected the graph through '${node.op.name}' to still hold its saved values, found them freed by an earlier backward. Pass { retainGraph: true } to the first backward call.`,
          );
        }
        checkVersions(node, saved);
        const needsGrad = node.next.map((e) => e !== null);
        const inputGrads = node.op.vjp!(g, {
          inputs: saved.inputs as Tensor[],
          output: saved.output as Tensor,
          attrs: node.attrs,
          needsGrad,
        });
        // A VJP may return one tensor object for several inputs, or the incoming gradient
        // itself: give each input its own handle, then drop the VJP's handles.
        const owned = node.next.map((edge, i) => {
          const ig = inputGrads[i];
          return edge && ig ? Tensor.share(ig) : null;
        });
        for (const ig of inputGrads) ig?.dispose();
        g.dispose();
        node.next.forEach((edge, i) => {
          const own = owned[i];
          if (!edge || !own) return;
          if ('leaf' in edge) {
            accumulateLeaf(edge.leaf, own);
            return;
          }
          const prev = grads.get(edge.node);
          if (prev) {
            grads.set(edge.node, addFn(prev, own));
            prev.dispose();
            own.dispose();
          } else {
            grads.set(edge.node, own);
          }
        });
        if (!options.retainGraph) node.releaseSaved();
      }
    }),
  );
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.isDisposed) {
    g.dispose();
    return;
  }
  let value = g.dtype === leaf.dtype && g.storage.refs === 1 ? g : cloneFn(g);
  if (value !== g) g.dispose();
  if (leaf.grad) {
    const sum = addFn(leaf.grad, value);
    value.dispose();
    leaf.grad.dispose();
    value = sum;
  }
  leaf.grad = engine.keep(value);
}

function checkVersions(node: GradNode, saved: NonNullable<GradNode['saved']>): void {
  const values = [...saved.inputs, saved.output];
  values.forEach((t, i) => {
    if (t && t.storage.version !== saved.versions[i]) {
      throw new GradError(
        `backward: a value saved by '${node.op.name}' was modified in place (by assign) after it was used, so its gradient would be wrong. Assign to parameters only after backward, or clone the value before changing it.`,
      );
    }
  });
}

/** Nodes reachable from `root`, each after every node that consumes it (iterative, deterministic). */
function topoOrder(root: GradNode): GradNode[] {
  const visited = new Set<GradNode>();
  const post: GradNode[] = [];
  const stack: [GradNode, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [node, i] = top;
    if (i < node.next.length) {
      top[1]++;
      const e = node.next[i];
      if (e && 'node' in e && !visited.has(e.node)) {
        visited.add(e.node);
        stack.push([e.node, 0]);
      }
    } else {
      stack.pop();
      post.push(node);
    }
  }
  return post.reverse();
}
