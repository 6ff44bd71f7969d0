import { Embedding, GRU, Linear, LSTM, Module, RNN } from '@recur/cells';
import { oneHotBatch, type PaddedBatch } from '@recur/data';
import { oneHot, reshape, slice, type Tensor } from '@recur/tensor';

export type CellKind = 'rnn' | 'lstm' | 'gru';

export interface RecurrentSpec {
  readonly cell: CellKind;
  readonly inputSize: number;
  readonly hidden: number;
  readonly layers: number;
  readonly seed: number;
  /** Run the recurrent layers as programs compiled by the graph compiler. */
  readonly compiled?: boolean;
  readonly dropout?: number;
}

/** An RNN, LSTM or GRU layer (batch first); LSTMs get a forget-gate bias of 1. */
export function recurrentLayer(s: RecurrentSpec): RNN | LSTM | GRU {
  const common = {
    inputSize: s.inputSize,
    hiddenSize: s.hidden,
    numLayers: s.layers,
    batchFirst: true,
    seed: s.seed,
    dropout: s.layers > 1 ? (s.dropout ?? 0) : 0,
    compiled: s.compiled ?? false,
  };
  switch (s.cell) {
    case 'rnn':
      return new RNN(common);
    case 'lstm':
      return new LSTM({ ...common, forgetBias: 1 });
    case 'gru':
      return new GRU(common);
  }
}

/** The last layer's final state `[B, H]` of a layer's `hN` `[layers, B, H]`. */
function lastLayer(hN: Tensor): Tensor {
  const [layers, batch, hidden] = hN.shape as [number, number, number];
  return reshape(slice(hN, [layers - 1, 0, 0], [layers, batch, hidden]), [batch, hidden]);
}

export interface NamesModelConfig {
  readonly cell: CellKind;
  readonly hidden: number;
  readonly layers: number;
  /** Embedding size; 0 feeds one-hot characters. */
  readonly embedding: number;
  readonly vocabSize: number;
  readonly classes: number;
  readonly seed: number;
}

/**
 * Many-to-one: characters (embedded, or one-hot) → recurrent layer over each name's own length →
 * a linear layer on the final state → logits over the languages.
 */
export class NamesModel extends Module {
  readonly embedding: Embedding | null;
  readonly rnn: RNN | LSTM | GRU;
  readonly head: Linear;

  constructor(
    readonly config: NamesModelConfig,
    compiled = false,
  ) {
    super();
    const c = config;
    this.embedding =
      c.embedding > 0
        ? this.registerModule(
            'embedding',
            new Embedding({
              numEmbeddings: c.vocabSize,
              embeddingDim: c.embedding,
              paddingIdx: 0,
              seed: c.seed,
            }),
          )
        : null;
    this.rnn = this.registerModule(
      'rnn',
      recurrentLayer({
        cell: c.cell,
        inputSize: c.embedding > 0 ? c.embedding : c.vocabSize,
        hidden: c.hidden,
        layers: c.layers,
        seed: c.seed + 1,
        compiled,
      }),
    );
    this.head = this.registerModule(
      'head',
      new Linear({ inFeatures: c.hidden, outFeatures: c.classes, seed: c.seed + 2 }),
    );
  }

  /** Logits `[B, classes]` of a padded batch (index 0 is padding). */
  forward(batch: PaddedBatch): Tensor {
    const x = this.embedding
      ? this.embedding.forward(batch.indices)
      : oneHotBatch(batch, this.config.vocabSize);
    const { hN } = this.rnn.forward(x, { lengths: batch.lengths });
    return this.head.forward(lastLayer(hN));
  }
}

export interface CharLmConfig {
  readonly cell: CellKind;
  readonly hidden: number;
  readonly layers: number;
  /** Embedding size; 0 feeds one-hot characters. */
  readonly embedding: number;
  readonly vocabSize: number;
  readonly seed: number;
  readonly dropout: number;
}

/** A recurrent state carried between chunks of text: `h` (and `c` for an LSTM), `[layers, B, H]`. */
export interface LmState {
  readonly h: Tensor;
  readonly c?: Tensor;
}

/** Many-to-many: characters → recurrent layers → a linear layer at every step → next-character logits. */
export class CharLm extends Module {
  readonly embedding: Embedding | null;
  readonly rnn: RNN | LSTM | GRU;
  readonly head: Linear;

  constructor(
    readonly config: CharLmConfig,
    compiled = false,
  ) {
    super();
    const c = config;
    this.embedding =
      c.embedding > 0
        ? this.registerModule(
            'embedding',
            new Embedding({ numEmbeddings: c.vocabSize, embeddingDim: c.embedding, seed: c.seed }),
          )
        : null;
    this.rnn = this.registerModule(
      'rnn',
      recurrentLayer({
        cell: c.cell,
        inputSize: c.embedding > 0 ? c.embedding : c.vocabSize,
        hidden: c.hidden,
        layers: c.layers,
        seed: c.seed + 1,
        compiled,
        dropout: c.dropout,
      }),
    );
    this.head = this.registerModule(
      'head',
      new Linear({ inFeatures: c.hidden, outFeatures: c.vocabSize, seed: c.seed + 2 }),
    );
  }

  /** Logits `[B, T, vocab]` of token ids `[B, T]`, from `state` (zeros when absent), and the state after. */
  forward(ids: Tensor, state?: LmState): { logits: Tensor; state: LmState } {
    const x = this.embedding ? this.embedding.forward(ids) : oneHot(ids, this.config.vocabSize);
    const init = state ? { h0: state.h, ...(state.c ? { c0: state.c } : {}) } : {};
    const r = this.rnn.forward(x, init);
    const cN = (r as { cN?: Tensor }).cN;
    return { logits: this.head.forward(r.output), state: cN ? { h: r.hN, c: cN } : { h: r.hN } };
  }
}

export interface SeriesModelConfig {
  readonly cell: CellKind;
  readonly hidden: number;
  readonly layers: number;
  readonly horizon: number;
  readonly seed: number;
}

/** A window of points `[B, W, 1]` → recurrent layer → linear layer on the final state → the next `horizon` points. */
export class SeriesModel extends Module {
  readonly rnn: RNN | LSTM | GRU;
  readonly head: Linear;

  constructor(
    readonly config: SeriesModelConfig,
    compiled = false,
  ) {
    super();
    const c = config;
    this.rnn = this.registerModule(
      'rnn',
      recurrentLayer({
        cell: c.cell,
        inputSize: 1,
        hidden: c.hidden,
        layers: c.layers,
        seed: c.seed + 1,
        compiled,
      }),
    );
    this.head = this.registerModule(
      'head',
      new Linear({ inFeatures: c.hidden, outFeatures: c.horizon, seed: c.seed + 2 }),
    );
  }

  forward(windows: Tensor): Tensor {
    const { hN } = this.rnn.forward(windows);
    return this.head.forward(lastLayer(hN));
  }
}
