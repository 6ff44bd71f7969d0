import { main } from '../src/index.js';

/** Runs `recur ...args` in process, collecting stdout and stderr lines. */
export async function run(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    ['node', 'recur', ...args],
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, out, err };
}
