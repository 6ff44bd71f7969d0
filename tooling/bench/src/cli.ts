#!/usr/bin/env node
import { rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatReport } from './report.js';
import { runBench } from './run.js';

const USAGE = `Usage: pnpm bench [--workload W1,W2,W3,W4,W6,W8] [--system recur-js,tfjs-cpu,...] [--threads 1,2]
                  [--reps N] [--slow-reps N] [--slow-ms MS] [--warmup N] [--seed N] [--json] [--out FILE]`;

const list = (v: string | undefined) =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
const int = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n))
    throw new Error(`bench: expected --${name} to be an integer, found '${v}'.\n${USAGE}`);
  return n;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workload: { type: 'string' },
      system: { type: 'string' },
      threads: { type: 'string' },
      reps: { type: 'string' },
      'slow-reps': { type: 'string' },
      'slow-ms': { type: 'string' },
      warmup: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const threads = list(values.threads)?.map((t) => int('threads', t)!);
  const report = await runBench({
    workloads: list(values.workload),
    systems: list(values.system),
    threads,
    reps: int('reps', values.reps),
    slowReps: int('slow-reps', values['slow-reps']),
    slowMs: int('slow-ms', values['slow-ms']),
    warmup: int('warmup', values.warmup),
    seed: int('seed', values.seed),
  });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (values.out) {
    const tmp = `${values.out}.${process.pid}.tmp`;
    await writeFile(tmp, json);
    await rename(tmp, values.out);
  }
  process.stdout.write(values.json ? json : `\n${formatReport(report)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
