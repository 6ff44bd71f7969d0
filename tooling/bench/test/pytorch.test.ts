import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { makeProblem, runBench, selectWorkloads } from '../src/index.js';
import {
  decodeF32,
  encodeF32,
  initMessage,
  PYTORCH_SYSTEMS,
  probeTorch,
  python,
  TORCH_SCRIPT,
} from '../src/systems/pytorch.js';
import * as recur from '../src/systems/recur.js';

const SMALL = { B: 2, T: 3, D: 4, H: 5 };
const tmp = mkdtempSync(join(tmpdir(), 'bench-pytorch-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Whether a command runs (exit code 0). */
function runs(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 120_000 });
    return true;
  } catch {
    return false;
  }
}
const numpy = runs('python3', ['-c', 'import numpy']);
/** A Python with torch: $RECUR_BENCH_PYTHON or python3, when it has one (not in CI). */
const torchReason = await probeTorch('cpu');

describe('pytorch system: what needs no torch', () => {
  it('float32 arrays travel as base64 of their little-endian bytes', () => {
    const a = Float32Array.from([0, -1.5, 3.25, 2 ** -126, Number.POSITIVE_INFINITY]);
    expect(encodeF32(a)).toBe(Buffer.from(a.buffer).toString('base64'));
    expect(decodeF32(encodeF32(a))).toEqual(a);
    // A view at an offset encodes its own values only.
    expect(decodeF32(encodeF32(a.subarray(1, 3)))).toEqual(Float32Array.from([-1.5, 3.25]));
  });

  it('the init message carries the workload, the device and every array', () => {
    const w = selectWorkloads(['W4'], SMALL).find((x) => x.id === 'W4-reset-after')!;
    const p = makeProblem(w, 1);
    const m = JSON.parse(initMessage(p, 'cuda', 1));
    expect(m.type).toBe('init');
    expect(m.device).toBe('cuda');
    expect(m.workload).toEqual(w);
    expect(Object.keys(m.arrays).sort()).toEqual([
      'bias_hh_l0',
      'bias_ih_l0',
      'target',
      'weight_hh_l0',
      'weight_ih_l0',
      'x',
    ]);
    expect(decodeF32(m.arrays.weight_ih_l0)).toEqual(p.weights.weight_ih_l0);
    expect(decodeF32(m.arrays.x)).toEqual(p.x);
  });

  it('runs the reset-after GRU, not the reset-before one (nn.GRU has no such option)', () => {
    const spec = PYTORCH_SYSTEMS.find((s) => s.id === 'pytorch')!;
    const [w4, w4ra] = selectWorkloads(['W4']);
    expect(spec.supports(w4!)).toMatch(/nn.GRU is reset-after/);
    expect(spec.supports(w4ra!)).toBeNull();
    expect(spec.optIn).toBe(true);
  });

  it('says in one line when the Python is missing', async () => {
    expect(await probeTorch('cpu', '/nonexistent/python3')).toBe(
      '/nonexistent/python3 not found: install Python 3 with PyTorch, or set RECUR_BENCH_PYTHON',
    );
  });

  it.skipIf(torchReason === null || !runs(python(), ['-c', '0']))(
    'without torch, the bench skips pytorch with the reason: torch not found',
    async () => {
      const r = await runBench({
        workloads: ['W2'],
        systems: ['recur-js', 'pytorch', 'pytorch-cpu'],
        shape: SMALL,
        reps: 1,
        log: () => {},
      });
      expect(r.rows.map((x) => x.system)).toEqual(['recur-js']);
      for (const id of ['pytorch', 'pytorch-cpu']) {
        const skip = r.skipped.find((s) => s.system === id);
        expect(skip?.reason).toMatch(
          /^torch not found: \S+ could not import torch \(.*No module named 'torch'/,
        );
      }
    },
  );

  it.skipIf(!numpy)(
    'torch_rnn.py reads the layouts recur-js computes with (its own tests, with numpy)',
    async () => {
      // Small forward problems and what recur-js computes for them, for a numpy LSTM / GRU
      // written from PyTorch's equations on what torch_rnn.decode_problem reads.
      const cases = [];
      for (const w of [
        ...selectWorkloads(['W2'], SMALL),
        { ...selectWorkloads(['W4'], SMALL)[1]!, id: 'W4-reset-after-forward', mode: 'forward' as const },
      ]) {
        const p = makeProblem(w, 3);
        const runner = await recur.create('recur-js', 1, p);
        const r = await runner.check();
        await runner.dispose();
        const expected: Record<string, string> = { output: encodeF32(r.output!), hN: encodeF32(r.hN) };
        if (r.cN) expected.cN = encodeF32(r.cN);
        cases.push({ init: JSON.parse(initMessage(p, 'cpu', 1)), expected });
      }
      const fixture = join(tmp, 'fixture.json');
      writeFileSync(fixture, JSON.stringify(cases));
      const test = fileURLToPath(new URL('../gpu/test_torch_rnn.py', import.meta.url));
      const { stderr } = await promisify(execFile)('python3', [test, fixture]);
      expect(stderr).toMatch(/Ran 8 tests in .*\n\nOK\n/);
      expect(stderr).toMatch(/test_layouts_agree_with_recur .* ok/);
    },
  );
});

describe.runIf(torchReason === null)('pytorch-cpu end to end (a Python with torch here)', () => {
  it('every workload mode agrees with recur-js, and times itself', async () => {
    const r = await runBench({
      workloads: ['W1', 'W2', 'W3', 'W4'],
      systems: ['recur-js', 'pytorch-cpu'],
      threads: [1],
      shape: SMALL,
      reps: 2,
      log: () => {},
    });
    expect(r.rows.filter((x) => x.system === 'pytorch-cpu').map((x) => x.workload)).toEqual([
      'W1',
      'W2',
      'W3',
      'W3-stream',
      'W4-reset-after',
    ]);
    for (const c of r.checks) {
      if (c.maxAbsDiff !== undefined) expect(c.maxAbsDiff).toBeLessThan(1e-5);
      else expect(c.gradRelDiff).toBeLessThan(1e-5);
    }
    expect(r.rows.find((x) => x.system === 'pytorch-cpu')!.info).toMatch(
      /^torch \S+, CPU, 1 thread, TF32 off$/,
    );
    expect(r.skipped).toContainEqual({
      workload: 'W4',
      system: 'pytorch-cpu',
      reason: "nn.GRU is reset-after (PyTorch's and cuDNN's GRU); this workload is reset-before",
    });
  });
});

it('the script is in the package', () => {
  expect(TORCH_SCRIPT.endsWith(join('tooling', 'bench', 'gpu', 'torch_rnn.py'))).toBe(true);
});
