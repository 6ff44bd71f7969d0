/**
 * The code each worker runs, kept as a function so it can be turned into source text and started
 * from a string in Node (`eval: true`) and in browsers (a Blob URL) without a separate file.
 * It must not refer to anything outside itself.
 *
 * A worker receives the shared memory and the address of the control block once, then loops:
 * wait for the job counter to change (spinning briefly, then blocking in Atomics.wait), read its
 * slot (module id, where its bytes are in memory, which export, the arguments), compile the module
 * on first use, call the function, count itself done.
 */
function workerMain(): void {
  type Port = { postMessage(m: unknown): void; on?: (e: string, f: (m: unknown) => void) => void };
  const g = globalThis as unknown as {
    onmessage?: (e: { data: unknown }) => void;
    postMessage?: (m: unknown) => void;
  };
  // Node runs this text as a CommonJS script (require exists); browsers as a classic worker.
  const nodePort: Port | null =
    typeof require === 'function'
      ? (require('node:worker_threads') as { parentPort: Port }).parentPort
      : null;
  const send = (m: unknown) => (nodePort ? nodePort.postMessage(m) : g.postMessage!(m));
  const start = (msg: unknown): void => {
    const { memory, control, table, index, spin, slotWords, words } = msg as {
      memory: WebAssembly.Memory;
      control: number;
      table: number;
      index: number;
      spin: number;
      slotWords: number;
      words: {
        seq: number;
        done: number;
        error: number;
        stop: number;
        claim: number;
        chunks: number;
        chunkWords: number;
        slots: number;
      };
    };
    const imports = {
      env: { memory },
      m: { exp: Math.exp, log: Math.log, tanh: Math.tanh, pow: Math.pow, sign: Math.sign },
    };
    const modules = new Map<number, ((...a: number[]) => void)[]>();
    const base = control >> 2;
    const tab = table >> 2;
    const TABLE_STRIDE = 8;
    let c = new Int32Array(memory.buffer);
    send('ready');
    let seen = Atomics.load(c, base + words.seq);
    for (;;) {
      let spins = 0;
      while (Atomics.load(c, base + words.seq) === seen) {
        if (++spins > spin) {
          Atomics.wait(c, base + words.seq, seen);
          spins = 0;
        }
      }
      seen = Atomics.load(c, base + words.seq);
      if (Atomics.load(c, base + words.stop) !== 0) return;
      if (c.buffer !== memory.buffer) c = new Int32Array(memory.buffer);
      const s = base + words.slots + index * slotWords;
      try {
        const id = c[s]!;
        let fns = modules.get(id);
        if (!fns) {
          const bytes = new Uint8Array(memory.buffer, c[s + 1]!, c[s + 2]!).slice();
          const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
          fns = Object.values(inst.exports) as ((...a: number[]) => void)[];
          modules.set(id, fns);
        }
        const fn = fns[c[s + 3]!]!;
        const own: number[] = [];
        for (let k = 0; k < c[s + 4]!; k++) own.push(c[s + 5 + k]!);
        const n = c[base + words.chunks]!;
        const width = c[base + words.chunkWords]!;
        for (
          let i = Atomics.add(c, base + words.claim, 1);
          i < n;
          i = Atomics.add(c, base + words.claim, 1)
        ) {
          const args: number[] = [];
          for (let k = 0; k < width; k++) args.push(c[tab + i * TABLE_STRIDE + k]!);
          for (const x of own) args.push(x);
          fn(...args);
        }
      } catch (err) {
        Atomics.store(c, base + words.error, index);
        Atomics.store(c, base + words.claim, 1 << 30);
        send({ error: String((err as Error)?.stack ?? err) });
      }
      Atomics.add(c, base + words.done, 1);
      Atomics.notify(c, base + words.done);
    }
  };
  if (nodePort) nodePort.on!('message', start);
  else g.onmessage = (e) => start(e.data);
}

export const WORKER_SOURCE = `(${workerMain.toString()})();`;
