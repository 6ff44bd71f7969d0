import { createRequire } from 'node:module';
import { type BackendReport, probeBackends } from './backends.js';

export interface Info {
  readonly version: string;
  readonly node: string;
  readonly backends: readonly BackendReport[];
}

/** The CLI's version, Node's, and what each backend says about this machine. */
export async function info(): Promise<Info> {
  const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
  return { version: pkg.version, node: process.version, backends: await probeBackends() };
}

/** `info` as text, one backend a line. */
export function formatInfo(i: Info): string[] {
  const lines = [`recur ${i.version} on Node ${i.node}`, 'backends:'];
  for (const b of i.backends) {
    let what: string;
    if (!b.available) what = `unavailable: ${b.reason ?? 'unknown reason'}`;
    else if (b.adapter !== undefined) what = `available, adapter ${b.adapter}`;
    else {
      const threads = b.threads ?? 1;
      what = `available, ${threads} thread${threads === 1 ? '' : 's'}${threads === 1 && b.reason ? ` (${b.reason})` : ''}`;
    }
    lines.push(`  ${b.name.padEnd(7)} ${what}`);
  }
  return lines;
}
