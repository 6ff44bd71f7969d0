import { describe, expect, it } from 'vitest';
import { main, runDemo } from '../src/index.js';

describe('recur demo', () => {
  it('trains an Elman RNN whose loss falls, deterministically for a seed', () => {
    const opts = {
      steps: 60,
      hidden: 24,
      seqLen: 12,
      batch: 8,
      lr: 0.02,
      seed: 3,
      chars: 1500,
      log: () => {},
    };
    const a = runDemo(opts);
    const b = runDemo(opts);
    expect(a.losses).toEqual(b.losses);
    expect(a.sample).toBe(b.sample);
    const first = a.losses.slice(0, 5).reduce((x, y) => x + y) / 5;
    const last = a.losses.slice(-5).reduce((x, y) => x + y) / 5;
    expect(last).toBeLessThan(first * 0.8);
  });

  it('reports bad flags in one line with a non-zero exit', async () => {
    const errors: string[] = [];
    const code = await main(
      ['node', 'recur', 'demo', '--steps', 'abc'],
      () => {},
      (s) => errors.push(s),
    );
    expect(code).not.toBe(0);
    expect(errors.join('\n')).toMatch(/expected an integer >= 1 for --steps, found 'abc'/);
  });

  it('reports a missing text file in one line, without a stack trace', async () => {
    const errors: string[] = [];
    const code = await main(
      ['node', 'recur', 'demo', '--text', '/nonexistent/file.txt'],
      () => {},
      (s) => errors.push(s),
    );
    expect(code).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^recur: demo: expected a text file at \/nonexistent\/file.txt, found none/);
    expect(errors[0]).not.toMatch(/\n\s+at /);
  });

  it('prints version and backends', async () => {
    const lines: string[] = [];
    expect(await main(['node', 'recur', 'info', '--json'], (s) => lines.push(s))).toBe(0);
    const parsed = JSON.parse(lines[0]!);
    expect(parsed.backends[0].name).toBe('js');
  });
});
