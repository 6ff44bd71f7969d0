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

/** The parts of the CLI's models: optional embedding → recurrent layers → a linear head. */
interface ModelParts {
  readonly cell: CellKind;
  readonly hidden: number;
  readonly layers: number;
  readonly seed: number;
  readonly compiled: boolean;
  readonly dropout?: number;
  /** Features per step: the vocabulary size for characters (one-hot unless embedded). */
  readonly inputSize: number;
  /** Embedding size over `inputSize` ids; 0 feeds the features as they are. */
  readonly embedding: number;
  readonly paddingIdx?: number;
  readonly outputs: number;
}

/** Registers `embedding` (seed), `rnn` (seed + 1) and `head` (seed + 2), in that order. */
abstract class RecurrentModel extends Module {
  readonly embedding: Embedding | null;
  readonly rnn: RNN | LSTM | GRU;
  readonly head: Linear;

  protected constructor(p: ModelParts) {
    super();
    this.embedding =
      p.embedding > 0
        ? this.registerModule(
            'embedding',
            new Embedding({
              numEmbeddings: p.inputSize,
              embeddingDim: p.embedding,
              seed: p.seed,
              ...(p.paddingIdx === undefined ? {} : { paddingIdx: p.paddingIdx }),
            }),
          )
        : null;
    this.rnn = this.registerModule(
      'rnn',
      recurrentLayer({
        cell: p.cell,
        inputSize: p.embedding > 0 ? p.embedding : p.inputSize,
        hidden: p.hidden,
        layers: p.layers,
        seed: p.seed + 1,
        compiled: p.compiled,
        ...(p.dropout === undefined ? {} : { dropout: p.dropout }),
      }),
    );
    this.head = this.registerModule(
      'head',
      new Linear({ inFeatures: p.hidden, outFeatures: p.outputs, seed: p.seed + 2 }),
    );
  }
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
export class NamesModel extends RecurrentModel {
  constructor(
    readonly config: NamesModelConfig,
    compiled = false,
  ) {
    super({ ...config, compiled, inputSize: config.vocabSize, paddingIdx: 0, outputs: config.classes });
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
export class CharLm extends RecurrentModel {
  constructor(
    readonly config: CharLmConfig,
    compiled = false,
  ) {
    super({ ...config, compiled, inputSize: config.vocabSize, outputs: config.vocabSize });
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
export class SeriesModel extends RecurrentModel {
  constructor(
    readonly config: SeriesModelConfig,
    compiled = false,
  ) {
    super({ ...config, compiled, inputSize: 1, embedding: 0, outputs: config.horizon });
  }

  forward(windows: Tensor): Tensor {
    const { hN } = this.rnn.forward(windows);
    return this.head.forward(lastLayer(hN));
  }
}
