import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const generated = join(here, 'readme-examples.generated.ts');
afterAll(async () => {
  if (!process.env.KEEP_README_MODULE) await rm(generated, { force: true });
  await rm(join(here, '..', 'runs'), { recursive: true, force: true });
});

/**
 * The README's TypeScript examples, run in order as one module: imports are merged and hoisted,
 * the first example (which defines the model and trainer the others use) runs at top level, and
 * each later one in its own block.
 */
function readmeModule(): string {
  const text = readFileSync(join(here, '..', 'README.md'), 'utf8');
  const blocks = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const imports = new Map<string, Set<string>>();
  const bodies = blocks.map((block) =>
    block.replace(/^import \{([^}]*)\} from '([^']+)';\n/gm, (_, names: string, from: string) => {
      const set = imports.get(from) ?? new Set<string>();
      for (const n of names
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean))
        set.add(n);
      imports.set(from, set);
      return '';
    }),
  );
  const local: Record<string, string> = {
    '@recur/train': '../src/index.js',
    '@recur/train/node': '../src/node.js',
  };
  const head = [...imports]
    .map(([from, names]) => {
      const values = [...names].filter((n) => !n.startsWith('type ') || !names.has(n.slice(5)));
      return `import { ${values.join(', ')} } from '${local[from] ?? from}';`;
    })
    .join('\n');
  return `${head}\n${bodies[0]}\n${bodies
    .slice(1)
    .map((b) => `{\n${b}}\n`)
    .join('')}export {};\n`;
}

it('the README examples run', async () => {
  await writeFile(generated, readmeModule());
  const logs: unknown[][] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => {
    logs.push(args);
  };
  try {
    await import(generated);
  } finally {
    console.log = log;
  }
  const epochs = logs.filter((l) => typeof l[0] === 'string' && l[0].startsWith('epoch '));
  expect(epochs.length).toBe(8 + 2);
  // The quick start learns its toy task.
  expect(String(epochs[7]![0])).toMatch(/val accuracy (0\.9\d*|1)$/);
}, 120_000);
