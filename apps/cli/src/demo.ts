import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JsBackend } from '@recur/backend-js';
import * as R from '@recur/tensor';
import { findDataDir } from './data-path.js';

export interface DemoOptions {
  steps: number;
  hidden: number;
  seqLen: number;
  batch: number;
  lr: number;
  seed: number;
  /** Characters of text to learn from. */
  chars: number;
  textFile?: string;
  log: (line: string) => void;
}

export interface DemoResult {
  losses: number[];
  sample: string;
  source: string;
}

const FALLBACK =
  'to be, or not to be, that is the question: whether tis nobler in the mind to suffer the slings and arrows of outrageous fortune, or to take arms against a sea of troubles and by opposing end them. ';

/**
 * A character-level Elman RNN, written directly with the tensor API: h_t = tanh(x_t·W_xh + h_{t-1}·W_hh + b_h),
 * logits_t = h_t·W_hy + b_y, trained by backpropagation through time with Adam.
 * x_t is one-hot, so x_t·W_xh is a row lookup: `gather`.
 */
export function runDemo(o: DemoOptions): DemoResult {
  const backend = new JsBackend();
  R.setBackend(backend);
  const { text, source } = loadText(o);
  const vocab = [...new Set(text)].sort();
  const index = new Map(vocab.map((c, i) => [c, i]));
  const ids = Int32Array.from(text, (c) => index.get(c)!);
  const V = vocab.length;
  const H = o.hidden;
  const rng = new R.Rng(o.seed);
  const scale = 1 / Math.sqrt(H);
  const param = (shape: number[]) =>
    R.rand(shape, { seed: rng, low: -scale, high: scale, requiresGrad: true });
  const params = {
    wxh: param([V, H]),
    whh: param([H, H]),
    bh: param([H]),
    why: param([H, V]),
    by: param([V]),
  };
  const adam = new Adam(Object.values(params), o.lr);

  o.log(
    `Elman RNN, ${V} characters, hidden ${H}, ${o.seqLen} steps of BPTT, batch ${o.batch}; text: ${source}`,
  );
  const losses: number[] = [];
  for (let step = 1; step <= o.steps; step++) {
    const starts = Array.from({ length: o.batch }, () => rng.int(ids.length - o.seqLen - 1));
    const loss = R.tidy(() => {
      const inputs = R.tensor(batchAt(ids, starts, 0, o.seqLen), [o.batch, o.seqLen], { dtype: 'i32' });
      const targets = R.tensor(batchAt(ids, starts, 1, o.seqLen), [o.batch, o.seqLen], { dtype: 'i32' });
      const xw = params.wxh.gather(inputs); // [B, T, H]
      let h = R.zeros([o.batch, H]);
      const logits: R.Tensor[] = [];
      for (let t = 0; t < o.seqLen; t++) {
        const xt = xw.slice([0, t, 0], [o.batch, t + 1, H]).reshape([o.batch, H]);
        h = xt.add(h.matmul(params.whh)).add(params.bh).tanh();
        logits.push(h.matmul(params.why).add(params.by));
      }
      const l = R.crossEntropy(R.stack(logits, 1), targets);
      l.backward();
      return l.item();
    });
    adam.step();
    losses.push(loss);
    if (step === 1 || step % Math.max(1, Math.floor(o.steps / 12)) === 0 || step === o.steps) {
      o.log(`step ${String(step).padStart(4)}  loss ${loss.toFixed(3)}`);
    }
  }
  const sample = sampleText(params, vocab, index, text[0]!, 80, rng);
  o.log(`sample: ${JSON.stringify(sample)}`);
  for (const p of Object.values(params)) p.dispose();
  adam.dispose();
  return { losses, sample, source };
}

function loadText(o: DemoOptions): { text: string; source: string } {
  const file =
    o.textFile ??
    (() => {
      const dir = findDataDir();
      return dir ? join(dir, 'text', 'tinyshakespeare.txt') : null;
    })();
  if (file) {
    if (!existsSync(file)) {
      throw new Error(
        `demo: expected a text file at ${file}, found none. Pass --text with an existing file.`,
      );
    }
    const text = readFileSync(file, 'utf8').slice(0, o.chars);
    if (text.length < o.seqLen + 2) {
      throw new Error(`demo: expected at least ${o.seqLen + 2} characters in ${file}, found ${text.length}.`);
    }
    return { text, source: `${file} (first ${text.length} characters)` };
  }
  return { text: FALLBACK.repeat(4), source: 'a built-in verse (bundled data not found; set RECUR_DATA)' };
}

function batchAt(ids: Int32Array, starts: number[], shift: number, len: number): Int32Array {
  const out = new Int32Array(starts.length * len);
  starts.forEach((s, b) => {
    out.set(ids.subarray(s + shift, s + shift + len), b * len);
  });
  return out;
}

function sampleText(
  p: Record<'wxh' | 'whh' | 'bh' | 'why' | 'by', R.Tensor>,
  vocab: string[],
  index: Map<string, number>,
  first: string,
  length: number,
  rng: R.Rng,
): string {
  let out = first;
  let h = R.zeros([1, p.whh.shape[0]!]);
  let id = index.get(first)!;
  for (let i = 0; i < length; i++) {
    const [next, probs] = R.noGrad(() =>
      R.tidy(() => {
        const x = p.wxh.gather(R.tensor([id], { dtype: 'i32' }));
        const hn = x.add(h.matmul(p.whh)).add(p.bh).tanh();
        return [hn, hn.matmul(p.why).add(p.by).softmax().dataSync()] as const;
      }),
    );
    h.dispose();
    h = next;
    id = pick(probs, rng.uniform());
    out += vocab[id];
  }
  h.dispose();
  return out;
}

/** The index where the cumulative probability first exceeds u. */
function pick(probs: ArrayLike<number>, u: number): number {
  let acc = 0;
  for (let i = 0; i < probs.length; i++) {
    acc += probs[i]!;
    if (u < acc) return i;
  }
  return probs.length - 1;
}

/** Adam (Kingma & Ba, 2015) with bias correction; `@recur/train` will provide the full family. */
class Adam {
  private t = 0;
  private readonly m: R.Tensor[];
  private readonly v: R.Tensor[];
  constructor(
    private readonly params: R.Tensor[],
    private readonly lr: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly eps = 1e-8,
  ) {
    this.m = params.map((p) => R.zerosLike(p));
    this.v = params.map((p) => R.zerosLike(p));
  }

  step(): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    R.noGrad(() =>
      R.tidy(() => {
        this.params.forEach((p, i) => {
          const g = p.grad;
          if (!g) return;
          const m = this.m[i]!.assign(this.m[i]!.mul(this.beta1).add(g.mul(1 - this.beta1)));
          const v = this.v[i]!.assign(this.v[i]!.mul(this.beta2).add(g.square().mul(1 - this.beta2)));
          p.assign(p.sub(m.div(c1).mul(this.lr).div(v.div(c2).sqrt().add(this.eps))));
          p.zeroGrad();
        });
      }),
    );
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}
