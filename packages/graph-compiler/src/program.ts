import { add, concat, engine, reshape, slice, type Tensor } from '@recur/tensor';
import { execute } from './execute.js';
import { type Graph, isOp, type SourceNode } from './ir.js';
import { GraphError } from './verify.js';

/**
 * A compiled recurrent computation: a list of stages over a named environment.
 *
 * - A `block` runs a graph once. Its sources are read from the environment by name; its outputs
 *   are stored under `outputs[i]`.
 * - A `loop` runs its body graph `steps` times (backwards when `reverse`). Body sources are read
 *   by name: `carry:K` is the loop-carried value K (starting from the environment value
 *   `carries[j].init`), `x:NAME` is step t of the environment value NAME (stacked along axis 0),
 *   and any other name is a loop-invariant environment value. Each body output either updates a
 *   carry, is stacked over the steps into NAME (`stack`), or is summed over the steps (`sum`).
 *
 * Names in the environment are plain strings; programs built by `compileScan` use `init:K`,
 * `final:K`, `ys:N`, parameter names, and internal names for hoisted and saved values.
 */
export type Stage = Block | Loop;

export interface Block {
  readonly kind: 'block';
  readonly graph: Graph;
  readonly outputs: readonly string[];
}

export type LoopOutput =
  | { readonly kind: 'carry'; readonly name: string }
  | { readonly kind: 'stack'; readonly name: string }
  | { readonly kind: 'sum'; readonly name: string };

export interface Loop {
  readonly kind: 'loop';
  readonly body: Graph;
  readonly reverse: boolean;
  readonly carries: readonly { readonly name: string; readonly init: string; readonly final: string }[];
  /** One per body output. */
  readonly outputs: readonly LoopOutput[];
}

export interface Program {
  readonly steps: number;
  readonly stages: readonly Stage[];
}

export const STEP_PREFIX = 'x:';
export const CARRY_PREFIX = 'carry:';

/** How a loop body reads a source: the carry, a per-step slice, or an invariant environment value. */
export function bodySource(n: SourceNode): { kind: 'carry' | 'step' | 'invariant'; name: string } {
  if (n.name.startsWith(CARRY_PREFIX)) return { kind: 'carry', name: n.name.slice(CARRY_PREFIX.length) };
  if (n.name.startsWith(STEP_PREFIX)) return { kind: 'step', name: n.name.slice(STEP_PREFIX.length) };
  return { kind: 'invariant', name: n.name };
}

export function sourcesOf(g: Graph): SourceNode[] {
  return g.nodes.filter((n): n is SourceNode => !isOp(n) && n.kind !== 'const');
}

/**
 * The reference interpreter for programs: every stage runs node by node through `execute`, a loop
 * slices its per-step inputs and stacks its outputs with ordinary tensor ops. Optimised and
 * lowered programs must agree with it. Returns the environment after the last stage.
 */
export function interpret(p: Program, env: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  return engine.noGrad(() => {
    const out = new Map(env);
    const get = (name: string, who: string): Tensor => {
      const t = out.get(name);
      if (!t)
        throw new GraphError(`interpret: ${who} reads '${name}', which no input or earlier stage provides.`);
      return t;
    };
    for (const stage of p.stages) {
      if (stage.kind === 'block') {
        const feeds: Record<string, Tensor> = {};
        for (const s of sourcesOf(stage.graph)) feeds[s.name] = get(s.name, 'a block');
        const values = execute(stage.graph, feeds, feeds);
        stage.outputs.forEach((name, i) => {
          out.set(name, values[i]!);
        });
        continue;
      }
      runLoop(stage, p.steps, get, out);
    }
    return out;
  });
}

function runLoop(
  loop: Loop,
  steps: number,
  get: (name: string, who: string) => Tensor,
  out: Map<string, Tensor>,
): void {
  const carry = new Map<string, Tensor>();
  for (const c of loop.carries) carry.set(c.name, get(c.init, 'a loop'));
  const stacks = loop.outputs.map(() => [] as Tensor[]);
  const sums: (Tensor | null)[] = loop.outputs.map(() => null);
  const sources = sourcesOf(loop.body);
  for (let k = 0; k < steps; k++) {
    const t = loop.reverse ? steps - 1 - k : k;
    const feeds: Record<string, Tensor> = {};
    for (const s of sources) {
      const src = bodySource(s);
      if (src.kind === 'carry') {
        const v = carry.get(src.name);
        if (!v)
          throw new GraphError(
            `interpret: the loop body reads carry '${src.name}', which the loop does not carry.`,
          );
        feeds[s.name] = v;
      } else if (src.kind === 'step') {
        const whole = get(src.name, 'a loop');
        feeds[s.name] = reshape(slice(whole, [t], [t + 1]), whole.shape.slice(1));
      } else {
        feeds[s.name] = get(src.name, 'a loop');
      }
    }
    const values = execute(loop.body, feeds, feeds);
    loop.outputs.forEach((o, i) => {
      const v = values[i]!;
      if (o.kind === 'carry') carry.set(o.name, v);
      else if (o.kind === 'stack') stacks[i]![t] = v;
      else sums[i] = sums[i] ? add(sums[i]!, v) : v;
    });
  }
  for (const c of loop.carries) out.set(c.final, carry.get(c.name)!);
  loop.outputs.forEach((o, i) => {
    if (o.kind === 'stack') {
      out.set(
        o.name,
        concat(
          stacks[i]!.map((v) => reshape(v, [1, ...v.shape])),
          0,
        ),
      );
    } else if (o.kind === 'sum') {
      out.set(o.name, sums[i]!);
    }
  });
}

/** A readable listing of every stage of a program. */
export function printProgram(p: Program, print: (g: Graph) => string): string {
  return p.stages
    .map((s, i) => {
      if (s.kind === 'block') return `# stage ${i}: block -> ${s.outputs.join(', ')}\n${print(s.graph)}`;
      const outs = s.outputs.map((o) => `${o.kind} ${o.name}`).join(', ');
      return `# stage ${i}: loop over ${p.steps} steps${s.reverse ? ' (reverse)' : ''} -> ${outs}\n${print(s.body)}`;
    })
    .join('\n\n');
}
