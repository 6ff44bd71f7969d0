import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, tidy } from '@recur/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CellsError, GRU, SafetensorsError, writeSafetensors } from '../src/index.js';
import { loadSafetensors, saveSafetensors } from '../src/node.js';
import { maxAbsDiff, useJsBackend } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'recur-cells-'));

beforeAll(() => {
  useJsBackend();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('@recur/cells/node', () => {
  it('saves a state dict atomically and loads it back into a model', async () => {
    const gru = new GRU({ inputSize: 3, hiddenSize: 2, numLayers: 2, seed: 1 });
    const path = join(dir, 'gru.safetensors');
    writeFileSync(path, 'old contents');
    await saveSafetensors(path, gru.stateDict(), { format: 'pt' });
    expect(readdirSync(dir)).toEqual(['gru.safetensors']); // no temporary file left behind
    expect(
      Buffer.from(readFileSync(path)).equals(
        Buffer.from(writeSafetensors(gru.stateDict(), { format: 'pt' })),
      ),
    ).toBe(true);
    const { tensors, metadata } = await loadSafetensors(path);
    expect(metadata).toEqual({ format: 'pt' });
    const other = new GRU({ inputSize: 3, hiddenSize: 2, numLayers: 2, seed: 2 });
    other.loadStateDict(tensors);
    for (const [name, p] of gru.namedParameters())
      expect(maxAbsDiff(p, other.stateDict().get(name)!)).toBe(0);
  });

  it('reports unwritable and unreadable paths and malformed files clearly, leaving nothing behind', async () => {
    const t = tidy(() => ({ a: tensor([1]) }));
    const missingDir = join(dir, 'no', 'such', 'x.safetensors');
    const e = await saveSafetensors(missingDir, t).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(CellsError);
    expect((e as Error).message).toMatch(
      /saveSafetensors: expected to create a temporary file beside ".*x\.safetensors"/,
    );
    const r = await loadSafetensors(join(dir, 'nope.safetensors')).catch((err: unknown) => err);
    expect(r).toBeInstanceOf(CellsError);
    expect((r as Error).message).toMatch(/loadSafetensors: expected a readable file at/);
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, 'not a safetensors file at all');
    await expect(loadSafetensors(bad)).rejects.toBeInstanceOf(SafetensorsError);
  });
});
