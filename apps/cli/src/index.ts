import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { intArg } from './args.js';
import { registerBench } from './bench.js';
import { releaseBackends } from './common.js';
import { runDemo } from './demo.js';
import { CliError, Interrupted } from './errors.js';
import { type CellKind, graphCommand } from './graph.js';
import { formatInfo, info } from './info.js';
import type { Io } from './progress.js';
import { registerModelCommands } from './register.js';
import type { Hooks } from './run-training.js';
import { registerW2v } from './w2v.js';

export { type DemoOptions, type DemoResult, runDemo } from './demo.js';

function numArg(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`expected a positive number for ${name}, found '${value}'.`);
    return n;
  };
}

function cellArg(value: string): CellKind {
  if (value === 'lstm' || value === 'gru' || value === 'rnn') return value;
  throw new InvalidArgumentError(`expected lstm, gru or rnn for --cell, found '${value}'.`);
}

function formatArg(value: string): string {
  if (value === 'text' || value === 'dot' || value === 'mermaid') return value;
  throw new InvalidArgumentError(`expected text, dot or mermaid for --format, found '${value}'.`);
}

/** Runs the CLI; returns the exit code. Errors print one line, with the stack only under --verbose. */
export async function main(
  argv: string[],
  out?: (s: string) => void,
  err?: (s: string) => void,
  hooks: Hooks = {},
): Promise<number> {
  const io: Io = {
    out: out ?? ((s) => process.stdout.write(`${s}\n`)),
    err: err ?? ((s) => process.stderr.write(`${s}\n`)),
    // A live status line only on a terminal, and only when stderr is ours.
    ...(err === undefined && process.stderr.isTTY
      ? { status: (s: string) => void process.stderr.write(`\r${s}\x1b[K`) }
      : {}),
  };
  return run(argv, io, hooks);
}

async function run(argv: string[], io: Io, hooks: Hooks): Promise<number> {
  const { out, err } = io;
  const program = new Command()
    .name('recur')
    .description('Recurrent neural networks for JavaScript: train, inspect and run models.')
    .option('--verbose', 'print stack traces on errors')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) });

  program
    .command('demo')
    .description('train a tiny character-level Elman RNN with the tensor API and print its falling loss')
    .option('--steps <n>', 'training steps', intArg('--steps', 1), 300)
    .option('--hidden <n>', 'hidden units', intArg('--hidden', 1), 64)
    .option('--seq-len <n>', 'BPTT length', intArg('--seq-len', 1), 25)
    .option('--batch <n>', 'sequences per step', intArg('--batch', 1), 16)
    .option('--lr <x>', 'Adam learning rate', numArg('--lr'), 0.01)
    .option('--chars <n>', 'characters of text to learn', intArg('--chars', 30), 4000)
    .option('--text <file>', 'a text file to learn instead of the bundled tinyshakespeare')
    .option('--seed <n>', 'random seed', intArg('--seed', 0), 1)
    .action((o) => {
      const { losses } = runDemo({ ...o, textFile: o.text, log: out });
      const head = mean(losses.slice(0, 10));
      const tail = mean(losses.slice(-10));
      out(`loss fell from ${head.toFixed(3)} to ${tail.toFixed(3)} (mean of the first and last 10 steps)`);
    });

  program
    .command('info')
    .description('version and the backends available here')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const i = await info();
      if (o.json) out(JSON.stringify(i));
      else for (const line of formatInfo(i)) out(line);
    });

  program
    .command('graph')
    .description('compile a recurrent layer and print its graph before and after optimisation')
    .option('--cell <kind>', 'lstm, gru or rnn', cellArg, 'lstm' as CellKind)
    .option('--input <n>', 'input features', intArg('--input', 1), 128)
    .option('--hidden <n>', 'hidden units', intArg('--hidden', 1), 256)
    .option('--batch <n>', 'batch size', intArg('--batch', 1), 32)
    .option('--steps <n>', 'time steps', intArg('--steps', 1), 64)
    .option('--layers <n>', 'stacked layers', intArg('--layers', 1), 1)
    .option('--train', 'also compile the backward pass', false)
    .option('--json', 'print one JSON object with the statistics')
    .option('--format <f>', 'text, dot or mermaid (pictures of the optimised step bodies)', formatArg, 'text')
    .action((o) => {
      const format = o.json ? 'json' : (o.format as 'text' | 'dot' | 'mermaid');
      out(graphCommand(o, format));
    });

  registerW2v(program, out, err);
  registerModelCommands(program, io, hooks);
  registerBench(program, io);

  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof Interrupted) {
      err(`recur: ${e.message}; continue with: recur train ${e.kind} --resume ${e.checkpoint}`);
      return 130;
    }
    const verbose = argv.includes('--verbose');
    if (verbose) err(`recur: ${(e as Error).stack ?? String(e)}`);
    else err(`recur: ${oneLine(e)}`);
    return 1;
  } finally {
    releaseBackends();
  }
}

/** An error's message on one line (library messages may wrap). */
function oneLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return e instanceof CliError ? message : message.replace(/\s*\n\s*/g, ' ').trim();
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}
