import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, EmbeddingsError } from './errors.js';
import { vocabFromFile } from './files.js';
import { word2vecKernel } from './kernel.js';
import {
  finish,
  ProgressMeter,
  prepareTraining,
  resolveTrainOptions,
  type TrainOptions,
  type TrainResult,
  threadSeed,
} from './train.js';

/** Bytes a worker reads at a time. */
const CHUNK_BYTES = 1 << 20;

/**
 * A worker thread's script: it evaluates the kernel's source, reads its byte range of the corpus in
 * chunks once per epoch and trains on the shared weights. Kept as plain JavaScript so it runs the
 * same from the compiled package and from the TypeScript sources.
 */
const WORKER_SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const d = workerData;
const kernel = new Function('return (' + d.kernelSource + ')')()(d.params);
const buf = Buffer.allocUnsafe(d.chunkBytes);
for (let e = 0; e < d.epochs; e++) {
  const fd = openSync(d.path, 'r');
  try {
    const decoder = new TextDecoder('utf-8');
    let pos = d.start;
    while (pos < d.end) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, d.end - pos), pos);
      if (n === 0) break;
      pos += n;
      kernel.feed(decoder.decode(buf.subarray(0, n), { stream: true }));
    }
    const tail = decoder.decode();
    if (tail !== '') kernel.feed(tail);
    kernel.endInput();
  } finally {
    closeSync(fd);
  }
}
parentPort.postMessage('done');
`;

/**
 * Trains word2vec on a corpus file, streaming it (memory holds the vocabulary and the weights, never
 * the corpus). With `threads: n` the file is cut into n byte ranges at word boundaries and n worker
 * threads train on shared weights without locks, as word2vec.c does; with one thread (the default)
 * the result is identical bit for bit for a given seed, and equal to `train` on the same text.
 */
export async function trainFile(path: string, options: TrainOptions = {}): Promise<TrainResult> {
  const where = 'trainFile';
  const o = resolveTrainOptions(options, where);
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new EmbeddingsError(describe(where, `a readable corpus file at ${JSON.stringify(path)}`, reason), {
      cause: err,
    });
  }
  const vocab = options.vocab ?? (await vocabFromFile(path, { minCount: o.minCount }));
  const params = prepareTraining(vocab, o, true, where);
  const bounds = wordBoundaries(path, size, o.threads);
  const meter = new ProgressMeter(o, vocab.totalCount, options.onProgress);
  const wordsDone = (): number => params.progress.reduce((a, b) => a + b, 0);
  const alphaNow = (): number =>
    Math.max(o.minAlpha, o.alpha * (1 - wordsDone() / (o.epochs * vocab.totalCount + 1)));
  const kernelSource = word2vecKernel.toString();
  const workers: Worker[] = [];
  const timer = setInterval(() => meter.tick(wordsDone(), alphaNow()), Math.max(50, o.progressInterval));
  try {
    await Promise.all(
      Array.from({ length: o.threads }, (_, slot) => {
        const worker = new Worker(WORKER_SCRIPT, {
          eval: true,
          workerData: {
            kernelSource,
            params: { ...params, slot, seed: threadSeed(o.seed, slot) },
            path,
            start: bounds[slot]!,
            end: bounds[slot + 1]!,
            epochs: o.epochs,
            chunkBytes: CHUNK_BYTES,
          },
        });
        workers.push(worker);
        return new Promise<void>((resolve, reject) => {
          let done = false;
          worker.on('message', (m) => {
            if (m === 'done') done = true;
          });
          worker.on('error', (err) => reject(err));
          worker.on('exit', (code) => {
            if (done && code === 0) resolve();
            else reject(new Error(`worker ${slot} stopped with exit code ${code}`));
          });
        });
      }),
    );
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new EmbeddingsError(describe(where, 'every training thread to finish', `an error: ${reason}`), {
      cause: err,
    });
  } finally {
    clearInterval(timer);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const seconds = meter.elapsedSeconds;
  const words = wordsDone();
  meter.tick(words, alphaNow(), true);
  return finish(vocab, params, o, words, seconds);
}

/**
 * Splits `[0, size)` into `n` ranges of about equal size whose borders fall just after a space,
 * tab or newline, so no token is cut and every token belongs to exactly one range.
 */
export function wordBoundaries(path: string, size: number, n: number): number[] {
  const bounds = [0];
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (let i = 1; i < n; i++) {
      let pos = Math.max(bounds[i - 1]!, Math.floor((size * i) / n));
      // A border at p is fine when p is 0 or byte p-1 is a separator.
      let found = pos === 0 ? 0 : -1;
      let at = pos - 1;
      while (found < 0 && at < size) {
        const got = readSync(fd, buf, 0, Math.min(buf.length, size - at), at);
        if (got === 0) break;
        for (let k = 0; k < got; k++) {
          const c = buf[k]!;
          if (c === 32 || c === 9 || c === 10) {
            found = at + k + 1;
            break;
          }
        }
        at += got;
      }
      pos = found < 0 ? size : found;
      bounds.push(pos);
    }
  } finally {
    closeSync(fd);
  }
  bounds.push(size);
  return bounds;
}
