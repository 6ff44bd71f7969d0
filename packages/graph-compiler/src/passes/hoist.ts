import { batchable, emitBatched, sumOverSteps } from '../batch.js';
import { GraphBuilder } from '../builder.js';
import { isOp, type Node, type OpNode } from '../ir.js';
import { bodySource, type Loop, type LoopOutput, type Program, STEP_PREFIX, type Stage } from '../program.js';
import { dce } from './dce.js';

type Place = 'once' | 'pre' | 'loop' | 'post';

/**
 * Hoisting: moves every part of a loop body that does not need the carry out of the loop.
 *
 * - Values that do not change over the steps (weights transposed or concatenated, summed biases)
 *   are computed once before the loop.
 * - Values that depend on the per-step inputs but not on the carry are computed for all steps at
 *   once before the loop: the input projection x_t·Wᵀ of every step becomes one [T·B×D]·[D×G·H]
 *   GEMM.
 * - Values computed from the carry that no carry needs (per-step outputs, weight and input
 *   gradients in a backward loop) are stacked by the loop and computed after it, all steps at
 *   once: Σ_t δ_tᵀ·x_t becomes one GEMM.
 *
 * What stays in the loop is the recurrence itself. `prefix` keeps the names of hoisted values
 * distinct from those of other programs sharing the environment.
 */
export function hoist(p: Program, prefix = 'h'): Program {
  const stages: Stage[] = [];
  p.stages.forEach((s, i) => {
    if (s.kind === 'block') stages.push(s);
    else stages.push(...hoistLoop(s, p.steps, `${prefix}${i}`));
  });
  return { steps: p.steps, stages };
}

function hoistLoop(loop: Loop, steps: number, prefix: string): Stage[] {
  const g = loop.body;
  const N = g.nodes.length;
  const carryDep = new Array<boolean>(N).fill(false);
  const varying = new Array<boolean>(N).fill(false);
  for (const n of g.nodes) {
    if (isOp(n)) {
      carryDep[n.id] = n.inputs.some((i) => carryDep[i]);
      varying[n.id] = n.inputs.some((i) => varying[i]);
    } else if (n.kind !== 'const') {
      const src = bodySource(n);
      carryDep[n.id] = src.kind === 'carry';
      varying[n.id] = src.kind !== 'invariant';
    }
  }
  const neededByCarry = new Array<boolean>(N).fill(false);
  const stack = g.outputs.filter((_, i) => loop.outputs[i]!.kind === 'carry');
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (neededByCarry[id]) continue;
    neededByCarry[id] = true;
    const n = g.nodes[id]!;
    if (isOp(n)) stack.push(...n.inputs);
  }

  const place = new Array<Place | null>(N).fill(null);
  for (const n of g.nodes) {
    if (!isOp(n)) continue;
    const ok = batchable(
      n,
      n.inputs.map((i) => varying[i]!),
    );
    if (!varying[n.id]) place[n.id] = 'once';
    else if (!carryDep[n.id] && ok && n.inputs.every((i) => !isOp(g.nodes[i]!) || place[i] !== 'loop'))
      place[n.id] = 'pre';
    else if (!neededByCarry[n.id] && ok) place[n.id] = 'post';
    else place[n.id] = 'loop';
  }
  // A value the loop needs cannot be computed after it.
  for (let id = N - 1; id >= 0; id--) {
    const n = g.nodes[id]!;
    if (!isOp(n) || place[id] !== 'loop') continue;
    for (const i of n.inputs) if (place[i] === 'post') place[i] = 'loop';
  }

  // Cheap per-step work that only the loop reads stays in it: there it fuses into the step's
  // kernel, while before the loop it would cost a [T, ...] buffer and a pass over it. Only GEMMs
  // and what they need are worth batching.
  const consumers: number[][] = g.nodes.map(() => []);
  for (const n of g.nodes) if (isOp(n)) for (const i of n.inputs) consumers[i]!.push(n.id);
  const outputIds = new Set(g.outputs);
  for (let id = N - 1; id >= 0; id--) {
    const n = g.nodes[id]!;
    if (!isOp(n) || place[id] !== 'pre' || n.op === 'matmul' || outputIds.has(id)) continue;
    if (consumers[id]!.every((c) => place[c] === 'loop')) place[id] = 'loop';
  }

  const name = (kind: string, id: number) => `${prefix}:${kind}:${id}`;
  const stepName = new Map<number, string>(); // varying values available stacked in the environment
  for (const n of g.nodes) {
    if (isOp(n) || n.kind === 'const') continue;
    const src = bodySource(n);
    if (src.kind === 'step') stepName.set(n.id, src.name);
  }

  // Which values each region reads from the others.
  const usedBy = (region: Place) => {
    const used = new Set<number>();
    g.nodes.forEach((n) => {
      if (isOp(n) && place[n.id] === region) for (const i of n.inputs) used.add(i);
    });
    return used;
  };
  const loopUses = usedBy('loop');
  const postUses = usedBy('post');
  loop.outputs.forEach((o, i) => {
    const id = g.outputs[i]!;
    if (o.kind === 'carry' || place[id] === 'loop') loopUses.add(id);
    else postUses.add(id);
  });

  // Before the loop: invariant values once, carry-free per-step values batched.
  const pre = new GraphBuilder();
  const preMap = new Map<number, { id: number; batched: boolean }>();
  const preOut: number[] = [];
  const preNames: string[] = [];
  const preSource = (n: Node): { id: number; batched: boolean } => {
    if (n.kind === 'const') return { id: pre.copy(n, []), batched: false };
    const src = bodySource(n as Exclude<Node, OpNode>);
    if (src.kind === 'step')
      return { id: pre.source('input', src.name, [steps, ...n.shape], n.dtype), batched: true };
    return {
      id: pre.source(n.kind === 'param' ? 'param' : 'input', src.name, n.shape, n.dtype),
      batched: false,
    };
  };
  for (const n of g.nodes) {
    const pl = place[n.id];
    if (pl !== 'once' && pl !== 'pre') continue;
    const op = n as OpNode;
    const ins = op.inputs.map((i) => preMap.get(i) ?? preSource(g.nodes[i]!));
    op.inputs.forEach((i, k) => {
      preMap.set(i, ins[k]!);
    });
    const v =
      pl === 'once'
        ? {
            id: pre.copy(
              op,
              ins.map((x) => x.id),
            ),
            batched: false,
          }
        : { id: emitBatched(pre, op, ins, steps), batched: true };
    preMap.set(n.id, v);
    if (loopUses.has(n.id) || postUses.has(n.id)) {
      preOut.push(v.id);
      preNames.push(name(pl, n.id));
      if (pl === 'pre') stepName.set(n.id, name(pl, n.id));
    }
  }
  const onceName = new Map<number, string>();
  g.nodes.forEach((n) => {
    if (place[n.id] === 'once') onceName.set(n.id, name('once', n.id));
  });

  // The loop: the recurrence, reading hoisted values per step and stacking what comes after.
  const body = new GraphBuilder();
  const bodyMap = new Map<number, number>();
  const bodyValue = (id: number): number => {
    const known = bodyMap.get(id);
    if (known !== undefined) return known;
    const n = g.nodes[id]!;
    let v: number;
    if (place[id] === 'pre') v = body.source('input', STEP_PREFIX + stepName.get(id)!, n.shape, n.dtype);
    else if (place[id] === 'once') v = body.source('input', onceName.get(id)!, n.shape, n.dtype);
    else if (!isOp(n)) v = body.copy(n, []);
    else v = body.copy(n, n.inputs.map(bodyValue));
    bodyMap.set(id, v);
    return v;
  };
  const bodyOut: number[] = [];
  const bodyOutputs: LoopOutput[] = [];
  const stackedName = new Map<number, string>();
  loop.outputs.forEach((o, i) => {
    const id = g.outputs[i]!;
    if (
      o.kind === 'carry' ||
      place[id] === 'loop' ||
      (place[id] === null && !stepName.has(id) && carryDep[id])
    ) {
      bodyOut.push(bodyValue(id));
      bodyOutputs.push(o);
      if (o.kind === 'stack') stackedName.set(id, o.name);
    }
  });
  // Loop-side values (loop ops and carries) that the post region reads are stacked.
  for (const id of [...postUses].sort((a, b) => a - b)) {
    const n = g.nodes[id]!;
    const loopSide = place[id] === 'loop' || (!isOp(n) && carryDep[id]);
    if (!loopSide || stackedName.has(id)) continue;
    stackedName.set(id, name('loop', id));
    bodyOut.push(bodyValue(id));
    bodyOutputs.push({ kind: 'stack', name: name('loop', id) });
  }
  const newLoop: Loop = {
    kind: 'loop',
    body: dce(body.build(bodyOut)),
    reverse: loop.reverse,
    carries: loop.carries,
    outputs: bodyOutputs,
  };

  // After the loop: batched consumers of the stacked values, and the remaining outputs.
  const post = new GraphBuilder();
  const postMap = new Map<number, { id: number; batched: boolean }>();
  const postValue = (id: number): { id: number; batched: boolean } => {
    const known = postMap.get(id);
    if (known) return known;
    const n = g.nodes[id]!;
    let v: { id: number; batched: boolean };
    const stacked = stackedName.get(id) ?? stepName.get(id);
    if (place[id] === 'post') {
      const op = n as OpNode;
      const ins = op.inputs.map(postValue);
      v = { id: emitBatched(post, op, ins, steps), batched: true };
    } else if (stacked !== undefined) {
      v = { id: post.source('input', stacked, [steps, ...n.shape], n.dtype), batched: true };
    } else if (place[id] === 'once') {
      v = { id: post.source('input', onceName.get(id)!, n.shape, n.dtype), batched: false };
    } else if (n.kind === 'const') {
      v = { id: post.copy(n, []), batched: false };
    } else {
      const src = bodySource(n as Exclude<Node, OpNode>);
      v = {
        id: post.source(n.kind === 'param' ? 'param' : 'input', src.name, n.shape, n.dtype),
        batched: false,
      };
    }
    postMap.set(id, v);
    return v;
  };
  const postOut: number[] = [];
  const postNames: string[] = [];
  loop.outputs.forEach((o, i) => {
    const id = g.outputs[i]!;
    if (o.kind === 'carry' || bodyOutputs.includes(o)) return;
    const v = postValue(id);
    const n = g.nodes[id]!;
    let out: number;
    if (o.kind === 'stack') {
      out = v.batched
        ? v.id
        : post.op('broadcastTo', [post.reshape(v.id, [1, ...n.shape])], { shape: [steps, ...n.shape] });
    } else {
      out = v.batched
        ? sumOverSteps(post, v.id, steps)
        : post.op('mul', [v.id, post.constant([], n.dtype, [steps])], {});
    }
    postOut.push(out);
    postNames.push(o.name);
  });

  const stages: Stage[] = [];
  if (preOut.length > 0) stages.push({ kind: 'block', graph: dce(pre.build(preOut)), outputs: preNames });
  stages.push(newLoop);
  if (postOut.length > 0) stages.push({ kind: 'block', graph: dce(post.build(postOut)), outputs: postNames });
  return stages;
}
