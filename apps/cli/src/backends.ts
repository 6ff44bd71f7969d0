import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { JsBackend } from '@recur/backend-js';
import type { Backend } from '@recur/tensor';
import { CliError } from './errors.js';

export type BackendName = 'js' | 'wasm' | 'webgpu';

/**
 * Imports an optional backend package: by name where it is installed, else from the workspace
 * beside this package (a checkout of the repository), else an error saying what is missing.
 */
async function importOptional(pkg: string, folder: string, entry: string): Promise<Record<string, unknown>> {
  const sub = entry === 'index' ? '' : `/${entry}`;
  try {
    return (await import(`${pkg}${sub}`)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw e;
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const local = join(here, '..', '..', '..', 'packages', folder, 'dist', `${entry}.js`);
  try {
    return (await import(pathToFileURL(local).href)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new CliError(
      `--backend: expected the package ${pkg} (installed, or built in packages/${folder}), found none. Install it, or build it with: pnpm --filter ${pkg} build.`,
    );
  }
}

interface WasmBackendLike extends Backend {
  readonly threadingInfo?: { readonly threads: number; readonly reason: string | null };
}

async function createWasm(threads?: number): Promise<WasmBackendLike> {
  const mod = await importOptional('@recur/backend-wasm', 'backend-wasm', 'index');
  const cls = mod.WasmBackend as
    | { create?: (o: { threads?: number }) => Promise<WasmBackendLike> }
    | undefined;
  if (typeof cls?.create !== 'function') {
    throw new CliError(
      '--backend wasm: expected @recur/backend-wasm to export WasmBackend.create(), found none.',
    );
  }
  return cls.create(threads === undefined ? {} : { threads });
}

/** The Vulkan loader (under Dawn) complains on stderr at every start without a runtime directory. */
function ensureRuntimeDir(): void {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'recur-xdg-'));
}

async function createWebGpu(): Promise<Backend> {
  ensureRuntimeDir();
  const mod = await importOptional('@recur/backend-webgpu', 'backend-webgpu', 'node');
  const create = mod.createNodeWebGpuBackend as (() => Promise<Backend>) | undefined;
  if (typeof create !== 'function') {
    throw new CliError(
      '--backend webgpu: expected @recur/backend-webgpu/node to export createNodeWebGpuBackend(), found none.',
    );
  }
  try {
    return await create();
  } catch (e) {
    throw new CliError(`--backend webgpu: ${(e as Error).message.replace(/^webgpu: /, '')}`);
  }
}

/** $RECUR_WASM_THREADS, when set: the wasm backend's worker threads (default: the backend's own choice). */
function wasmThreads(): number | undefined {
  const v = process.env.RECUR_WASM_THREADS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new CliError(`RECUR_WASM_THREADS: expected a positive integer, found '${v}'.`);
  }
  return n;
}

/** Creates the named backend, or a one-line error saying why it cannot run here. */
export async function createBackend(name: BackendName): Promise<Backend> {
  switch (name) {
    case 'js':
      return new JsBackend();
    case 'wasm':
      return createWasm(wasmThreads());
    case 'webgpu':
      return createWebGpu();
  }
}

export interface BackendReport {
  readonly name: string;
  readonly available: boolean;
  readonly threads?: number;
  /** Why it is unavailable, or why it runs on one thread only. */
  readonly reason?: string;
  readonly adapter?: string;
  readonly dtypes?: readonly string[];
}

/** What each backend says about this machine; never throws. */
export async function probeBackends(): Promise<BackendReport[]> {
  const js = new JsBackend();
  const out: BackendReport[] = [
    { name: 'js', available: true, threads: js.capabilities.threads, dtypes: js.capabilities.dtypes },
  ];
  js.dispose();
  try {
    const wasm = await createWasm(Math.max(1, Math.min(availableParallelism(), 8)));
    const info = wasm.threadingInfo;
    const threads = info?.threads ?? wasm.capabilities.threads;
    out.push({
      name: 'wasm',
      available: true,
      threads,
      dtypes: wasm.capabilities.dtypes,
      ...(threads === 1
        ? {
            reason:
              info?.reason ?? (availableParallelism() === 1 ? 'this machine has one CPU' : 'single-threaded'),
          }
        : {}),
    });
    wasm.dispose();
  } catch (e) {
    out.push({ name: 'wasm', available: false, reason: oneLine(e) });
  }
  try {
    ensureRuntimeDir();
    const mod = await importOptional('@recur/backend-webgpu', 'backend-webgpu', 'node');
    const probe = mod.probeNodeWebGpu as
      | (() => Promise<
          | {
              available: true;
              info: { vendor?: string; description?: string; architecture?: string };
              swiftshader: boolean;
            }
          | { available: false; reason: string }
        >)
      | undefined;
    if (typeof probe !== 'function')
      throw new CliError('@recur/backend-webgpu/node has no probeNodeWebGpu()');
    const r = await probe();
    if (r.available) {
      const i = r.info;
      const adapter =
        [i.vendor, i.description || i.architecture].filter((s) => s && s.length > 0).join(' ') ||
        'unnamed adapter';
      out.push({
        name: 'webgpu',
        available: true,
        adapter: r.swiftshader ? `${adapter} (SwiftShader, on the CPU)` : adapter,
      });
    } else {
      out.push({ name: 'webgpu', available: false, reason: r.reason });
    }
  } catch (e) {
    out.push({ name: 'webgpu', available: false, reason: oneLine(e) });
  }
  return out;
}

function oneLine(e: unknown): string {
  return String((e as Error).message ?? e)
    .replace(/\s+/g, ' ')
    .trim();
}
