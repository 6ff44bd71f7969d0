import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BENCH_OPTIONS, benchOptionsFrom, parseShape } from '../src/args.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [cli, ...args]).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('command-line options', () => {
  it('turns option values into runBench options', () => {
    expect(
      benchOptionsFrom({
        workload: 'W2, W3',
        system: 'recur-js,tfjs-wasm',
        threads: '1,2',
        reps: '5',
        slowReps: '2',
        slowMs: '500',
        warmup: '0',
        seed: '7',
        shape: 'B=2,T=3',
        isolation: 'settle',
        settleMs: '50',
      }),
    ).toEqual({
      workloads: ['W2', 'W3'],
      systems: ['recur-js', 'tfjs-wasm'],
      threads: [1, 2],
      reps: 5,
      slowReps: 2,
      slowMs: 500,
      warmup: 0,
      seed: 7,
      settleMs: 50,
      isolation: 'settle',
      shape: { B: 2, T: 3 },
    });
  });

  it('refuses bad values with one line saying what was expected', () => {
    expect(() => benchOptionsFrom({ reps: 'ten' })).toThrow(
      "bench: expected --reps to be an integer, found 'ten'.",
    );
    expect(() => benchOptionsFrom({ threads: '1,x' })).toThrow(/--threads to be an integer, found 'x'/);
    expect(() => benchOptionsFrom({ isolation: 'hope' })).toThrow(
      "bench: expected --isolation freeze or settle, found 'hope'.",
    );
    expect(() => parseShape('B=0')).toThrow(/expected --shape as B=n,T=n,D=n,H=n/);
    expect(() => parseShape('X=3')).toThrow(/found 'X=3'/);
    expect(parseShape('H=8, D=4')).toEqual({ H: 8, D: 4 });
  });

  it('pnpm bench --help lists every option; an unknown option is one line and exit code 1', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const o of BENCH_OPTIONS) expect(help.stdout).toContain(`--${o.name}`);
    const bad = await run(['--bogus']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe("bench: Unknown option '--bogus' (see --help for the options).");
  });

  it('recur bench (apps/cli) declares the same options, with the same descriptions', async () => {
    // Its source, outside this package (so not a static import, which the type check would follow).
    const cli = new URL('../../../apps/cli/src/bench.ts', import.meta.url).href;
    const { BENCH_FLAGS } = (await import(cli)) as { BENCH_FLAGS: readonly (readonly [string, string])[] };
    expect(BENCH_FLAGS.map(([flags, description]) => [flags, description])).toEqual(
      BENCH_OPTIONS.map((o) => [`--${o.name}${o.value ? ` <${o.value}>` : ''}`, o.description]),
    );
  });
});
