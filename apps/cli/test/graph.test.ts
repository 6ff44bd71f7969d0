import { describe, expect, it } from 'vitest';
import { run } from './run.js';

async function recur(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await run(...args);
  return { code: r.code, out: r.out.join('\n'), err: r.err.join('\n') };
}

describe('recur graph', () => {
  it('reports the statistics of a compiled LSTM training step as JSON', async () => {
    const r = await recur([
      'graph',
      '--cell',
      'lstm',
      '--input',
      '16',
      '--hidden',
      '8',
      '--batch',
      '4',
      '--steps',
      '6',
      '--train',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({
      cell: 'lstm',
      steps: 6,
      train: true,
      kernelsPerStep: { forward: 2, backward: 2 },
    });
    for (const k of [
      'nodesBefore',
      'nodesAfter',
      'hoistedGemms',
      'compileMs',
      'peakBytesPlanned',
      'peakBytesUnplanned',
    ])
      expect(typeof j[k]).toBe('number');
    expect(j.peakBytesPlanned).toBeLessThanOrEqual(j.peakBytesUnplanned);
  });

  it('gives the same graph for 10 and 10 000 steps', async () => {
    const a = JSON.parse((await recur(['graph', '--cell', 'gru', '--steps', '10', '--train', '--json'])).out);
    const b = JSON.parse(
      (await recur(['graph', '--cell', 'gru', '--steps', '10000', '--train', '--json'])).out,
    );
    expect(b.nodesAfter).toBe(a.nodesAfter);
    expect(b.nodesBefore).toBe(a.nodesBefore);
    expect(b.kernelsPerStep).toEqual(a.kernelsPerStep);
  });

  it('prints listings before and after, and pictures as dot or mermaid', async () => {
    const text = await recur([
      'graph',
      '--cell',
      'rnn',
      '--input',
      '3',
      '--hidden',
      '4',
      '--batch',
      '2',
      '--steps',
      '5',
    ]);
    expect(text.out).toMatch(/### before optimisation \(\d+ nodes\)/);
    expect(text.out).toMatch(/loop over 5 steps/);
    expect(text.out).toMatch(/kernels per step: 2 forward/);
    const dot = await recur(['graph', '--cell', 'rnn', '--steps', '3', '--format', 'dot']);
    expect(dot.out).toMatch(/^digraph "forward step" \{/);
    const mermaid = await recur([
      'graph',
      '--cell',
      'gru',
      '--steps',
      '3',
      '--layers',
      '2',
      '--format',
      'mermaid',
    ]);
    expect(mermaid.out).toMatch(/^flowchart TD/);
  });

  it('rejects unknown cells and formats with a one-line error', async () => {
    const r = await recur(['graph', '--cell', 'transformer']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/expected lstm, gru or rnn for --cell, found 'transformer'/);
    const f = await recur(['graph', '--format', 'png']);
    expect(f.err).toMatch(/expected text, dot or mermaid/);
  });
});
