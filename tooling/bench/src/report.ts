import type { BenchReport, BenchRow } from './run.js';

const fmt = (v: number, digits: number) => v.toFixed(digits);
const ms = (v: number) => (v >= 100 ? fmt(v, 0) : v >= 10 ? fmt(v, 1) : fmt(v, 2));

/** The report as a Markdown table (one row per workload, system and thread count), then the notes. */
export function formatReport(r: BenchReport): string {
  const head = [
    'workload',
    'system',
    'backend',
    'threads',
    'reps',
    'median ms',
    'min ms',
    'max ms',
    'GFLOP/s',
    '× fastest peer',
    'µs/token',
  ];
  const cells = (x: BenchRow) => [
    x.workload,
    x.ours ? `**${x.system}**` : x.system,
    x.backend,
    String(x.threads),
    String(x.reps),
    ms(x.medianMs),
    ms(x.minMs),
    ms(x.maxMs),
    fmt(x.gflops, 2),
    x.ratioToFastestPeer === null ? '—' : fmt(x.ratioToFastestPeer, 2),
    x.perTokenUs === undefined ? '' : fmt(x.perTokenUs, 0),
  ];
  const body = r.rows.map(cells);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(head), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...body.map(line)];
  const m = r.machine;
  out.push(
    '',
    `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; load average ${m.loadAverageBefore.join(' ')} before, ${m.loadAverageAfter.join(' ')} after; ${r.date}`,
    `${r.options.reps} reps (${r.options.slowReps} for a system whose check or warm-up run took over ${r.options.slowMs} ms), ${r.options.warmup} warm-up run(s) after the check run (none for such a slow system); seed ${r.options.seed}${r.options.shape ? `; shapes overridden: ${JSON.stringify(r.options.shape)}` : ''}`,
    r.options.isolation === 'settle'
      ? `each system in a process of its own, ${r.options.settleMs} ms of quiet after each turn`
      : 'each system in a process of its own, the others frozen (SIGSTOP) during its turns',
  );
  for (const s of r.skipped)
    out.push(`skipped ${s.system}${s.workload ? ` on ${s.workload}` : ''}: ${s.reason}`);
  for (const d of r.delegated) out.push(`${d.workload}: ${d.script} exited with ${d.exitCode}`);
  return out.join('\n');
}
