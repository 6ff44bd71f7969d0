import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeBackends } from '../src/backends.js';
import { findDataDir } from '../src/data-path.js';
import { jsonLines, run, runWith } from './run.js';

// Training on WebGPU end to end: on a GPU where there is one, else on SwiftShader (the Vulkan
// driver on the CPU that CI installs). Without any adapter the tests are skipped, saying why.
const gpu = (await probeBackends()).find((b) => b.name === 'webgpu');
if (!gpu?.available) console.warn(`[cli] skipping the WebGPU training tests: ${gpu?.reason ?? 'not probed'}`);
else console.info(`[cli] WebGPU adapter: ${gpu.adapter}`);

const TINY = [
  '--hidden',
  '16',
  '--embedding',
  '8',
  '--seq-len',
  '8',
  '--batch',
  '4',
  '--lr',
  '0.02',
  '--epochs',
  '1',
  '--eval-every',
  '0',
  '--seed',
  '4',
];

let dir = '';
let text = '';

beforeAll(async () => {
  const shared = findDataDir();
  if (shared === null) throw new Error('the bundled data (../shared/data) is needed for these tests');
  dir = await mkdtemp(join(tmpdir(), 'recur-cli-webgpu-'));
  text = join(dir, 'tiny.txt');
  await writeFile(text, (await readFile(join(shared, 'text', 'tinyshakespeare.txt'), 'utf8')).slice(0, 1600));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!gpu?.available)('recur train charlm --backend webgpu', () => {
  it('trains, samples and evaluates on the GPU, matching the CPU run within f32 rounding', async () => {
    const onGpu = join(dir, 'gpu');
    const onCpu = join(dir, 'cpu');
    const g = await run(
      'train',
      'charlm',
      '--text',
      text,
      ...TINY,
      '--backend',
      'webgpu',
      '--out',
      onGpu,
      '--json',
    );
    expect(g.code).toBe(0);
    const c = await run(
      'train',
      'charlm',
      '--text',
      text,
      ...TINY,
      '--backend',
      'js',
      '--out',
      onCpu,
      '--json',
    );
    expect(c.code).toBe(0);
    const gl = jsonLines(g.out);
    const cl = jsonLines(c.out);
    expect(gl[1]!.backend).toBe('webgpu');
    const epochG = gl.find((l) => 'epoch' in l)!;
    const epochC = cl.find((l) => 'epoch' in l)!;
    expect(epochG.loss as number).toBeCloseTo(epochC.loss as number, 3);
    const lossG = gl.at(-1)!.validLoss as number;
    const lossC = cl.at(-1)!.validLoss as number;
    expect(lossG).toBeCloseTo(lossC, 3);
    // It learned: better than a uniform guess over the vocabulary.
    expect(lossG).toBeLessThan(Math.log(gl[0]!.vocabulary as number) - 0.3);
    expect(gl.find((l) => 'sample' in l)!.sample).toMatch(/^.{201}$/su);

    const evalG = await run('eval', '--model', onGpu, '--backend', 'webgpu', '--json');
    const evalC = await run('eval', '--model', onGpu, '--backend', 'js', '--json');
    expect(evalG.code).toBe(0);
    expect(jsonLines(evalG.out)[0]!.loss as number).toBeCloseTo(jsonLines(evalC.out)[0]!.loss as number, 4);
    const s = await run(
      'sample',
      '--model',
      onGpu,
      '--backend',
      'webgpu',
      '--prime',
      'KING',
      '--length',
      '30',
      '--seed',
      '2',
    );
    expect(s.code).toBe(0);
    expect(s.out.join('\n')).toMatch(/^KING.{30}$/su);
  });

  it('stops on Ctrl-C with a checkpoint read back from the GPU, and resumes to the same weights', async () => {
    const full = join(dir, 'full');
    const r = await run('train', 'charlm', '--text', text, ...TINY, '--backend', 'webgpu', '--out', full);
    expect(r.code).toBe(0);
    const out = join(dir, 'resumed');
    const controller = new AbortController();
    const stopped = await runWith(
      { signal: controller.signal, onStep: (step) => step === 20 && controller.abort() },
      'train',
      'charlm',
      '--text',
      text,
      ...TINY,
      '--backend',
      'webgpu',
      '--out',
      out,
    );
    expect(stopped.code).toBe(130);
    const saved = JSON.parse(await readFile(join(out, 'checkpoint.json'), 'utf8'));
    expect(saved.extra.carried.h.shape).toEqual([1, 4, 16]);
    expect(saved.optimizer.params.length).toBeGreaterThan(0);
    const resumed = await run('train', 'charlm', '--resume', out, '--backend', 'webgpu');
    expect(resumed.code).toBe(0);
    const a = await readFile(join(out, 'model.safetensors'));
    expect(a.equals(await readFile(join(full, 'model.safetensors')))).toBe(true);
  });
});
