import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { canFreeze, DEFAULT_SETTLE_MS, defaultIsolation, ISOLATIONS, type Isolation } from './isolation.js';
import { type CheckResult, makeProblem, onnxModelOf, type Problem } from './problem.js';
import { installHandlers, SystemProcess, uninstallHandlers } from './process.js';
import { maxAbsDiff, summarize } from './stats.js';
import { SYSTEMS, type SystemSpec } from './systems/index.js';
import {
  DEFAULT_GROUPS,
  DELEGATED,
  flopsOf,
  type Shape,
  selectWorkloads,
  WORKLOADS,
  type Workload,
} from './workloads.js';

export interface BenchOptions {
  /** Workload groups (`W1`…`W4`, `W6`, `W8`); default W1–W4. */
  readonly workloads?: readonly string[];
  /** Systems by id (see `SYSTEMS`); default all. */
  readonly systems?: readonly string[];
  /** Thread counts for systems that offer several (default 1 and 2); single-threaded systems always run. */
  readonly threads?: readonly number[];
  /** Timed repetitions per system (default 10). */
  readonly reps?: number;
  /** Repetitions of a slow system: one whose check or warm-up run took over `slowMs` (default 3). */
  readonly slowReps?: number;
  /** What counts as slow, in ms (default 1000). */
  readonly slowMs?: number;
  /** Untimed runs per system after the check run (default 1; none for a slow system). */
  readonly warmup?: number;
  /** Overrides the workloads' shapes (for smoke tests; figures are then not the workloads'). */
  readonly shape?: Partial<Shape>;
  /** Seed of the weights and inputs (default 1). */
  readonly seed?: number;
  /**
   * How systems are kept from disturbing each other's timings (each runs in a child process of its
   * own): `freeze` stops every system process but the one whose turn it is (POSIX; the default
   * there), `settle` waits `settleMs` after each turn (the default elsewhere).
   */
  readonly isolation?: Isolation;
  /** `settle`: the wait after each turn, in ms (default 150). */
  readonly settleMs?: number;
  /** Systems beyond `SYSTEMS`, selectable by id like those (tests, experiments). */
  readonly extraSystems?: readonly SystemSpec[];
  /** Progress lines (default: to stderr). */
  readonly log?: (line: string) => void;
}

export interface BenchRow {
  readonly workload: string;
  readonly title: string;
  readonly system: string;
  readonly backend: string;
  readonly threads: number;
  readonly ours: boolean;
  /** What the system said it runs on (versions, device, adapter), when it says. */
  readonly info?: string;
  readonly reps: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly samplesMs: readonly number[];
  /** FLOPs of one run (BENCHMARKS.md's formula) over the median time. */
  readonly gflops: number;
  /** Streaming: the median per token, in µs. */
  readonly perTokenUs?: number;
  /** Median over the fastest peer's median on the same workload in this run (null: no peer ran). */
  readonly ratioToFastestPeer: number | null;
}

export interface BenchCheck {
  readonly workload: string;
  readonly system: string;
  readonly threads: number;
  /** Largest |difference| from ours over the outputs and final states (forward, streaming). */
  readonly maxAbsDiff?: number;
  /** Training: |loss − ours| / |ours|. */
  readonly lossRelDiff?: number;
  /** Training: max |d weight_ih − ours| / max |ours|. */
  readonly gradRelDiff?: number;
}

export interface BenchSkip {
  readonly workload?: string;
  readonly system: string;
  readonly threads?: number;
  readonly reason: string;
}

export interface BenchReport {
  readonly date: string;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly memoryGiB: number;
    readonly node: string;
    readonly platform: string;
    readonly loadAverageBefore: readonly number[];
    readonly loadAverageAfter: readonly number[];
  };
  readonly options: {
    readonly workloads: readonly string[];
    readonly systems: readonly string[];
    readonly threads: readonly number[];
    readonly reps: number;
    readonly slowReps: number;
    readonly slowMs: number;
    readonly warmup: number;
    readonly seed: number;
    readonly isolation: Isolation;
    readonly settleMs?: number;
    readonly shape?: Partial<Shape>;
  };
  readonly rows: readonly BenchRow[];
  readonly checks: readonly BenchCheck[];
  readonly skipped: readonly BenchSkip[];
  readonly delegated: readonly {
    readonly workload: string;
    readonly script: string;
    readonly exitCode: number;
  }[];
}

/** A system's result differs from ours: the run stops, as no timing of different work means anything. */
export class BenchCheckError extends Error {
  override name = 'BenchCheckError';
}

/**
 * Tolerances of the equality check, for f32 computed in different orders: outputs (bounded by 1)
 * absolute; the loss relative (a mean of T·B·H squares summed naively in f32, as tfjs-wasm does,
 * drifts by about 1e-4 at W1's 524 288 terms); d weight_ih relative to its largest entry. A wrong
 * gate order, activation or bias misses these by orders of magnitude.
 */
export const TOLERANCE = { output: 1e-4, loss: 1e-3, grad: 1e-3 } as const;

/** Compares a system's check result with ours; returns the differences or throws `BenchCheckError`. */
export function compareWithOurs(
  w: Workload,
  label: string,
  ours: CheckResult,
  theirs: CheckResult,
): BenchCheck {
  const fail = (what: string) => {
    throw new BenchCheckError(
      `${w.id}: ${label} does not compute what ours computes: ${what}. Timings would compare different work, so the run stops.`,
    );
  };
  const base = { workload: w.id, system: label.split(' ')[0]!, threads: 0 };
  if (w.mode === 'train') {
    if (ours.loss === undefined || theirs.loss === undefined) fail('no loss');
    const lossRelDiff = Math.abs(theirs.loss! - ours.loss!) / Math.max(Math.abs(ours.loss!), 1e-12);
    if (!(lossRelDiff <= TOLERANCE.loss)) fail(`loss ${theirs.loss} against ${ours.loss}`);
    if (!ours.gradWeightIh || !theirs.gradWeightIh) fail('no gradient of weight_ih');
    const g = maxAbsDiff(theirs.gradWeightIh!, ours.gradWeightIh!);
    const gradRelDiff = g.diff / Math.max(g.scale, 1e-12);
    if (!(gradRelDiff <= TOLERANCE.grad)) {
      fail(`d loss/d weight_ih differs by up to ${g.diff} (largest |value| ${g.scale})`);
    }
    return { ...base, lossRelDiff, gradRelDiff };
  }
  let worst = 0;
  const pairs: [string, Float32Array | undefined, Float32Array | undefined][] = [
    ['output', theirs.output, ours.output],
    ['final h', theirs.hN, ours.hN],
    ['final c', theirs.cN, ours.cN],
  ];
  for (const [name, a, b] of pairs) {
    if (b === undefined) continue;
    if (a === undefined) fail(`no ${name}`);
    const d = maxAbsDiff(a!, b).diff;
    if (!(d <= TOLERANCE.output)) fail(`${name} differs by up to ${d} (tolerance ${TOLERANCE.output})`);
    worst = Math.max(worst, d);
  }
  return { ...base, maxAbsDiff: worst };
}

const defaultLog = (line: string) => {
  process.stderr.write(`${line}\n`);
};

/**
 * Runs the chosen workloads on the chosen systems, interleaved: for each workload, every system
 * runs in a child process of its own, is checked against ours (outputs and final states, or the
 * loss and a gradient) and fails the run if it differs, is warmed up, and then the systems take
 * turns, one repetition each per round (the order rotating), so that a busy moment of the machine
 * hits all of them alike. Only the system whose turn it is runs: the others' processes are frozen
 * (or, under `settle`, given time to go quiet), so that no thread pool of one spins on the cores
 * another is timed on.
 */
export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const log = options.log ?? defaultLog;
  const groups = options.workloads?.length ? [...options.workloads] : [...DEFAULT_GROUPS];
  const known = [...SYSTEMS, ...(options.extraSystems ?? [])];
  const systemIds = options.systems?.length
    ? [...options.systems]
    : known.filter((s) => !s.optIn).map((s) => s.id);
  const unknown = systemIds.filter((id) => !known.some((s) => s.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `bench: expected systems among ${known.map((s) => s.id).join(', ')}, found ${unknown.join(', ')}.`,
    );
  }
  const isolation = options.isolation ?? defaultIsolation();
  if (!ISOLATIONS.includes(isolation)) {
    throw new Error(`bench: expected isolation ${ISOLATIONS.join(' or ')}, found '${isolation}'.`);
  }
  if (isolation === 'freeze' && !canFreeze()) {
    throw new Error(
      `bench: isolation 'freeze' needs POSIX process signals, which ${process.platform} lacks; use 'settle'.`,
    );
  }
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  if (!(Number.isFinite(settleMs) && settleMs >= 0)) {
    throw new Error(`bench: expected settleMs to be a number ≥ 0, found ${settleMs}.`);
  }
  const processOptions = { isolation, settleMs };
  const threads = options.threads?.length ? [...options.threads] : [1, 2];
  const reps = options.reps ?? 10;
  const slowReps = Math.min(options.slowReps ?? 3, reps);
  const slowMs = options.slowMs ?? 1000;
  const warmup = options.warmup ?? 1;
  const seed = options.seed ?? 1;
  for (const [name, v, min] of [
    ['reps', reps, 1],
    ['slowReps', slowReps, 1],
    ['warmup', warmup, 0],
  ] as const) {
    if (!Number.isInteger(v) || v < min)
      throw new Error(`bench: expected ${name} to be an integer ≥ ${min}, found ${v}.`);
  }
  const workloads = selectWorkloads(groups, options.shape);
  const loadBefore = loadavg();
  const rows: BenchRow[] = [];
  const checks: BenchCheck[] = [];
  const skipped: BenchSkip[] = [];
  const delegated: { workload: string; script: string; exitCode: number }[] = [];

  const specs = known.filter((s) => systemIds.includes(s.id));
  const availability = new Map<string, string | null>();
  for (const s of specs) {
    const why = await s.available();
    availability.set(s.id, why);
    if (why) {
      skipped.push({ system: s.id, reason: why });
      log(`skip ${s.id}: ${why}`);
    }
  }
  const reference = SYSTEMS.find((s) => s.id === 'recur-js')!;

  // An exit or a signal (Ctrl-C) during the run takes the system processes with it.
  installHandlers();
  try {
    for (const w of workloads) await runWorkload(w);
  } finally {
    uninstallHandlers();
  }

  async function runWorkload(w: Workload): Promise<void> {
    log(`\n${w.id}: ${w.title}, B=${w.shape.B} T=${w.shape.T} D=${w.shape.D} H=${w.shape.H}`);
    let problem: Problem = makeProblem(w, seed);
    // Every system of the workload, with each of its thread counts, in the table's order.
    const plan: { spec: SystemSpec; threads: number }[] = [];
    // The processes started, in the order of the plan (closed whatever happens).
    const procs: SystemProcess[] = [];
    try {
      for (const s of specs) {
        if (availability.get(s.id)) continue;
        const unsupported = s.supports(w);
        if (unsupported) {
          skipped.push({ workload: w.id, system: s.id, reason: unsupported });
          log(`  skip ${s.id}: ${unsupported}`);
          continue;
        }
        // --threads picks among the thread counts of systems that have several; a system with one
        // (recur-js, tfjs) always runs with it.
        const ts = s.threads.length === 1 ? s.threads : s.threads.filter((t) => threads.includes(t));
        if (ts.length === 0) {
          const reason = `runs with ${s.threads.join(' or ')} threads only`;
          skipped.push({ workload: w.id, system: s.id, reason });
          log(`  skip ${s.id}: ${reason}`);
          continue;
        }
        for (const t of ts) plan.push({ spec: s, threads: t });
      }
      if (w.mode !== 'train' && plan.some((p) => p.spec.needsOnnx)) {
        problem = { ...problem, onnx: await onnxModelOf(w, seed) };
      }
      // Ours is the reference; when recur-js is not among the systems, it runs for the check alone.
      // The processes start one at a time, each frozen once it has answered, so that nothing else
      // of the benchmark runs during a check or a timed run.
      const checkMs = new Map<SystemProcess, number>();
      const refPlan = plan.find((p) => p.spec.id === 'recur-js');
      const ref = new SystemProcess(reference, 1, problem, processOptions);
      if (refPlan) procs.push(ref);
      try {
        await ref.start();
        const ours = await ref.check();
        checkMs.set(ref, ours.ms);
        for (const p of plan) {
          if (p === refPlan) continue;
          const x = new SystemProcess(p.spec, p.threads, problem, processOptions);
          try {
            await x.start();
          } catch (e) {
            // A system that cannot start here (no GPU, no shared memory…) is skipped, with the reason.
            const reason = `could not start: ${(e as Error).message.split('\n')[0]}`;
            skipped.push({ workload: w.id, system: x.spec.id, threads: x.threads, reason });
            log(`  skip ${x.label}: ${reason}`);
            await x.close();
            continue;
          }
          procs.push(x);
          if (x.info) log(`  start ${x.label}: ${x.info}`);
          const theirs = await x.check();
          checkMs.set(x, theirs.ms);
          const c = compareWithOurs(w, x.label, ours.result, theirs.result);
          checks.push({ ...c, system: x.spec.id, threads: x.threads });
          log(
            `  check ${x.label}: ${c.maxAbsDiff !== undefined ? `max |diff| ${c.maxAbsDiff.toExponential(1)}` : `loss rel. diff ${c.lossRelDiff!.toExponential(1)}, grad rel. diff ${c.gradRelDiff!.toExponential(1)}`}`,
          );
        }
      } finally {
        if (!refPlan) await ref.close();
      }

      const repsOf = new Map<SystemProcess, number>();
      for (const x of procs) {
        // A system slower than slowMs is warm after its check run (JIT and caches: a second of
        // work is plenty) and gets fewer repetitions; the others get `warmup` more untimed runs.
        const first = checkMs.get(x)!;
        const slow = first > slowMs;
        let last = first;
        if (!slow) for (let i = 0; i < warmup; i++) last = await x.run();
        const n = slow || last > slowMs ? slowReps : reps;
        repsOf.set(x, n);
        log(
          `  warm ${x.label}: check run ${first.toFixed(1)} ms, last warm-up ${last.toFixed(1)} ms → ${n} reps`,
        );
      }
      const samples = new Map<SystemProcess, number[]>(procs.map((x) => [x, []]));
      const rounds = Math.max(0, ...repsOf.values());
      for (let r = 0; r < rounds; r++) {
        const order = procs.map((_, i) => procs[(i + r) % procs.length]!);
        for (const x of order) {
          if (samples.get(x)!.length < repsOf.get(x)!) samples.get(x)!.push(await x.run());
        }
      }
      const flops = flopsOf(w);
      const partial = procs.map((x) => {
        const ms = samples.get(x)!;
        const s = summarize(ms);
        return {
          workload: w.id,
          title: w.title,
          system: x.spec.id,
          backend: x.spec.backend,
          threads: x.threads,
          ours: x.spec.ours,
          ...(x.info ? { info: x.info } : {}),
          reps: ms.length,
          medianMs: s.median,
          minMs: s.min,
          maxMs: s.max,
          samplesMs: ms,
          gflops: flops / (s.median * 1e6),
          ...(w.mode === 'stream' ? { perTokenUs: (s.median * 1000) / w.shape.T } : {}),
        };
      });
      const peers = partial.filter((p) => !p.ours).map((p) => p.medianMs);
      const fastestPeer = peers.length > 0 ? Math.min(...peers) : null;
      for (const p of partial)
        rows.push({ ...p, ratioToFastestPeer: fastestPeer ? p.medianMs / fastestPeer : null });
    } finally {
      await Promise.all(procs.map((x) => x.close()));
    }
  }

  for (const g of groups) {
    const script = DELEGATED[g];
    if (!script) continue;
    log(`\n${g}: delegated to ${script}`);
    delegated.push({ workload: g, script, exitCode: await runDelegated(script) });
  }

  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    machine: {
      cpu: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      loadAverageBefore: loadBefore.map((v) => Number(v.toFixed(2))),
      loadAverageAfter: loadavg().map((v) => Number(v.toFixed(2))),
    },
    options: {
      workloads: groups,
      systems: specs.map((s) => s.id),
      threads,
      reps,
      slowReps,
      slowMs,
      warmup,
      seed,
      isolation,
      ...(isolation === 'settle' ? { settleMs } : {}),
      ...(options.shape ? { shape: options.shape } : {}),
    },
    rows,
    checks,
    skipped,
    delegated,
  };
}

const repoRoot = new URL('../../../', import.meta.url);

/** Runs a delegated benchmark script (its report goes to stderr, keeping stdout for ours). */
async function runDelegated(script: string): Promise<number> {
  const path = fileURLToPath(new URL(script, repoRoot));
  await access(path);
  const cwd = fileURLToPath(new URL(script.split('/').slice(0, 2).join('/'), repoRoot));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path], { cwd, stdio: ['ignore', 2, 2] });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

export { WORKLOADS };
