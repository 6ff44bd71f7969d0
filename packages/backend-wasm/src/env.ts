/**
 * The few things that differ between Node and browsers, behind one small adapter: how many cores
 * there are, whether shared memory is allowed, whether the calling thread may block in
 * Atomics.wait, and how to start a worker from source text. Node's modules are imported
 * dynamically, so the core of the package has no Node-only imports and bundles for the browser.
 */
export interface WorkerHandle {
  post(message: unknown): void;
  onMessage(fn: (data: unknown) => void): void;
  onError(fn: (err: unknown) => void): void;
  terminate(): void;
}

export interface Environment {
  readonly kind: 'node' | 'browser' | 'other';
  readonly cores: number;
  /** null when shared memory and workers can be used; otherwise why not. */
  readonly threadsUnavailable: string | null;
  /** Whether this thread may block in Atomics.wait (not on a browser's main thread). */
  readonly canBlock: boolean;
  spawn(source: string): Promise<WorkerHandle>;
}

interface NodeWorker {
  postMessage(m: unknown): void;
  on(ev: string, fn: (x: unknown) => void): void;
  terminate(): Promise<number>;
  unref(): void;
}

const dynamicImport = (name: string): Promise<Record<string, unknown>> => import(/* @vite-ignore */ name);

function canBlockHere(): boolean {
  try {
    const i32 = new Int32Array(new SharedArrayBuffer(4));
    Atomics.wait(i32, 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

export async function detectEnvironment(): Promise<Environment> {
  const g = globalThis as {
    process?: { versions?: { node?: string } };
    crossOriginIsolated?: boolean;
    navigator?: { hardwareConcurrency?: number };
    Worker?: new (
      url: string,
      opts?: object,
    ) => {
      postMessage(m: unknown): void;
      onmessage: ((e: { data: unknown }) => void) | null;
      onerror: ((e: unknown) => void) | null;
      terminate(): void;
    };
    Blob?: new (parts: string[], opts: object) => object;
    URL?: { createObjectURL(b: object): string };
  };
  const shared = typeof SharedArrayBuffer !== 'undefined';
  if (g.process?.versions?.node) {
    const os = await dynamicImport('node:os');
    const avail = os.availableParallelism as (() => number) | undefined;
    const cores = avail ? avail() : (os.cpus as () => unknown[])().length;
    const wt = await dynamicImport('node:worker_threads');
    const NodeWorkerCtor = wt.Worker as new (src: string, opts: object) => NodeWorker;
    return {
      kind: 'node',
      cores,
      threadsUnavailable: shared ? null : 'SharedArrayBuffer is unavailable in this Node process',
      canBlock: shared && canBlockHere(),
      async spawn(source: string) {
        const w = new NodeWorkerCtor(source, { eval: true });
        w.unref();
        return {
          post: (m) => w.postMessage(m),
          onMessage: (fn) => w.on('message', fn),
          onError: (fn) => w.on('error', fn),
          terminate: () => void w.terminate(),
        };
      },
    };
  }
  const cores = g.navigator?.hardwareConcurrency ?? 1;
  let reason: string | null = null;
  if (!shared) {
    reason =
      g.crossOriginIsolated === false
        ? 'the page is not cross-origin isolated, so SharedArrayBuffer is unavailable (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)'
        : 'SharedArrayBuffer is unavailable here';
  } else if (!g.Worker || !g.Blob || !g.URL) {
    reason = 'Web Workers are unavailable here';
  }
  const WorkerCtor = g.Worker;
  const BlobCtor = g.Blob;
  const url = g.URL;
  return {
    kind: WorkerCtor ? 'browser' : 'other',
    cores,
    threadsUnavailable: reason,
    canBlock: shared && canBlockHere(),
    async spawn(source: string) {
      if (!WorkerCtor || !BlobCtor || !url) throw new Error('Web Workers are unavailable here');
      const w = new WorkerCtor(url.createObjectURL(new BlobCtor([source], { type: 'text/javascript' })));
      return {
        post: (m) => w.postMessage(m),
        onMessage: (fn) => {
          w.onmessage = (e) => fn(e.data);
        },
        onError: (fn) => {
          w.onerror = fn;
        },
        terminate: () => w.terminate(),
      };
    },
  };
}
