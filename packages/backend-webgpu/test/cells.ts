import {
  type CompiledScan,
  compileScan,
  Executable,
  names,
  type ScanSpec,
  type StepFn,
} from '@recur/graph-compiler';
import * as R from '@recur/tensor';

/** LSTM, GRU (reset-after) and Elman steps in PyTorch's layouts, written with plain tensor ops. */
export type CellKind = 'lstm' | 'gru' | 'rnn';

export const STEPS: Record<CellKind, StepFn> = {
  lstm: ({ h, c }, { x }, p) => {
    const gates = x!
      .matmul(p.wih!, { transB: true })
      .add(p.bih!)
      .add(h!.matmul(p.whh!, { transB: true }).add(p.bhh!));
    const [i, f, g, o] = gates.split(4, -1) as [R.Tensor, R.Tensor, R.Tensor, R.Tensor];
    const c2 = f.sigmoid().mul(c!).add(i.sigmoid().mul(g.tanh()));
    const h2 = o.sigmoid().mul(c2.tanh());
    return { carry: { h: h2, c: c2 }, y: { h: h2 } };
  },
  gru: ({ h }, { x }, p) => {
    const gi = x!.matmul(p.wih!, { transB: true }).add(p.bih!);
    const gh = h!.matmul(p.whh!, { transB: true }).add(p.bhh!);
    const [ir, iz, inn] = gi.split(3, -1) as [R.Tensor, R.Tensor, R.Tensor];
    const [hr, hz, hn] = gh.split(3, -1) as [R.Tensor, R.Tensor, R.Tensor];
    const r = ir.add(hr).sigmoid();
    const z = iz.add(hz).sigmoid();
    const n = inn.add(r.mul(hn)).tanh();
    const h2 = R.sub(1, z).mul(n).add(z.mul(h!));
    return { carry: { h: h2 }, y: { h: h2 } };
  },
  rnn: ({ h }, { x }, p) => {
    const h2 = x!
      .matmul(p.wih!, { transB: true })
      .add(p.bih!)
      .add(h!.matmul(p.whh!, { transB: true }).add(p.bhh!))
      .tanh();
    return { carry: { h: h2 }, y: { h: h2 } };
  },
};

const GATES: Record<CellKind, number> = { lstm: 4, gru: 3, rnn: 1 };

export function cellSpec(cell: CellKind, b: number, d: number, h: number): ScanSpec {
  const g = GATES[cell] * h;
  return {
    carry: cell === 'lstm' ? { h: { shape: [b, h] }, c: { shape: [b, h] } } : { h: { shape: [b, h] } },
    xs: { x: { shape: [b, d] } },
    params: { wih: { shape: [g, d] }, whh: { shape: [g, h] }, bih: { shape: [g] }, bhh: { shape: [g] } },
  };
}

/**
 * A scan compiled once (traced and planned on a CPU backend, which captures constants
 * synchronously) and replayed through an `Executable` bound to any backend.
 */
export class Replay {
  readonly exe: Executable;
  private readonly forwardStages: number;

  constructor(
    readonly compiled: CompiledScan,
    readonly backend: R.Backend,
  ) {
    this.exe = new Executable(backend, compiled.lowered, compiled.plan);
    this.forwardStages = compiled.programs.forward.stages.length;
  }

  static compile(
    cell: CellKind,
    spec: ScanSpec,
    steps: number,
    train: boolean,
    on: R.Backend,
    cpu: R.Backend,
  ) {
    return new Replay(compileScan(STEPS[cell], spec, { steps, train, backend: cpu }), on);
  }

  /** Enqueues the forward program; nothing is read. */
  forward(env: ReadonlyMap<string, R.Tensor>): void {
    this.exe.run(env, 0, this.forwardStages);
  }

  /** Enqueues the backward program (after `forward`, with the cotangents bound). */
  backward(env: ReadonlyMap<string, R.Tensor>): void {
    this.exe.run(env, this.forwardStages);
  }

  outputs(train: boolean): Map<string, R.Tensor> {
    const step = this.compiled.step;
    const want = [
      ...step.carries.map(names.final),
      ...step.ys.map(names.ys),
      ...(train
        ? [...step.carries.map(names.dinit), ...step.xs.map(names.dxs), ...step.params.map(names.dparam)]
        : []),
    ];
    return new Map(want.map((n) => [n, this.exe.read(n)]));
  }

  dispose(): void {
    this.exe.dispose();
  }
}

/** Seeded host values for every name the forward and backward programs read. */
export function hostEnv(
  spec: ScanSpec,
  steps: number,
  seed: number,
  withCotangents: boolean,
): Map<string, { shape: number[]; values: Float32Array }> {
  const env = new Map<string, { shape: number[]; values: Float32Array }>();
  const rng = new R.Rng(seed);
  const put = (name: string, shape: readonly number[], scale: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = scale * rng.normal();
    env.set(name, { shape: [...shape], values });
  };
  for (const [k, v] of Object.entries(spec.carry)) put(names.init(k), v.shape, 0.5);
  for (const [n, v] of Object.entries(spec.xs)) put(n, [steps, ...v.shape], 0.5);
  for (const [p, v] of Object.entries(spec.params)) put(p, v.shape, 0.3);
  if (withCotangents) {
    // Every step here returns one per-step output, y = h.
    for (const [k, v] of Object.entries(spec.carry)) put(names.dfinal(k), v.shape, 1);
    put(names.dys('h'), [steps, ...spec.carry.h!.shape], 1);
  }
  return env;
}

export function upload(
  host: ReadonlyMap<string, { shape: number[]; values: Float32Array }>,
  backend: R.Backend,
): Map<string, R.Tensor> {
  return new Map(
    [...host].map(([name, v]) => [name, R.fromData(v.values, v.shape, { backend })] as [string, R.Tensor]),
  );
}
