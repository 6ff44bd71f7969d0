import { describe, expect, it } from 'vitest';
import { formatReport, runBench } from '../src/index.js';

describe('runBench (system processes, small shapes)', () => {
  it('checks, interleaves and reports every selected system', async () => {
    const lines: string[] = [];
    const r = await runBench({
      workloads: ['W2', 'W4'],
      systems: ['recur-js', 'tfjs-cpu', 'onnxruntime-node'],
      threads: [1],
      reps: 2,
      shape: { B: 2, T: 3, D: 3, H: 4 },
      log: (l) => lines.push(l),
    });
    expect(r.rows.map((x) => `${x.workload} ${x.system} ${x.threads}`)).toEqual([
      'W2 recur-js 1',
      'W2 tfjs-cpu 1',
      'W2 onnxruntime-node 1',
      'W4 recur-js 1',
      'W4 tfjs-cpu 1',
      'W4-reset-after recur-js 1',
    ]);
    for (const row of r.rows) {
      expect(row.reps).toBe(2);
      expect(row.samplesMs).toHaveLength(2);
      expect(row.minMs).toBeLessThanOrEqual(row.medianMs);
      expect(row.medianMs).toBeLessThanOrEqual(row.maxMs);
      expect(row.gflops).toBeGreaterThan(0);
    }
    const w2 = r.rows.filter((x) => x.workload === 'W2' && !x.ours);
    expect(Math.min(...w2.map((x) => x.ratioToFastestPeer!))).toBe(1);
    expect(r.checks.map((c) => `${c.workload} ${c.system}`)).toEqual([
      'W2 tfjs-cpu',
      'W2 onnxruntime-node',
      'W4 tfjs-cpu',
    ]);
    expect(r.skipped.some((s) => s.system === 'onnxruntime-node' && s.workload === 'W4')).toBe(true);
    expect(r.skipped).toContainEqual({
      workload: 'W4-reset-after',
      system: 'tfjs-cpu',
      reason: "tfjs-layers' GRU has no reset-after variant (PyTorch's GRU)",
    });
    expect(formatReport(r)).toMatch(/\n\| W2 +\| \*\*recur-js\*\* +\| js +\| 1 +\| 2 +\|/);
  });

  it('runs our other backends when built, and skips them with the reason otherwise', async () => {
    const r = await runBench({
      workloads: ['W2'],
      systems: ['recur-js', 'recur-wasm'],
      threads: [2],
      reps: 1,
      shape: { B: 2, T: 3, D: 3, H: 4 },
      log: () => {},
    });
    expect(r.rows[0]!.system).toBe('recur-js'); // single-threaded: runs whatever --threads says
    const ran = r.rows.some((x) => x.system === 'recur-wasm');
    const skip = r.skipped.find((x) => x.system === 'recur-wasm');
    expect(ran !== (skip !== undefined), JSON.stringify(r.skipped)).toBe(true);
    if (ran) expect(r.checks.map((c) => c.system)).toEqual(['recur-wasm']);
    else expect(skip!.reason).toMatch(/not built|could not start/);
  });

  it('refuses unknown systems and options', async () => {
    await expect(runBench({ systems: ['mxnet'] })).rejects.toThrow(/expected systems among .*found mxnet/);
    await expect(runBench({ reps: 0 })).rejects.toThrow(/reps to be an integer ≥ 1, found 0/);
  });
});
