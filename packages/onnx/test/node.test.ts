import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GRU } from '@recur/cells';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../src/index.js';
import { saveOnnx } from '../src/node.js';
import { useJsBackend } from './helpers.js';

let dir = '';
beforeAll(async () => {
  useJsBackend();
  dir = await mkdtemp(join(tmpdir(), 'recur-onnx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('saveOnnx', () => {
  it('writes the exported bytes and leaves no temporary file', async () => {
    const gru = new GRU({ inputSize: 3, hiddenSize: 2, seed: 1 });
    const path = join(dir, 'gru.onnx');
    await saveOnnx(path, gru, { opset: 18 });
    expect(new Uint8Array(await readFile(path))).toEqual(exportOnnx(gru, { opset: 18 }));
    expect(await readdir(dir)).toEqual(['gru.onnx']);
  });

  it('leaves no temporary file when the export fails', async () => {
    const gru = new GRU({ inputSize: 3, hiddenSize: 2, seed: 1 });
    await expect(saveOnnx(join(dir, 'bad.onnx'), gru, { opset: 3 })).rejects.toThrow(/opset/);
    await expect(saveOnnx(join(dir, 'missing', 'x.onnx'), gru)).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual(['gru.onnx']);
  });
});
