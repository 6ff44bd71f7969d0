import { createRequire } from 'node:module';
import { JsBackend } from '@recur/backend-js';

export function info(): Record<string, unknown> {
  const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
  const js = new JsBackend();
  return {
    version: pkg.version,
    node: process.version,
    backends: [
      { name: js.name, available: true, threads: js.capabilities.threads, dtypes: js.capabilities.dtypes },
    ],
  };
}
