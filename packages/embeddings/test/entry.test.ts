import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Every module specifier reachable from `entry` through relative imports (type-only imports skipped). */
function reachable(entry: string): { files: Set<string>; external: Set<string> } {
  const files = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const code = readFileSync(join(src, file), 'utf8');
    for (const m of code.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(join(dirname(file), spec).replace(/\.js$/, '.ts'));
      else external.add(spec);
    }
  };
  visit(entry);
  return { files, external };
}

describe('entries', () => {
  it('the main entry is browser-safe: no node: modules are reachable from it', () => {
    const { files, external } = reachable('index.ts');
    expect([...external].filter((s) => s.startsWith('node:'))).toEqual([]);
    expect(files.has('train.ts')).toBe(true);
    expect(files.has('evaluate.ts')).toBe(true);
  });

  it('the node entry adds files and worker threads', () => {
    const { external } = reachable('node.ts');
    expect(external).toContain('node:worker_threads');
    expect(external).toContain('node:fs');
  });
});
