import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readSafetensors } from '@recur/cells';
import { type Batchified, batchify, bpttChunkCount, CharVocab, Vocab } from '@recur/data';
import { readTextFile } from '@recur/data/node';
import { fromData, keep, noGrad, Rng, reshape, slice, type Tensor, tidy } from '@recur/tensor';
import {
  Adam,
  type CheckpointFiles,
  crossEntropyLoss,
  decodeTensor,
  type EncodedTensor,
  type EpochLogs,
  encodeTensorAsync,
  restoreCheckpoint,
  Trainer,
} from '@recur/train';
import type { Command } from 'commander';
import type { BackendName } from './backends.js';
import { activateBackend, bundled, savedOptions, trainingOptions } from './common.js';
import { CliError, Interrupted } from './errors.js';
import { type BaseConfig, checkOutDir, readModelDir, saveModelDir } from './model-dir.js';
import { type CellKind, CharLm, type CharLmConfig, type LmState } from './models.js';
import { bool, COMMON_TRAIN, int, nonNegative, type OptionSpec, oneOf, positive, str } from './options.js';
import { formatDuration, type Io } from './progress.js';
import { type Hooks, TrainingLoop } from './run-training.js';

export interface CharLmOptions {
  text?: string;
  cell: CellKind;
  hidden: number;
  layers: number;
  embedding: number;
  seqLen: number;
  batch: number;
  lr: number;
  clip: number;
  epochs?: number;
  minutes?: number;
  valid: number;
  evalEvery: number;
  dropout: number;
  eager?: boolean;
  backend: BackendName;
  seed: number;
  out: string;
  json?: boolean;
}

export const CHARLM_SPECS: readonly OptionSpec[] = [
  {
    key: 'text',
    flag: '--text <file>',
    kind: str,
    help: 'a UTF-8 text file (default: the bundled tinyshakespeare)',
  },
  {
    key: 'cell',
    flag: '--cell <kind>',
    kind: oneOf('rnn', 'lstm', 'gru'),
    help: 'recurrent cell',
    default: 'lstm',
  },
  { key: 'hidden', flag: '--hidden <n>', kind: int(1), help: 'hidden units', default: 256 },
  { key: 'layers', flag: '--layers <n>', kind: int(1), help: 'stacked recurrent layers', default: 1 },
  {
    key: 'embedding',
    flag: '--embedding <n>',
    kind: int(0),
    help: 'character embedding size, 0 for one-hot',
    default: 64,
  },
  {
    key: 'seqLen',
    flag: '--seq-len <n>',
    kind: int(1),
    help: 'steps per chunk of truncated BPTT',
    default: 64,
  },
  { key: 'batch', flag: '--batch <n>', kind: int(1), help: 'parallel streams of text', default: 32 },
  { key: 'lr', flag: '--lr <x>', kind: positive, help: 'Adam learning rate', default: 0.003 },
  {
    key: 'clip',
    flag: '--clip <x>',
    kind: positive,
    help: 'clip the gradients to this global norm',
    default: 5,
  },
  {
    key: 'epochs',
    flag: '--epochs <n>',
    kind: int(1),
    help: 'passes over the text (default 1, or as many as --minutes allows)',
  },
  { key: 'minutes', flag: '--minutes <m>', kind: positive, help: 'stop after this many minutes of training' },
  {
    key: 'valid',
    flag: '--valid <fraction>',
    kind: positive,
    help: 'held-out tail of the text for validation',
    default: 0.1,
  },
  {
    key: 'evalEvery',
    flag: '--eval-every <steps>',
    kind: int(0),
    help: 'validate every this many steps (0: at epoch ends only)',
    default: 0,
  },
  {
    key: 'dropout',
    flag: '--dropout <p>',
    kind: nonNegative,
    help: 'dropout between stacked layers',
    default: 0,
  },
  {
    key: 'eager',
    flag: '--eager',
    kind: bool,
    help: 'run the recurrent layers op by op instead of as programs compiled by the graph compiler',
  },
  ...COMMON_TRAIN.map((s) => (s.key === 'out' ? { ...s, default: 'charlm-model' } : s)),
];

export interface CharLmModelConfig extends BaseConfig, CharLmConfig {
  readonly kind: 'charlm';
}

interface CharLmExtra {
  readonly options: CharLmOptions;
  readonly textPath: string;
  readonly chars: { readonly train: number; readonly valid: number };
  readonly seconds: number;
  readonly complete: boolean;
  readonly validLoss?: number;
  /** The state carried into the next chunk when the run was saved mid-epoch. */
  readonly carried?: { readonly h: EncodedTensor; readonly c?: EncodedTensor } | null;
}

/** One chunk of every stream: its index in the pass over the text. */
interface Chunk {
  readonly k: number;
}

/** Splits a text into a training head and a held-out tail of `fraction` of it. */
export function splitTail(text: string, fraction: number): { train: string; valid: string } {
  let cut = Math.round(text.length * (1 - fraction));
  const code = text.charCodeAt(cut);
  if (code >= 0xdc00 && code <= 0xdfff) cut++; // never split a surrogate pair
  return { train: text.slice(0, cut), valid: text.slice(cut) };
}

/** Inputs and targets `[B, T]` of chunk k: tokens k·T .. k·T+T-1 of each stream, and the next ones. */
function chunkTensors(bf: Batchified, k: number, seqLen: number): { inputs: Tensor; targets: Tensor } {
  const B = bf.batchSize;
  const L = bf.streamLength;
  const off = k * seqLen;
  const T = Math.min(seqLen, L - 1 - off);
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    x.set(bf.data.subarray(b * L + off, b * L + off + T), b * T);
    y.set(bf.data.subarray(b * L + off + 1, b * L + off + T + 1), b * T);
  }
  return {
    inputs: fromData(x, [B, T], { dtype: 'i32' }),
    targets: fromData(y, [B, T], { dtype: 'i32' }),
  };
}

function keepState(s: LmState): LmState {
  return { h: keep(s.h.detach()), ...(s.c ? { c: keep(s.c.detach()) } : {}) };
}

function disposeState(s: LmState | null): void {
  if (!s) return;
  s.h.dispose();
  s.c?.dispose();
}

/**
 * Mean cross-entropy (nats per character) of the model over batchified text, state carried chunk
 * to chunk. The chunks' losses are queued and read together at the end, so a GPU backend waits once.
 */
async function textLoss(model: CharLm, bf: Batchified, seqLen: number): Promise<number> {
  let state: LmState | null = null;
  const losses: { value: Promise<ArrayLike<number>>; n: number }[] = [];
  model.eval();
  try {
    const chunks = bpttChunkCount(bf.streamLength, seqLen);
    for (let k = 0; k < chunks; k++) {
      const r = noGrad(() =>
        tidy(() => {
          const { inputs, targets } = chunkTensors(bf, k, seqLen);
          const out = model.forward(inputs, state ?? undefined);
          const [B, T, V] = out.logits.shape as [number, number, number];
          const loss = crossEntropyLoss(reshape(out.logits, [B * T, V]), reshape(targets, [B * T]));
          // The read is queued now; the scope may free the loss before it completes.
          return { loss: loss.data(), n: B * T, state: keepState(out.state) };
        }),
      );
      disposeState(state);
      state = r.state;
      losses.push({ value: r.loss, n: r.n });
    }
  } finally {
    disposeState(state);
    model.train();
  }
  let sum = 0;
  let count = 0;
  for (const l of losses) {
    sum += (await l.value)[0]! * l.n;
    count += l.n;
  }
  return sum / count;
}

/** Streams for evaluation: as many as the text allows, up to `batch`. */
function evalStreams(ids: Int32Array, batch: number, seqLen: number, what: string): Batchified {
  const streams = Math.max(1, Math.min(batch, Math.floor(ids.length / (seqLen + 1))));
  if (ids.length < 2 * streams || ids.length < 2) {
    throw new CliError(`expected at least 2 characters of ${what}, found ${ids.length}.`);
  }
  return batchify(ids, streams);
}

async function loadText(path: string, command: string): Promise<string> {
  if (!existsSync(path)) throw new CliError(`${command}: expected a text file at ${path}, found none.`);
  const text = await readTextFile(path);
  if (text.length === 0) throw new CliError(`${command}: expected text in ${path}, found an empty file.`);
  return text;
}

function loadModel(files: CheckpointFiles): { model: CharLm; vocab: Vocab; config: CharLmModelConfig } {
  const config = files.manifest.model.config as CharLmModelConfig;
  const model = new CharLm(config);
  const { tensors } = readSafetensors(files.weights);
  try {
    model.loadStateDict(tensors);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return { model, vocab: Vocab.fromJSON(files.manifest.vocabulary), config };
}

export interface SampleOptions {
  readonly prime: string;
  readonly temperature: number;
  readonly topK: number;
  readonly length: number;
  readonly seed: number;
}

/**
 * Generates text: a blank line and the prime are read into the state, then each next character is drawn from the
 * softmax of the logits / temperature, among the top k, with a seeded generator.
 */
export async function generate(model: CharLm, vocab: Vocab, o: SampleOptions): Promise<string> {
  const rng = new Rng(o.seed);
  const prime = vocab.encode(o.prime);
  if (prime.length === 0) throw new CliError(`sample: expected a non-empty --prime, found '${o.prime}'.`);
  let state: LmState | null = null;
  let out = '';
  model.eval();
  try {
    // Training carries the state from chunk to chunk, so the model seldom sees a zero state; a
    // blank line first (where speeches and paragraphs begin) puts it in a state it knows. Without
    // it, a prime such as 'ROMEO:' read from zeros often starts with a run of nonsense.
    const lead = vocab.has('\n') ? vocab.encode('\n\n') : new Int32Array(0);
    let input = Int32Array.from([...lead, ...prime]);
    for (let i = 0; i < o.length; i++) {
      const r = noGrad(() =>
        tidy(() => {
          const ids = fromData(input, [1, input.length], { dtype: 'i32' });
          const f = model.forward(ids, state ?? undefined);
          const V = f.logits.shape[2]!;
          const last = slice(f.logits, [0, input.length - 1, 0], [1, input.length, V]);
          return { logits: last.data(), state: keepState(f.state) };
        }),
      );
      disposeState(state);
      state = r.state;
      const next = pick(await r.logits, o.temperature, o.topK, rng, vocab);
      out += vocab.decode([next]);
      input = Int32Array.of(next);
    }
  } finally {
    disposeState(state);
    model.train();
  }
  return o.prime + out;
}

/** Draws an index from softmax(logits / temperature) restricted to the k largest (specials excluded). */
function pick(logits: ArrayLike<number>, temperature: number, topK: number, rng: Rng, vocab: Vocab): number {
  const order = Array.from({ length: logits.length }, (_, i) => i)
    .filter((i) => !vocab.isSpecial(i))
    .sort((a, b) => logits[b]! - logits[a]! || a - b)
    .slice(0, Math.max(1, topK));
  const max = logits[order[0]!]!;
  const weights = order.map((i) => Math.exp((logits[i]! - max) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let u = rng.uniform() * total;
  for (let j = 0; j < order.length; j++) {
    u -= weights[j]!;
    if (u < 0) return order[j]!;
  }
  return order[order.length - 1]!;
}

function epochReport(logs: EpochLogs, epochs: number | undefined) {
  const val = logs.val;
  return {
    text:
      `epoch ${logs.epoch + 1}${epochs === undefined ? '' : `/${epochs}`}  loss ${logs.loss.toFixed(3)} nats/char` +
      (val ? `  val loss ${val.loss.toFixed(3)}` : '') +
      `  ${logs.seconds.toFixed(1)}s  ${logs.itemsPerSecond.toFixed(0)} chars/s`,
    json: {
      loss: logs.loss,
      ...(val ? { valLoss: val.loss } : {}),
      seconds: logs.seconds,
      charsPerSecond: logs.itemsPerSecond,
    },
  };
}

/** `recur train charlm`. */
export async function trainCharLm(cmd: Command, io: Io, hooks: Hooks): Promise<void> {
  const t0 = performance.now();
  const { o, resumed } = await trainingOptions<CharLmOptions>(cmd, CHARLM_SPECS, 'charlm', [
    'epochs',
    'minutes',
    'evalEvery',
    'out',
    'json',
    'backend',
  ]);
  if (o.valid >= 1)
    throw new CliError(`train charlm: expected --valid below 1 (a fraction of the text), found ${o.valid}.`);
  checkOutDir(o.out);
  const json = o.json === true;
  const epochs = o.epochs ?? (o.minutes !== undefined ? 1000 : 1);
  const backend = await activateBackend(o.backend);
  const textPath = resolve(o.text ?? bundled('text/tinyshakespeare.txt', '--text FILE'));
  const text = await loadText(textPath, 'train charlm');
  const parts = splitTail(text, o.valid);
  if (parts.valid.length < 2) {
    throw new CliError(
      `train charlm: expected a held-out tail of at least 2 characters, found ${parts.valid.length} (the text has ${text.length}); raise --valid or use a longer text.`,
    );
  }
  const vocab = resumed
    ? Vocab.fromJSON(resumed.manifest.vocabulary)
    : CharVocab.fromTexts([parts.train], { specials: ['unk'], order: 'alphabetical' });
  const trainIds = vocab.encode(parts.train);
  const needed = 2 * o.batch;
  if (trainIds.length < needed) {
    throw new CliError(
      `train charlm: expected at least ${needed} characters of training text for --batch ${o.batch}, found ${trainIds.length}; use a longer text or a smaller --batch.`,
    );
  }
  const train = batchify(trainIds, o.batch);
  const valid = evalStreams(vocab.encode(parts.valid), o.batch, o.seqLen, 'held-out text');
  const perEpoch = bpttChunkCount(train.streamLength, o.seqLen, true);
  const config: CharLmModelConfig = {
    kind: 'charlm',
    version: 1,
    cell: o.cell,
    hidden: o.hidden,
    layers: o.layers,
    embedding: o.embedding,
    vocabSize: vocab.size,
    seed: o.seed,
    dropout: o.dropout,
  };
  const model = new CharLm(config, o.eager !== true);
  const optimizer = new Adam(model, { lr: o.lr });
  const head = {
    text: textPath,
    chars: text.length,
    vocabulary: vocab.size,
    train: parts.train.length,
    valid: parts.valid.length,
    chunksPerEpoch: perEpoch,
  };
  const modelLine = {
    cell: o.cell,
    hidden: o.hidden,
    layers: o.layers,
    embedding: o.embedding,
    parameters: model.numParameters(),
    backend: backend.name,
    compiled: o.eager !== true,
  };
  if (json) {
    io.out(JSON.stringify(head));
    io.out(JSON.stringify(modelLine));
  } else {
    io.out(
      `text: ${textPath}, ${text.length} characters (${vocab.size - 1} distinct); training on the first ${parts.train.length}, validating on the last ${parts.valid.length}`,
    );
    io.out(
      `model: ${o.cell.toUpperCase()} ${o.hidden} × ${o.layers}, ${o.embedding > 0 ? `embedding ${o.embedding}` : 'one-hot input'}, ${modelLine.parameters} parameters; truncated BPTT over ${o.seqLen} steps, ${o.batch} streams; backend ${backend.name}${o.eager ? ', eager' : ', compiled'}${o.minutes !== undefined ? `; ${o.minutes} minutes` : ''}`,
    );
  }

  // The state carried from chunk to chunk while training (and, apart, while validating).
  let carried: LmState | null = null;
  let evalState: LmState | null = null;
  const saved = resumed ? (resumed.manifest.extra as CharLmExtra).carried : null;
  if (saved) {
    carried = {
      h: keep(decodeTensor(saved.h, 'carried state')),
      ...(saved.c ? { c: keep(decodeTensor(saved.c, 'carried state')) } : {}),
    };
  }
  let lastCheck: { step: number; loss: number } | null = null;
  const loop = new TrainingLoop({
    io,
    hooks,
    unit: 'chars',
    epochs,
    showEpochs: o.epochs !== undefined,
    batchesPerEpoch: perEpoch,
    ...(o.minutes !== undefined ? { minutes: o.minutes } : {}),
    reportEpoch: (logs) => epochReport(logs, o.epochs),
    json,
    afterBatch: async (step) => {
      if (o.evalEvery > 0 && step % o.evalEvery === 0) {
        const loss = await textLoss(model, valid, o.seqLen);
        lastCheck = { step, loss };
        const line = json
          ? JSON.stringify({ step, valLoss: loss, seconds: (performance.now() - t0) / 1000 })
          : `step ${step}  val loss ${loss.toFixed(3)} nats/char  (${formatDuration((performance.now() - t0) / 1000)})`;
        loop.print(line);
      }
    },
  });
  const trainer = new Trainer<Chunk>({
    model,
    optimizer,
    step: (b, ctx) => {
      const { inputs, targets } = chunkTensors(ctx.training ? train : valid, b.k, o.seqLen);
      if (b.k === 0) {
        if (ctx.training) {
          disposeState(carried);
          carried = null;
        } else {
          disposeState(evalState);
          evalState = null;
        }
      }
      const out = model.forward(inputs, (ctx.training ? carried : evalState) ?? undefined);
      const next = keepState(out.state);
      if (ctx.training) {
        disposeState(carried);
        carried = next;
      } else {
        disposeState(evalState);
        evalState = next;
      }
      const [B, T, V] = out.logits.shape as [number, number, number];
      return {
        loss: crossEntropyLoss(reshape(out.logits, [B * T, V]), reshape(targets, [B * T])),
        count: B * T,
      };
    },
    trainData: () => Array.from({ length: perEpoch }, (_, k) => ({ k })),
    validData: Array.from({ length: bpttChunkCount(valid.streamLength, o.seqLen) }, (_, k) => ({ k })),
    epochs,
    seed: o.seed,
    clipGradNorm: o.clip,
    callbacks: loop.callbacks,
  });
  if (resumed) restoreCheckpoint(resumed, { model, optimizer, trainer });
  const before = resumed ? (resumed.manifest.extra as CharLmExtra).seconds : 0;
  const extraBase = {
    options: savedOptions(o),
    textPath,
    chars: { train: parts.train.length, valid: parts.valid.length },
  };
  try {
    const r = await loop.run(trainer);
    const seconds = before + (performance.now() - t0) / 1000;
    // Saved whenever training stopped mid-epoch (Ctrl-C or --minutes), so that --resume goes on with it.
    const state = carried as LmState | null;
    const carriedJson =
      state && trainer.stateDict().batchInEpoch > 0
        ? {
            h: await encodeTensorAsync(state.h),
            ...(state.c ? { c: await encodeTensorAsync(state.c) } : {}),
          }
        : null;
    if (r.interrupted) {
      await saveModelDir(o.out, {
        model,
        config,
        vocabulary: vocab.toJSON(),
        extra: { ...extraBase, seconds, complete: false, carried: carriedJson } satisfies CharLmExtra,
        optimizer,
        trainer,
      });
      throw new Interrupted('charlm', o.out);
    }
    const check = lastCheck as { step: number; loss: number } | null;
    const history = r.history.epochs;
    const lastEpoch = history[history.length - 1];
    const steps = trainer.stateDict().step;
    const validLoss =
      check && check.step === steps
        ? check.loss
        : lastEpoch?.val && !r.timeUp
          ? lastEpoch.val.loss
          : await textLoss(model, valid, o.seqLen);
    const charsPerSecond = (steps * o.batch * o.seqLen) / Math.max(1e-9, r.seconds);
    await saveModelDir(o.out, {
      model,
      config,
      vocabulary: vocab.toJSON(),
      extra: {
        ...extraBase,
        seconds,
        complete: true,
        validLoss,
        carried: carriedJson,
      } satisfies CharLmExtra,
      optimizer,
      trainer,
    });
    const sample = await generate(model, vocab, {
      prime: parts.valid.slice(0, 1),
      temperature: 0.8,
      topK: 20,
      length: 200,
      seed: o.seed,
    });
    if (json) {
      io.out(JSON.stringify({ sample }));
      io.out(
        JSON.stringify({
          validLoss,
          perplexity: Math.exp(validLoss),
          steps,
          charsPerSecond,
          seconds,
          model: o.out,
        }),
      );
    } else {
      io.out(
        `validation loss ${validLoss.toFixed(3)} nats/char (perplexity ${Math.exp(validLoss).toFixed(2)}, ${(validLoss / Math.LN2).toFixed(3)} bits/char) after ${steps} steps`,
      );
      io.out(`sample (temperature 0.8, top 20):\n${sample}`);
      io.out(
        `saved the model to ${o.out}; ${formatDuration(seconds)} in all, ${charsPerSecond.toFixed(0)} chars/s`,
      );
    }
  } finally {
    disposeState(carried);
    disposeState(evalState);
    trainer.dispose();
    model.dispose();
  }
}

/** `recur sample`. */
export async function sampleCommand(
  o: SampleOptions & { model: string; backend: BackendName; json?: boolean },
  io: Io,
): Promise<void> {
  const files = await readModelDir(o.model, 'charlm', 'sample');
  await activateBackend(o.backend);
  const { model, vocab } = loadModel(files);
  try {
    const text = await generate(model, vocab, o);
    io.out(o.json ? JSON.stringify({ text }) : text);
  } finally {
    model.dispose();
  }
}

/** `recur eval` of a char-LM: loss per character on a text file, or on the held-out tail of its training text. */
export async function evalCharLm(
  files: CheckpointFiles,
  o: { data?: string; json?: boolean; backend: BackendName },
  io: Io,
): Promise<void> {
  await activateBackend(o.backend);
  const { model, vocab } = loadModel(files);
  try {
    const extra = files.manifest.extra as CharLmExtra;
    let text: string;
    let what: string;
    if (o.data !== undefined) {
      text = await loadText(o.data, 'eval');
      what = o.data;
    } else {
      text = splitTail(await loadText(extra.textPath, 'eval'), extra.options.valid).valid;
      what = `the held-out tail of ${extra.textPath}`;
    }
    const ids = vocab.encode(text);
    const unknown = vocab.unkIndex === undefined ? 0 : ids.filter((i) => i === vocab.unkIndex).length;
    const loss = await textLoss(
      model,
      evalStreams(ids, extra.options.batch, extra.options.seqLen, what),
      extra.options.seqLen,
    );
    if (o.json) {
      io.out(
        JSON.stringify({
          loss,
          perplexity: Math.exp(loss),
          bitsPerChar: loss / Math.LN2,
          chars: ids.length,
          unknown,
          data: what,
        }),
      );
    } else {
      io.out(
        `loss ${loss.toFixed(3)} nats/char (perplexity ${Math.exp(loss).toFixed(2)}, ${(loss / Math.LN2).toFixed(3)} bits/char) on ${ids.length} characters of ${what}${unknown > 0 ? `; ${unknown} unknown to the model` : ''}`,
      );
    }
  } finally {
    model.dispose();
  }
}

export function sampleSpecs(): OptionSpec[] {
  return [
    {
      key: 'model',
      flag: '--model <dir>',
      kind: str,
      help: 'a model directory from recur train charlm',
      required: true,
    },
    { key: 'prime', flag: '--prime <text>', kind: str, help: 'text to start from', default: 'ROMEO:' },
    {
      key: 'temperature',
      flag: '--temperature <t>',
      kind: positive,
      help: 'below 1: safer; above: wilder',
      default: 0.8,
    },
    {
      key: 'topK',
      flag: '--top-k <k>',
      kind: int(1),
      help: 'draw among the k most likely characters',
      default: 40,
    },
    { key: 'length', flag: '--length <n>', kind: int(1), help: 'characters to generate', default: 500 },
    { key: 'seed', flag: '--seed <n>', kind: int(0), help: 'random seed', default: 1 },
    { key: 'json', flag: '--json', kind: bool, help: 'print {"text": ...}' },
  ];
}
