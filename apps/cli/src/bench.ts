import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { CliError } from './errors.js';
import type { Io } from './progress.js';

/**
 * `recur bench`: the benchmark suite of the repository (`@recur/bench`, private, with TensorFlow.js
 * and ONNX Runtime as dependencies), loaded only when the command runs. The options are those of
 * `pnpm bench` (`BENCH_OPTIONS` in tooling/bench/src/args.ts; a test there checks that this list
 * names the same ones), declared here so that `--help` works without the suite.
 */
export const BENCH_FLAGS: readonly (readonly [flags: string, description: string])[] = [
  ['--workload <list>', 'workloads: W1,W2,W3,W4,W6,W8 (default W1,W2,W3,W4)'],
  [
    '--system <list>',
    'systems: recur-js,recur-wasm,recur-webgpu,tfjs-cpu,tfjs-wasm,onnxruntime-node,onnxruntime-web,pytorch,pytorch-cpu (default all but the opt-in recur-webgpu, pytorch, pytorch-cpu)',
  ],
  ['--threads <list>', 'thread counts for systems that have several (default 1,2)'],
  ['--reps <n>', 'timed repetitions per system (default 10)'],
  ['--slow-reps <n>', 'repetitions of a slow system (default 3)'],
  ['--slow-ms <ms>', 'a system whose check or warm-up run takes longer is slow (default 1000)'],
  ['--warmup <n>', 'untimed runs after the check run (default 1)'],
  ['--seed <n>', 'seed of the weights and inputs (default 1)'],
  [
    '--shape <B=n,T=n,D=n,H=n>',
    'override the workloads’ shapes (smoke runs; the figures are then not the workloads’)',
  ],
  [
    '--isolation <mode>',
    "freeze (stop the other systems' processes during a turn; POSIX default) or settle (wait after each turn)",
  ],
  ['--settle-ms <ms>', 'settle: the wait after each turn (default 150)'],
  ['--json', 'print one JSON document instead of the table'],
  ['--out <file>', 'also write the JSON report to this file (atomically)'],
];

/** What `recur bench` uses of `@recur/bench`. */
export interface BenchModule {
  runBenchFromArgs(
    values: Readonly<Record<string, string | boolean | undefined>>,
    io: { out: (text: string) => void; err: (line: string) => void },
  ): Promise<void>;
}

/**
 * Imports `@recur/bench`: by name where it is installed, else from the repository this CLI is
 * part of (`tooling/bench/dist`), else a one-line error saying how to get it.
 */
export async function loadBench(
  pkg = '@recur/bench',
  local = join(
    dirname(fileURLToPath(import.meta.url)),
    '..',
    '..',
    '..',
    'tooling',
    'bench',
    'dist',
    'index.js',
  ),
): Promise<BenchModule> {
  let mod: Partial<BenchModule> | undefined;
  try {
    mod = (await import(pkg)) as Partial<BenchModule>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
  }
  if (!mod) {
    try {
      mod = (await import(pathToFileURL(local).href)) as Partial<BenchModule>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
      throw new CliError(
        `bench: expected the benchmark suite ${pkg} (installed, or built at ${local}), found none. It lives in the Recur repository: run pnpm bench there, or build it with pnpm --filter @recur/bench... build.`,
      );
    }
  }
  if (typeof mod.runBenchFromArgs !== 'function') {
    throw new CliError(
      `bench: expected ${pkg} to export runBenchFromArgs(), found none; rebuild it with pnpm --filter @recur/bench... build.`,
    );
  }
  return mod as BenchModule;
}

/** Registers `recur bench`. */
export function registerBench(program: Command, io: Io): void {
  const cmd = program
    .command('bench')
    .description(
      'benchmark the backends against TensorFlow.js, ONNX Runtime and PyTorch: every system checked against ours, then timed in turns (needs the repository’s tooling/bench)',
    );
  for (const [flags, description] of BENCH_FLAGS) cmd.option(flags, description);
  cmd.action(async (values: Record<string, string | boolean | undefined>) => {
    const bench = await loadBench();
    await bench.runBenchFromArgs(values, {
      // io.out ends each piece with a newline of its own.
      out: (text) => io.out(text.replace(/\n$/, '')),
      err: io.err,
    });
  });
}
