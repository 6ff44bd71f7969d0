import type { Command } from 'commander';
import type { BackendName } from './backends.js';
import { CHARLM_SPECS, evalCharLm, sampleCommand, sampleSpecs, trainCharLm } from './charlm.js';
import { kindOf } from './model-dir.js';
import { classify, evalNames, NAMES_SPECS, trainNames } from './names.js';
import { addOptions, bool, int, type OptionSpec, oneOf, resolveOptions, str } from './options.js';
import type { Io } from './progress.js';
import type { Hooks } from './run-training.js';
import { evalSeries, predictCommand, SERIES_SPECS, trainSeries } from './series.js';

const BACKEND: OptionSpec = {
  key: 'backend',
  flag: '--backend <name>',
  kind: oneOf('js', 'wasm', 'webgpu'),
  help: 'compute backend',
  default: 'js',
};
const JSON_FLAG: OptionSpec = { key: 'json', flag: '--json', kind: bool, help: 'print JSON' };
const MODEL = (what: string): OptionSpec => ({
  key: 'model',
  flag: '--model <dir>',
  kind: str,
  help: `a model directory from ${what}`,
  required: true,
});

/** Adds `recur train names|charlm|series`, `classify`, `sample`, `predict` and `eval`. */
export function registerModelCommands(program: Command, io: Io, hooks: Hooks): void {
  const train = program
    .command('train')
    .description('train a model: names (a classifier), charlm (a language model), series (a forecaster)');

  const names = train
    .command('names')
    .description('classify surnames by language: characters → GRU/LSTM/RNN → its final state → languages');
  addOptions(names, NAMES_SPECS).action(async (_o, cmd: Command) => trainNames(cmd, io, hooks));

  const charlm = train
    .command('charlm')
    .description(
      'a character-level language model, trained with truncated BPTT (state carried across chunks)',
    );
  addOptions(charlm, CHARLM_SPECS).action(async (_o, cmd: Command) => trainCharLm(cmd, io, hooks));

  const series = train
    .command('series')
    .description('predict the next points of a series (a CSV column, or a generated noisy sine wave)');
  addOptions(series, SERIES_SPECS).action(async (_o, cmd: Command) => trainSeries(cmd, io, hooks));

  const classifySpecs: OptionSpec[] = [
    MODEL('recur train names'),
    { key: 'topK', flag: '--top-k <k>', kind: int(1), help: 'languages to show per name', default: 3 },
    { ...JSON_FLAG, help: 'one JSON line per name' },
    BACKEND,
  ];
  const cls = program
    .command('classify')
    .description('the most likely languages of surnames, with probabilities')
    .argument('<name...>', 'surnames');
  addOptions(cls, classifySpecs).action(async (list: string[], _o, cmd: Command) => {
    await classify(list, resolveOptions(cmd, classifySpecs), io);
  });

  const sampleOpts: OptionSpec[] = [...sampleSpecs(), BACKEND];
  const sample = program.command('sample').description('generate text with a character-level language model');
  addOptions(sample, sampleOpts).action(async (_o, cmd: Command) => {
    await sampleCommand(resolveOptions(cmd, sampleOpts), io);
  });

  const predictSpecs: OptionSpec[] = [
    MODEL('recur train series'),
    {
      key: 'values',
      flag: '--values <list>',
      kind: str,
      help: 'the series, comma-separated (default: the one it was trained on)',
    },
    { key: 'csv', flag: '--csv <file>', kind: str, help: 'read the series from a CSV file' },
    { key: 'column', flag: '--column <name>', kind: str, help: 'the CSV column (default: as in training)' },
    { key: 'steps', flag: '--steps <n>', kind: int(1), help: 'points to predict (default: the horizon)' },
    JSON_FLAG,
    BACKEND,
  ];
  const predict = program.command('predict').description('predict the points that follow a series');
  addOptions(predict, predictSpecs).action(async (_o, cmd: Command) => {
    await predictCommand(resolveOptions(cmd, predictSpecs), io);
  });

  const evalSpecs: OptionSpec[] = [
    MODEL('recur train'),
    {
      key: 'data',
      flag: '--data <path>',
      kind: str,
      help: 'names: a folder of <language>.txt; charlm: a text file; series: a CSV file (default: the held-out test data)',
    },
    {
      key: 'column',
      flag: '--column <name>',
      kind: str,
      help: 'series: the CSV column (default: as in training)',
    },
    JSON_FLAG,
    BACKEND,
  ];
  const ev = program
    .command('eval')
    .description('evaluate a trained model on its held-out test data, or on other data');
  addOptions(ev, evalSpecs).action(async (_o, cmd: Command) => {
    const o = resolveOptions<{
      model: string;
      data?: string;
      column?: string;
      json?: boolean;
      backend: BackendName;
    }>(cmd, evalSpecs);
    const { kind, files } = await kindOf(o.model, 'eval');
    if (kind === 'names') await evalNames(files, o, io);
    else if (kind === 'charlm') await evalCharLm(files, o, io);
    else await evalSeries(files, o, io);
  });
}
