import { Dropout, Embedding, GRU, Linear, LSTM, Module, RNN } from '@recur/cells';
import { type Rng, type Tensor, tensor } from '@recur/tensor';
import type { StepFn } from '../src/index.js';
import { crossEntropyLoss } from '../src/index.js';

/** A padded batch of token sequences (batch first) with one label each. */
export interface SeqBatch {
  readonly ids: Int32Array;
  readonly lengths: number[];
  readonly labels: Int32Array;
  readonly steps: number;
}

export interface ClassifierOptions {
  readonly vocab: number;
  readonly embed: number;
  readonly hidden: number;
  readonly classes: number;
  readonly cell?: 'gru' | 'lstm' | 'rnn';
  readonly dropout?: number;
  readonly seed?: number;
}

/** Embedding → recurrent layer → dropout → linear head on the last valid state (many-to-one). */
export class Classifier extends Module {
  readonly emb: Embedding;
  readonly rnn: GRU | LSTM | RNN;
  readonly drop: Dropout;
  readonly head: Linear;

  constructor(readonly config: ClassifierOptions) {
    super();
    const seed = config.seed ?? 0;
    this.emb = this.registerModule(
      'emb',
      new Embedding({ numEmbeddings: config.vocab, embeddingDim: config.embed, seed }),
    );
    const layer = { inputSize: config.embed, hiddenSize: config.hidden, batchFirst: true, seed: seed + 1 };
    this.rnn = this.registerModule(
      'rnn',
      config.cell === 'lstm' ? new LSTM(layer) : config.cell === 'rnn' ? new RNN(layer) : new GRU(layer),
    );
    this.drop = this.registerModule('drop', new Dropout({ p: config.dropout ?? 0, seed: seed + 2 }));
    this.head = this.registerModule(
      'head',
      new Linear({ inFeatures: config.hidden, outFeatures: config.classes, seed: seed + 3 }),
    );
  }

  forward(b: SeqBatch): Tensor {
    const B = b.labels.length;
    const x = this.emb.forward(tensor(b.ids, [B, b.steps], { dtype: 'i32' }));
    const { hN } = this.rnn.forward(x, { lengths: b.lengths });
    return this.head.forward(this.drop.forward(hN.reshape([B, this.config.hidden])));
  }
}

/** The classifier's training step: cross-entropy of the logits against the labels. */
export function classifierStep(model: Classifier): StepFn<SeqBatch> {
  return (b) => {
    const logits = model.forward(b);
    const targets = tensor(b.labels, [b.labels.length], { dtype: 'i32' });
    return { loss: crossEntropyLoss(logits, targets), predictions: logits, targets };
  };
}

/** Pads sequences into a batch. */
export function makeBatch(seqs: readonly (readonly number[])[], labels: readonly number[]): SeqBatch {
  const steps = Math.max(...seqs.map((s) => s.length));
  const ids = new Int32Array(seqs.length * steps);
  seqs.forEach((s, i) => {
    ids.set(s, i * steps);
  });
  return { ids, lengths: seqs.map((s) => s.length), labels: Int32Array.from(labels), steps };
}

/** Examples → batches, shuffled with `rng` when given. */
export function batches(
  examples: readonly { seq: readonly number[]; label: number }[],
  size: number,
  rng?: Rng,
): SeqBatch[] {
  const order = examples.map((_, i) => i);
  if (rng) rng.shuffle(order);
  const out: SeqBatch[] = [];
  for (let i = 0; i < order.length; i += size) {
    const part = order.slice(i, i + size).map((k) => examples[k]!);
    out.push(
      makeBatch(
        part.map((e) => e.seq),
        part.map((e) => e.label),
      ),
    );
  }
  return out;
}

/**
 * The toy many-to-one task: sequences of +1/-1 tokens (ids 1 and 2; 0 is padding) of odd length
 * 3..11; the label is 1 when the sum is positive.
 */
export function signTask(n: number, rng: Rng): { seq: number[]; label: number }[] {
  return Array.from({ length: n }, () => {
    const len = 3 + 2 * rng.int(5);
    const seq = Array.from({ length: len }, () => 1 + rng.int(2));
    const sum = seq.reduce((s, id) => s + (id === 1 ? 1 : -1), 0);
    return { seq, label: sum > 0 ? 1 : 0 };
  });
}
