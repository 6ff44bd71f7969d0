import { JsBackend } from '@recur/backend-js';
import { type CellWeights, gruStep, lstmStep, rnnStep } from '@recur/cells';
import {
  type CompileStats,
  compileScan,
  type Graph,
  graphToDot,
  graphToMermaid,
  printGraph,
  printProgram,
  type ScanSpec,
  type StepFn,
} from '@recur/graph-compiler';
import { engine, type Tensor } from '@recur/tensor';

export type CellKind = 'lstm' | 'gru' | 'rnn';

export interface GraphCommandOptions {
  readonly cell: CellKind;
  readonly input: number;
  readonly hidden: number;
  readonly batch: number;
  readonly steps: number;
  readonly layers: number;
  readonly train: boolean;
}

const GATES: Record<CellKind, number> = { lstm: 4, gru: 3, rnn: 1 };

/**
 * A stacked recurrent step over `layers` layers (layer l reads layer l-1's new state at the same
 * step), written with the cells' step functions and PyTorch's parameter names.
 */
export function stackedStep(o: GraphCommandOptions): { step: StepFn; spec: ScanSpec } {
  const g = GATES[o.cell] * o.hidden;
  const carry: Record<string, { shape: number[] }> = {};
  const params: Record<string, { shape: number[] }> = {};
  for (let l = 0; l < o.layers; l++) {
    carry[`h${l}`] = { shape: [o.batch, o.hidden] };
    if (o.cell === 'lstm') carry[`c${l}`] = { shape: [o.batch, o.hidden] };
    params[`weight_ih_l${l}`] = { shape: [g, l === 0 ? o.input : o.hidden] };
    params[`weight_hh_l${l}`] = { shape: [g, o.hidden] };
    params[`bias_ih_l${l}`] = { shape: [g] };
    params[`bias_hh_l${l}`] = { shape: [g] };
  }
  const step: StepFn = (c, xs, p) => {
    let x = xs.x!;
    const next: Record<string, Tensor> = {};
    for (let l = 0; l < o.layers; l++) {
      const w: CellWeights = {
        weightIh: p[`weight_ih_l${l}`]!,
        weightHh: p[`weight_hh_l${l}`]!,
        biasIh: p[`bias_ih_l${l}`]!,
        biasHh: p[`bias_hh_l${l}`]!,
      };
      if (o.cell === 'lstm') {
        const r = lstmStep(x, c[`h${l}`]!, c[`c${l}`]!, w);
        next[`h${l}`] = r.h;
        next[`c${l}`] = r.c;
        x = r.h;
      } else {
        x = o.cell === 'gru' ? gruStep(x, c[`h${l}`]!, w) : rnnStep(x, c[`h${l}`]!, w);
        next[`h${l}`] = x;
      }
    }
    return { carry: next, y: { h: x } };
  };
  return { step, spec: { carry, xs: { x: { shape: [o.batch, o.input] } }, params } };
}

export type GraphReport = {
  readonly cell: CellKind;
  readonly layers: number;
  readonly steps: number;
  readonly train: boolean;
} & CompileStats;

/** Compiles the configured recurrence and describes it: `json` a report, else listings. */
export function graphCommand(o: GraphCommandOptions, format: 'text' | 'json' | 'dot' | 'mermaid'): string {
  const { step, spec } = stackedStep(o);
  const backend = new JsBackend();
  const c = engine.withBackend(backend, () =>
    compileScan(step, spec, { steps: o.steps, train: o.train, backend }),
  );
  try {
    const report: GraphReport = {
      cell: o.cell,
      layers: o.layers,
      steps: o.steps,
      train: o.train,
      ...c.stats,
    };
    if (format === 'json') return JSON.stringify(report);
    const before = [c.before.forward, ...(c.before.backward ? [c.before.backward] : [])];
    const after = [c.programs.forward, ...(c.programs.backward ? [c.programs.backward] : [])];
    if (format === 'dot' || format === 'mermaid') {
      const draw = (g: Graph, name: string) => (format === 'dot' ? graphToDot(g, name) : graphToMermaid(g));
      const loops = after.flatMap((p) => p.stages.filter((s) => s.kind === 'loop').map((s) => s.body));
      return loops.map((g, i) => draw(g, i === 0 ? 'forward step' : 'backward step')).join('\n\n');
    }
    const kernels = `${report.kernelsPerStep.forward} forward${report.kernelsPerStep.backward !== undefined ? `, ${report.kernelsPerStep.backward} backward` : ''}`;
    return [
      `## ${o.cell} × ${o.layers}, input ${o.input}, hidden ${o.hidden}, batch ${o.batch}, ${o.steps} steps${o.train ? ', training' : ''}`,
      '',
      `### before optimisation (${report.nodesBefore} nodes)`,
      ...before.map((p) => printProgram(p, printGraph)),
      '',
      `### after optimisation (${report.nodesAfter} nodes)`,
      ...after.map((p) => printProgram(p, printGraph)),
      '',
      `kernels per step: ${kernels}; hoisted GEMMs: ${report.hoistedGemms}; compiled in ${report.compileMs.toFixed(1)} ms`,
      `memory: ${mb(report.peakBytesPlanned)} planned, ${mb(report.peakBytesUnplanned)} with one buffer per value`,
    ].join('\n');
  } finally {
    c.dispose();
    backend.dispose();
  }
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
