import type { RecurrentLayer } from '@recur/cells';
import type { Tensor } from '@recur/tensor';
import { describe, OnnxExportError } from './errors.js';
import {
  type AttributeJson,
  AttributeType,
  DataType,
  type DimJson,
  type ModelJson,
  ModelProto,
  type NodeJson,
  type TensorJson,
  type ValueInfoJson,
} from './onnx-proto.js';

/** How `exportOnnx` shapes the model. */
export interface ExportOnnxOptions {
  /**
   * Input `[B, T, D]` and output `[B, T, ·]` instead of `[T, B, ·]` (default: the layer's own
   * `batchFirst`). States stay `[numLayers·numDirections, B, H]` either way, as in the layer.
   */
  readonly batchFirst?: boolean;
  /** A fixed number of time steps; by default the time axis is dynamic (named `sequence`). */
  readonly seqLen?: number;
  /** A fixed batch size; by default the batch axis is dynamic (named `batch`). */
  readonly batchSize?: number;
  /** The ONNX opset, 14 to 22 (default 17). */
  readonly opset?: number;
  /** Inputs `h0` (and `c0` for an LSTM) for the initial states (default true); without them they are zeros. */
  readonly initialState?: boolean;
  /**
   * An input `lengths` (int32 `[B]`, each 1..T): padded steps give zero output and the final states
   * are each sequence's state at its last valid step, as the layer's `lengths` option (default false).
   */
  readonly lengths?: boolean;
  /** The graph's name (default `recur_lstm`, `recur_gru` or `recur_rnn`). */
  readonly graphName?: string;
}

/** The inputs and outputs of an exported model, for feeding it in ONNX Runtime. */
export const ONNX_NAMES = {
  input: 'input',
  h0: 'h0',
  c0: 'c0',
  lengths: 'lengths',
  output: 'output',
  hn: 'hn',
  cn: 'cn',
} as const;

export const MIN_OPSET = 14;
export const MAX_OPSET = 22;
export const DEFAULT_OPSET = 17;

/** The IR version that goes with each opset (ONNX's versioning table). */
const IR_VERSION: Record<number, number> = {
  14: 7,
  15: 8,
  16: 8,
  17: 8,
  18: 8,
  19: 9,
  20: 9,
  21: 10,
  22: 10,
};

type Kind = 'LSTM' | 'GRU' | 'RNN';

/** The layer's structure, read once. */
interface LayerInfo {
  readonly kind: Kind;
  readonly gates: number;
  readonly numLayers: number;
  readonly dirs: 1 | 2;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  readonly mode: RecurrentLayer['mode'];
}

/** A weight of the layer as f32 values. */
type ReadWeights = (name: string) => Float32Array;

/**
 * Writes an ONNX model (`ModelProto` bytes) that computes what `layer.forward` computes in
 * inference mode: one ONNX `LSTM`, `GRU` or `RNN` node per stacked layer, with the weights
 * converted to ONNX's gate orders (LSTM i,o,f,c from i,f,g,o; GRU z,r,h from r,z,n, with
 * `linear_before_reset = 1` for the reset-after GRU and 0 for the reset-before one). Inputs:
 * `input`, and `h0`/`c0`/`lengths` as the options say; outputs `output`, `hn` and (LSTM) `cn`.
 * Values are f32. The layer's parameters must be readable synchronously (a CPU backend); see
 * `exportOnnxAsync` for any backend.
 *
 * ```ts
 * const lstm = new LSTM({ inputSize: 8, hiddenSize: 16, numLayers: 2, bidirectional: true });
 * const bytes = exportOnnx(lstm, { opset: 17 }); // feed to onnxruntime's InferenceSession.create
 * ```
 */
export function exportOnnx(layer: RecurrentLayer, options: ExportOnnxOptions = {}): Uint8Array {
  const info = layerInfo(layer);
  const dict = layer.stateDict();
  return buildModel(info, layer.batchFirst, options, (name) => toF32(weight(dict, name).dataSync()));
}

/** `exportOnnx` for a layer on any backend, reading its parameters asynchronously (e.g. from a GPU). */
export async function exportOnnxAsync(
  layer: RecurrentLayer,
  options: ExportOnnxOptions = {},
): Promise<Uint8Array> {
  const info = layerInfo(layer);
  const dict = layer.stateDict();
  const values = new Map<string, Float32Array>();
  for (const [name, t] of dict) values.set(name, toF32(await t.data()));
  return buildModel(info, layer.batchFirst, options, (name) => {
    const v = values.get(name);
    if (!v) throw new OnnxExportError(describe('exportOnnx', `a parameter '${name}'`, 'none'));
    return v;
  });
}

function weight(dict: ReadonlyMap<string, Tensor>, name: string): Tensor {
  const t = dict.get(name);
  if (!t) {
    throw new OnnxExportError(
      describe(
        'exportOnnx',
        `a parameter '${name}' in the layer's state dict`,
        `[${[...dict.keys()].join(', ')}]`,
      ),
    );
  }
  return t;
}

function toF32(values: ArrayLike<number>): Float32Array {
  return values instanceof Float32Array ? values : Float32Array.from(values);
}

function layerInfo(layer: RecurrentLayer): LayerInfo {
  const where = 'exportOnnx';
  const mode = (layer as { mode?: unknown } | null)?.mode;
  if (
    mode !== 'lstm' &&
    mode !== 'gru' &&
    mode !== 'gru_reset_before' &&
    mode !== 'rnn_tanh' &&
    mode !== 'rnn_relu'
  ) {
    throw new OnnxExportError(
      describe(
        where,
        'an RNN, LSTM or GRU layer from @recur/cells',
        describeValue(layer),
        'Export the layer itself.',
      ),
    );
  }
  if (layer.projSize > 0) {
    throw new OnnxExportError(
      describe(
        where,
        'an LSTM without a projection (the ONNX LSTM operator has none)',
        `projSize ${layer.projSize}`,
        'Export a layer built with projSize 0.',
      ),
    );
  }
  const kind: Kind = mode === 'lstm' ? 'LSTM' : mode.startsWith('gru') ? 'GRU' : 'RNN';
  return {
    kind,
    gates: kind === 'LSTM' ? 4 : kind === 'GRU' ? 3 : 1,
    numLayers: layer.numLayers,
    dirs: layer.numDirections,
    inputSize: layer.inputSize,
    hiddenSize: layer.hiddenSize,
    bias: layer.bias,
    mode,
  };
}

function describeValue(v: unknown): string {
  if (v === null || typeof v !== 'object') return String(v);
  return `a ${(v as object).constructor?.name ?? 'object'}`;
}

function checkOptions(o: ExportOnnxOptions): { opset: number } {
  const where = 'exportOnnx';
  const opset = o.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OnnxExportError(
      describe(
        where,
        `an opset from ${MIN_OPSET} to ${MAX_OPSET}`,
        String(opset),
        `Omit it for opset ${DEFAULT_OPSET}.`,
      ),
    );
  }
  for (const key of ['seqLen', 'batchSize'] as const) {
    const v = o[key];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) {
      throw new OnnxExportError(
        describe(where, `${key} to be a positive integer`, String(v), 'Omit it for a dynamic axis.'),
      );
    }
  }
  return { opset };
}

/**
 * Reorders the gate blocks of a `[G·H, cols]` matrix (or a `[G·H]` vector with cols = 1):
 * block k of the result is block `order[k]` of `src`.
 */
export function reorderGates(
  src: Float32Array,
  hidden: number,
  cols: number,
  order: readonly number[],
): Float32Array {
  const block = hidden * cols;
  if (src.length !== order.length * block) {
    throw new OnnxExportError(
      describe(
        'reorderGates',
        `${order.length}·${hidden}·${cols} = ${order.length * block} values`,
        `${src.length}`,
      ),
    );
  }
  const out = new Float32Array(src.length);
  order.forEach((from, k) => {
    out.set(src.subarray(from * block, (from + 1) * block), k * block);
  });
  return out;
}

/** Our (PyTorch's) gate blocks in ONNX's order: LSTM i,o,f,c from i,f,g,o; GRU z,r,h from r,z,n. */
export const ONNX_GATE_ORDER: Record<Kind, readonly number[]> = {
  LSTM: [0, 3, 1, 2],
  GRU: [1, 0, 2],
  RNN: [0],
};

function buildModel(
  info: LayerInfo,
  layerBatchFirst: boolean,
  options: ExportOnnxOptions,
  read: ReadWeights,
): Uint8Array {
  const { opset } = checkOptions(options);
  const batchFirst = options.batchFirst ?? layerBatchFirst;
  const initialState = options.initialState ?? true;
  const withLengths = options.lengths ?? false;
  const { kind, gates, numLayers, dirs, hiddenSize: H } = info;
  const G = gates;
  const n = ONNX_NAMES;
  const T: DimJson = options.seqLen !== undefined ? { dimValue: options.seqLen } : { dimParam: 'sequence' };
  const B: DimJson =
    options.batchSize !== undefined ? { dimValue: options.batchSize } : { dimParam: 'batch' };
  const fixed = (v: number): DimJson => ({ dimValue: v });

  const nodes: NodeJson[] = [];
  const inits: TensorJson[] = [];
  const node = (opType: string, input: string[], output: string[], attribute: AttributeJson[] = []) => {
    while (input.length > 0 && input[input.length - 1] === '') input.pop();
    nodes.push({ name: `${opType}_${nodes.length}`, opType, input, output, attribute });
  };
  const int64s = (name: string, values: readonly number[]): string => {
    const raw = new Uint8Array(values.length * 8);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => {
      view.setBigInt64(i * 8, BigInt(v), true);
    });
    inits.push({ name, dims: [values.length], dataType: DataType.INT64, rawData: raw });
    return name;
  };
  const floats = (name: string, dims: number[], values: Float32Array): string => {
    const raw = new Uint8Array(values.length * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
    inits.push({ name, dims, dataType: DataType.FLOAT, rawData: raw });
    return name;
  };

  const inputs: ValueInfoJson[] = [
    valueInfo(
      n.input,
      DataType.FLOAT,
      batchFirst ? [B, T, fixed(info.inputSize)] : [T, B, fixed(info.inputSize)],
    ),
  ];
  const stateDims = [fixed(numLayers * dirs), B, fixed(H)];
  if (initialState) {
    inputs.push(valueInfo(n.h0, DataType.FLOAT, stateDims));
    if (kind === 'LSTM') inputs.push(valueInfo(n.c0, DataType.FLOAT, stateDims));
  }
  if (withLengths) inputs.push(valueInfo(n.lengths, DataType.INT32, [B]));

  let x: string = n.input;
  if (batchFirst) {
    node('Transpose', [x], ['input_time_major'], [ints('perm', [1, 0, 2])]);
    x = 'input_time_major';
  }
  const order = ONNX_GATE_ORDER[kind];
  const hParts: string[] = [];
  const cParts: string[] = [];
  for (let l = 0; l < numLayers; l++) {
    const inSize = l === 0 ? info.inputSize : H * dirs;
    const W = new Float32Array(dirs * G * H * inSize);
    const R = new Float32Array(dirs * G * H * H);
    const Bias = new Float32Array(dirs * 2 * G * H);
    for (let d = 0; d < dirs; d++) {
      const suffix = `_l${l}${d === 1 ? '_reverse' : ''}`;
      W.set(reorderGates(read(`weight_ih${suffix}`), H, inSize, order), d * G * H * inSize);
      R.set(reorderGates(read(`weight_hh${suffix}`), H, H, order), d * G * H * H);
      if (info.bias) {
        Bias.set(reorderGates(read(`bias_ih${suffix}`), H, 1, order), d * 2 * G * H);
        Bias.set(reorderGates(read(`bias_hh${suffix}`), H, 1, order), d * 2 * G * H + G * H);
      }
    }
    const w = floats(`W_l${l}`, [dirs, G * H, inSize], W);
    const r = floats(`R_l${l}`, [dirs, G * H, H], R);
    const b = info.bias ? floats(`B_l${l}`, [dirs, 2 * G * H], Bias) : '';
    const stateOf = (name: string): string => {
      if (!initialState) return '';
      if (numLayers === 1) return name;
      const out = `${name}_l${l}`;
      node(
        'Slice',
        [
          name,
          int64s(`${out}_starts`, [l * dirs]),
          int64s(`${out}_ends`, [(l + 1) * dirs]),
          int64s(`${out}_axes`, [0]),
        ],
        [out],
      );
      return out;
    };
    const h0 = stateOf(n.h0);
    const c0 = kind === 'LSTM' ? stateOf(n.c0) : '';
    const y = `y_l${l}`;
    const hn = numLayers === 1 ? n.hn : `hn_l${l}`;
    const cn = numLayers === 1 ? n.cn : `cn_l${l}`;
    hParts.push(hn);
    cParts.push(cn);
    const attrs: AttributeJson[] = [
      int('hidden_size', H),
      str('direction', dirs === 2 ? 'bidirectional' : 'forward'),
    ];
    if (kind === 'GRU') attrs.push(int('linear_before_reset', info.mode === 'gru' ? 1 : 0));
    if (kind === 'RNN') {
      const act = info.mode === 'rnn_relu' ? 'Relu' : 'Tanh';
      attrs.push(strs('activations', dirs === 2 ? [act, act] : [act]));
    }
    node(
      kind,
      [x, w, r, b, withLengths ? n.lengths : '', h0, c0],
      kind === 'LSTM' ? [y, hn, cn] : [y, hn],
      attrs,
    );
    // Y is [T, dirs, B, H]; the next layer (and the output) wants [T, B, dirs·H].
    const last = l === numLayers - 1;
    const out = last && !batchFirst ? n.output : `out_l${l}`;
    if (dirs === 1) {
      node('Squeeze', [y, int64s(`${y}_axes`, [1])], [out]);
    } else {
      node('Transpose', [y], [`${y}_tbdh`], [ints('perm', [0, 2, 1, 3])]);
      node('Reshape', [`${y}_tbdh`, int64s(`${y}_shape`, [0, 0, -1])], [out]);
    }
    x = out;
  }
  if (batchFirst) node('Transpose', [x], [n.output], [ints('perm', [1, 0, 2])]);
  if (numLayers > 1) {
    node('Concat', hParts, [n.hn], [int('axis', 0)]);
    if (kind === 'LSTM') node('Concat', cParts, [n.cn], [int('axis', 0)]);
  }
  const outWidth = fixed(dirs * H);
  const outputs: ValueInfoJson[] = [
    valueInfo(n.output, DataType.FLOAT, batchFirst ? [B, T, outWidth] : [T, B, outWidth]),
    valueInfo(n.hn, DataType.FLOAT, stateDims),
  ];
  if (kind === 'LSTM') outputs.push(valueInfo(n.cn, DataType.FLOAT, stateDims));

  const model: ModelJson = {
    irVersion: IR_VERSION[opset]!,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'recur',
    producerVersion: '0',
    docString: `${kind}: ${numLayers} layer(s), ${dirs === 2 ? 'bidirectional' : 'unidirectional'}, input ${info.inputSize}, hidden ${H}`,
    graph: {
      name: options.graphName ?? `recur_${kind.toLowerCase()}`,
      node: nodes,
      initializer: inits,
      input: inputs,
      output: outputs,
    },
  };
  // A plain Uint8Array of its own (protobufjs gives a Node Buffer, possibly a view into a shared pool).
  return new Uint8Array(ModelProto.encode(ModelProto.fromObject(model)).finish());
}

function valueInfo(name: string, elemType: number, dims: DimJson[]): ValueInfoJson {
  return { name, type: { tensorType: { elemType, shape: { dim: dims } } } };
}

function int(name: string, i: number): AttributeJson {
  return { name, type: AttributeType.INT, i };
}

function ints(name: string, values: number[]): AttributeJson {
  return { name, type: AttributeType.INTS, ints: values };
}

const utf8 = new TextEncoder();

function str(name: string, s: string): AttributeJson {
  return { name, type: AttributeType.STRING, s: utf8.encode(s) };
}

function strs(name: string, values: string[]): AttributeJson {
  return { name, type: AttributeType.STRINGS, strings: values.map((v) => utf8.encode(v)) };
}
