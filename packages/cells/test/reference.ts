/**
 * A plain-JS, scalar-loop reference of the cells, written from the equations in the PyTorch docs
 * (and Cho et al. 2014 for the reset-before GRU), to check the tensor implementation against.
 */
export interface RefWeights {
  wIh: number[][];
  wHh: number[][];
  bIh?: number[];
  bHh?: number[];
}

const sig = (v: number): number => 1 / (1 + Math.exp(-v));

function matVec(w: number[][], v: readonly number[], rows: [number, number]): number[] {
  const out: number[] = [];
  for (let r = rows[0]; r < rows[1]; r++) out.push(w[r]!.reduce((s, wv, j) => s + wv * v[j]!, 0));
  return out;
}

function gate(w: RefWeights, x: readonly number[], h: readonly number[], k: number, hid: number): number[] {
  const rows: [number, number] = [k * hid, (k + 1) * hid];
  const a = matVec(w.wIh, x, rows);
  const b = matVec(w.wHh, h, rows);
  return a.map((v, i) => v + b[i]! + (w.bIh?.[k * hid + i] ?? 0) + (w.bHh?.[k * hid + i] ?? 0));
}

export function refRnn(w: RefWeights, x: number[], h: number[], relu: boolean): number[] {
  return gate(w, x, h, 0, h.length).map((v) => (relu ? Math.max(0, v) : Math.tanh(v)));
}

export function refLstm(w: RefWeights, x: number[], h: number[], c: number[]): { h: number[]; c: number[] } {
  const hid = c.length;
  const [i, f, g, o] = [0, 1, 2, 3].map((k) => gate(w, x, h, k, hid)) as [
    number[],
    number[],
    number[],
    number[],
  ];
  const cNext = c.map((cv, j) => sig(f[j]!) * cv + sig(i[j]!) * Math.tanh(g[j]!));
  return { h: cNext.map((cv, j) => sig(o[j]!) * Math.tanh(cv)), c: cNext };
}

export function refGru(w: RefWeights, x: number[], h: number[], resetAfter: boolean): number[] {
  const hid = h.length;
  const r = gate(w, x, h, 0, hid).map(sig);
  const z = gate(w, x, h, 1, hid).map(sig);
  const xn = matVec(w.wIh, x, [2 * hid, 3 * hid]).map((v, j) => v + (w.bIh?.[2 * hid + j] ?? 0));
  let n: number[];
  if (resetAfter) {
    const hn = matVec(w.wHh, h, [2 * hid, 3 * hid]).map((v, j) => v + (w.bHh?.[2 * hid + j] ?? 0));
    n = xn.map((v, j) => Math.tanh(v + r[j]! * hn[j]!));
  } else {
    const rh = h.map((v, j) => r[j]! * v);
    const hn = matVec(w.wHh, rh, [2 * hid, 3 * hid]).map((v, j) => v + (w.bHh?.[2 * hid + j] ?? 0));
    n = xn.map((v, j) => Math.tanh(v + hn[j]!));
  }
  return n.map((nv, j) => (1 - z[j]!) * nv + z[j]! * h[j]!);
}
