import { main } from '../src/index.js';
import type { Hooks } from '../src/run-training.js';

/** Runs `recur ...args` in process, collecting stdout and stderr lines. */
export async function run(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  return runWith({}, ...args);
}

/** Like `run`, with hooks (an abort signal standing in for Ctrl-C, a per-step callback). */
export async function runWith(
  hooks: Hooks,
  ...args: string[]
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    ['node', 'recur', ...args],
    (s) => out.push(s),
    (s) => err.push(s),
    hooks,
  );
  return { code, out, err };
}

/** The JSON lines of a run's output. */
export function jsonLines(lines: readonly string[]): Record<string, unknown>[] {
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}
