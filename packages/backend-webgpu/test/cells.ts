import { type CompiledScan, compileScan, Executable, names, type ScanSpec } from '@recur/graph-compiler';
import { type CellKind, steps as referenceSteps } from '@recur/graph-compiler/testkit';
import * as R from '@recur/tensor';

export { type CellKind, cellSpec } from '@recur/graph-compiler/testkit';

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
    return new Replay(compileScan(referenceSteps[cell], spec, { steps, train, backend: cpu }), on);
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
