import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Finds the bundled data sets: $RECUR_DATA, else a `shared/data` folder beside the repository
 * (searched upward from the working directory and from this package), else null.
 */
export function findDataDir(): string | null {
  const env = process.env.RECUR_DATA;
  if (env) return existsSync(env) ? resolve(env) : null;
  const starts = [process.cwd(), dirname(fileURLToPath(import.meta.url))];
  for (const start of starts) {
    let dir = resolve(start);
    for (let i = 0; i < 6; i++) {
      for (const candidate of [join(dir, '..', 'shared', 'data'), join(dir, 'shared', 'data')]) {
        if (existsSync(join(candidate, 'README.md'))) return resolve(candidate);
      }
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return null;
}
