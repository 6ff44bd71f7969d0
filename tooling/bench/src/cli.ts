#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { BENCH_OPTIONS, type BenchArgValues, runBenchFromArgs } from './args.js';

/** `pnpm bench`: the same options as `recur bench` (see `BENCH_OPTIONS`). */
export const USAGE = [
  'Usage: pnpm bench [options]',
  '',
  'Options:',
  ...BENCH_OPTIONS.map(
    (o) => `${`  --${o.name}${o.value ? ` <${o.value}>` : ''}`.padEnd(34)}${o.description}`,
  ),
  `${'  -h, --help'.padEnd(34)}this help`,
].join('\n');

async function main(): Promise<void> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const o of BENCH_OPTIONS) options[o.name] = { type: o.value ? 'string' : 'boolean' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ options, strict: true }) as { values: typeof values });
  } catch (e) {
    throw new Error(`bench: ${(e as Error).message} (see --help for the options).`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const camel: Record<string, string | boolean | undefined> = {};
  for (const [k, v] of Object.entries(values))
    camel[k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  await runBenchFromArgs(camel as BenchArgValues, {
    out: (s) => process.stdout.write(s),
    err: (l) => process.stderr.write(`${l}\n`),
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
