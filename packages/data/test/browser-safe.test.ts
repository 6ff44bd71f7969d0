import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The main entry must run in a browser: no module it reaches may import a Node built-in.
const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const nodeOnly = new Set(['node.ts', 'atomic.ts']);

function importsOf(file: string): string[] {
  const text = readFileSync(join(src, file), 'utf8');
  return [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
}

describe('the main entry', () => {
  it('reaches no node: module and no Node-only file', () => {
    const seen = new Set<string>();
    const queue = ['index.ts'];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      expect(nodeOnly.has(file), `${file} is Node-only`).toBe(false);
      for (const spec of importsOf(file)) {
        expect(spec.startsWith('node:'), `${file} imports ${spec}`).toBe(false);
        if (spec.startsWith('./')) queue.push(spec.slice(2).replace(/\.js$/, '.ts'));
      }
    }
    const all = readdirSync(src).filter((f) => f.endsWith('.ts') && !nodeOnly.has(f));
    expect([...seen].sort()).toEqual(all.sort());
  });
});
