import { rename, writeFile } from 'node:fs/promises';
import { ISOLATIONS, type Isolation } from './isolation.js';
import { formatReport } from './report.js';
import { type BenchOptions, runBench } from './run.js';
import { SYSTEMS } from './systems/index.js';
import type { Shape } from './workloads.js';

/**
 * The command-line options of the bench, shared by `pnpm bench` (`src/cli.ts`) and `recur bench`
 * (apps/cli), which declares the same names: one list, so that they cannot drift apart.
 */
export interface BenchOptionInfo {
  /** The long option name, without dashes. */
  readonly name: string;
  /** Placeholder of its value; absent for a flag. */
  readonly value?: string;
  readonly description: string;
}

export const BENCH_OPTIONS: readonly BenchOptionInfo[] = [
  {
    name: 'workload',
    value: 'list',
    description: 'workloads: W1,W2,W3,W4,W6,W8 (default W1,W2,W3,W4)',
  },
  {
    name: 'system',
    value: 'list',
    description: `systems: ${SYSTEMS.map((s) => s.id).join(',')} (default all but the opt-in ${SYSTEMS.filter(
      (s) => s.optIn,
    )
      .map((s) => s.id)
      .join(', ')})`,
  },
  {
    name: 'threads',
    value: 'list',
    description: 'thread counts for systems that have several (default 1,2)',
  },
  { name: 'reps', value: 'n', description: 'timed repetitions per system (default 10)' },
  { name: 'slow-reps', value: 'n', description: 'repetitions of a slow system (default 3)' },
  {
    name: 'slow-ms',
    value: 'ms',
    description: 'a system whose check or warm-up run takes longer is slow (default 1000)',
  },
  { name: 'warmup', value: 'n', description: 'untimed runs after the check run (default 1)' },
  { name: 'seed', value: 'n', description: 'seed of the weights and inputs (default 1)' },
  {
    name: 'shape',
    value: 'B=n,T=n,D=n,H=n',
    description: 'override the workloads’ shapes (smoke runs; the figures are then not the workloads’)',
  },
  {
    name: 'isolation',
    value: 'mode',
    description: `freeze (stop the other systems' processes during a turn; POSIX default) or settle (wait after each turn)`,
  },
  { name: 'settle-ms', value: 'ms', description: 'settle: the wait after each turn (default 150)' },
  { name: 'json', description: 'print one JSON document instead of the table' },
  { name: 'out', value: 'file', description: 'also write the JSON report to this file (atomically)' },
];

/** The option values as strings (flags as booleans), keyed by camelCase name (`slowReps`), as parsed. */
export type BenchArgValues = Readonly<Record<string, string | boolean | undefined>>;

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

const list = (v: string | undefined) =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n))
    throw new Error(`bench: expected --${name} to be an integer, found '${v}'.`);
  return n;
}

/** `B=2,T=3` → `{ B: 2, T: 3 }`. */
export function parseShape(v: string): Partial<Shape> {
  const shape: Record<string, number> = {};
  for (const part of v.split(',')) {
    const m = /^\s*([BTDH])\s*=\s*(\d+)\s*$/.exec(part);
    if (!m || Number(m[2]) < 1) {
      throw new Error(
        `bench: expected --shape as B=n,T=n,D=n,H=n (any of them, positive integers), found '${v}'.`,
      );
    }
    shape[m[1]!] = Number(m[2]);
  }
  return shape as Partial<Shape>;
}

/** Turns the parsed option values into `runBench` options (throws a one-line error on a bad value). */
export function benchOptionsFrom(values: BenchArgValues): BenchOptions {
  const str = (name: string): string | undefined => {
    const v = values[camel(name)];
    return typeof v === 'string' ? v : undefined;
  };
  const isolation = str('isolation');
  if (isolation !== undefined && !ISOLATIONS.includes(isolation as Isolation)) {
    throw new Error(`bench: expected --isolation ${ISOLATIONS.join(' or ')}, found '${isolation}'.`);
  }
  const shape = str('shape');
  const opts: BenchOptions = {
    workloads: list(str('workload')),
    systems: list(str('system')),
    threads: list(str('threads'))?.map((t) => int('threads', t)!),
    reps: int('reps', str('reps')),
    slowReps: int('slow-reps', str('slow-reps')),
    slowMs: int('slow-ms', str('slow-ms')),
    warmup: int('warmup', str('warmup')),
    seed: int('seed', str('seed')),
    settleMs: int('settle-ms', str('settle-ms')),
    ...(isolation ? { isolation: isolation as Isolation } : {}),
    ...(shape !== undefined ? { shape: parseShape(shape) } : {}),
  };
  return opts;
}

export interface BenchIo {
  /** The report (stdout). */
  readonly out: (text: string) => void;
  /** Progress lines (stderr). */
  readonly err: (line: string) => void;
}

/**
 * Runs the bench from parsed option values: progress to `err`, the report (the table, or with
 * `json` the JSON document) to `out`, and with `out` the JSON to that file too.
 */
export async function runBenchFromArgs(values: BenchArgValues, io: BenchIo): Promise<void> {
  const report = await runBench({ ...benchOptionsFrom(values), log: io.err });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const file = values.out;
  if (typeof file === 'string') {
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, json);
    await rename(tmp, file);
  }
  io.out(values.json ? json : `\n${formatReport(report)}\n`);
}
