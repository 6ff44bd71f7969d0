import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BENCH_FLAGS, loadBench } from '../src/bench.js';
import { CliError } from '../src/errors.js';
import { run } from './run.js';

/** `recur bench` loads the repository's tooling/bench: the tests that run it need it built. */
const built = existsSync(fileURLToPath(new URL('../../../tooling/bench/dist/index.js', import.meta.url)));

describe('recur bench', () => {
  it('--help lists every option of pnpm bench', async () => {
    const r = await run('bench', '--help');
    expect(r.code).toBe(0);
    const help = r.out.join('\n');
    for (const [flags] of BENCH_FLAGS) expect(help).toContain(flags);
    expect((await run('--help')).out.join('\n')).toMatch(/\n\s+bench \[options\]\s+benchmark the backends/);
  });

  it('refuses an unknown option in one line, with exit code 1', async () => {
    const r = await run('bench', '--bogus');
    expect(r.code).toBe(1);
    expect(r.err).toEqual(["error: unknown option '--bogus'"]);
  });

  it('says in one line where the suite was looked for when it is not there', async () => {
    const e = await loadBench('@recur/no-such-bench', '/nonexistent/tooling/bench/dist/index.js').catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(CliError);
    expect((e as Error).message).toBe(
      'bench: expected the benchmark suite @recur/no-such-bench (installed, or built at /nonexistent/tooling/bench/dist/index.js), found none. It lives in the Recur repository: run pnpm bench there, or build it with pnpm --filter @recur/bench... build.',
    );
  });

  it.skipIf(!built)('passes bad values to the suite, which refuses them in one line', async () => {
    const r = await run('bench', '--workload', 'W2', '--reps', 'ten');
    expect(r.code).toBe(1);
    expect(r.err).toEqual(["recur: bench: expected --reps to be an integer, found 'ten'."]);
  });

  it.skipIf(!built)('runs a smoke-sized workload on recur-js and prints the JSON report', async () => {
    const r = await run(
      'bench',
      '--workload',
      'W2',
      '--system',
      'recur-js',
      '--shape',
      'B=2,T=3,D=3,H=4',
      '--reps',
      '2',
      '--json',
    );
    expect(r.err.filter((l) => l.startsWith('recur:'))).toEqual([]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out.join('\n')) as {
      rows: { workload: string; system: string; reps: number; medianMs: number }[];
      options: { shape: unknown; isolation: string };
    };
    expect(report.rows.map((x) => `${x.workload} ${x.system} ${x.reps}`)).toEqual(['W2 recur-js 2']);
    expect(report.rows[0]!.medianMs).toBeGreaterThan(0);
    expect(report.options.shape).toEqual({ B: 2, T: 3, D: 3, H: 4 });
    expect(r.err.some((l) => l.includes('W2: LSTM forward, B=2 T=3 D=3 H=4'))).toBe(true);
  });
});
