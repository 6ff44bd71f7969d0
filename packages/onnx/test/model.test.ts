import { LSTM } from '@recur/cells';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeOnnx, exportOnnx, ONNX_GATE_ORDER, reorderGates } from '../src/index.js';
import { useJsBackend } from './helpers.js';

beforeAll(() => {
  useJsBackend();
});

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

describe('the exported model', () => {
  it('has one LSTM node per layer, the gate order converted, and the IR version of its opset', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 2, numLayers: 2, bidirectional: true, seed: 4 });
    const m = decodeOnnx(exportOnnx(lstm, { opset: 19 }));
    expect(m.irVersion).toBe(9);
    expect(m.opsetImport).toEqual([{ domain: '', version: 19 }]);
    const ops = m.graph.node.map((n) => n.opType);
    expect(ops.filter((o) => o === 'LSTM')).toHaveLength(2);
    expect(m.graph.input.map((v) => v.name)).toEqual(['input', 'h0', 'c0']);
    expect(m.graph.output.map((v) => v.name)).toEqual(['output', 'hn', 'cn']);
    expect(m.graph.input[0]!.type.tensorType.shape.dim).toEqual([
      { dimParam: 'sequence' },
      { dimParam: 'batch' },
      { dimValue: 3 },
    ]);
    const lstmNode = m.graph.node.find((n) => n.opType === 'LSTM')!;
    const attr = Object.fromEntries(lstmNode.attribute.map((a) => [a.name, a]));
    expect(attr.hidden_size!.i).toBe(2);
    expect(text(attr.direction!.s)).toBe('bidirectional');

    // W of layer 0: [2, 8, 3]; its forward half is weight_ih_l0 with blocks i, o, f, g.
    const w = m.graph.initializer.find((t) => t.name === 'W_l0')!;
    expect(w.dims).toEqual([2, 8, 3]);
    const values = new Float32Array(Uint8Array.from(w.rawData).buffer);
    const ours = lstm.stateDict().get('weight_ih_l0')!.dataSync();
    const H = 2;
    const D = 3;
    const block = (data: ArrayLike<number>, k: number) => Array.from(data).slice(k * H * D, (k + 1) * H * D);
    expect(block(values, 0)).toEqual(block(ours, 0)); // i
    expect(block(values, 1)).toEqual(block(ours, 3)); // o
    expect(block(values, 2)).toEqual(block(ours, 1)); // f
    expect(block(values, 3)).toEqual(block(ours, 2)); // c (our g)
    const reverse = lstm.stateDict().get('weight_ih_l0_reverse')!.dataSync();
    expect(Array.from(values.subarray(8 * 3, 8 * 3 + H * D))).toEqual(block(reverse, 0));
  });

  it('reorderGates moves whole blocks and checks the size', () => {
    const src = Float32Array.from([1, 2, 3, 4, 5, 6]); // three blocks of [1, 2]
    expect(Array.from(reorderGates(src, 1, 2, ONNX_GATE_ORDER.GRU))).toEqual([3, 4, 1, 2, 5, 6]);
    expect(() => reorderGates(src, 1, 2, ONNX_GATE_ORDER.LSTM)).toThrow(/8 values, found 6/);
  });

  it('decodeOnnx rejects bytes that are not a model', () => {
    expect(() => decodeOnnx(Uint8Array.from([0xff, 0xff, 0xff]))).toThrow(/ONNX ModelProto/);
  });
});
