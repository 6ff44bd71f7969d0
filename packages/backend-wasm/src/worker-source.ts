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
    const { memory, control, table, index, spin, slotWords, claimBits, tableStride, words } = msg as {
      memory: WebAssembly.Memory;
      control: number;
      table: number;
      index: number;
      spin: number;
      slotWords: number;
      claimBits: number;
      tableStride: number;
      words: {
        seq: number;
        finished: number;
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
    const mask = (1 << claimBits) - 1;
    let c = new Int32Array(memory.buffer);
    send('ready');
    let seen = Atomics.load(c, base + words.seq);
    for (;;) {
      let spins = 0;
      let seq = Atomics.load(c, base + words.seq);
      // Wait for a published job (even seq) other than the last one seen.
      while (seq === seen || (seq & 1) === 1) {
        if (++spins > spin) {
          Atomics.wait(c, base + words.seq, seq);
          spins = 0;
        }
        seq = Atomics.load(c, base + words.seq);
      }
      seen = seq;
      if (Atomics.load(c, base + words.stop) !== 0) return;
      if (c.buffer !== memory.buffer) c = new Int32Array(memory.buffer);
      const s = base + words.slots + index * slotWords;
      const id = c[s]!;
      const ptr = c[s + 1]!;
      const len = c[s + 2]!;
      const fnIndex = c[s + 3]!;
      const own: number[] = [];
      for (let k = 0; k < c[s + 4]!; k++) own.push(c[s + 5 + k]!);
      const n = c[base + words.chunks]!;
      const width = c[base + words.chunkWords]!;
      // The job may have ended (and another begun) while we read: then leave it.
      if (Atomics.load(c, base + words.seq) !== seq) continue;
      const tag = (seq >>> 1) & 0x3fffff;
      let fn: ((...a: number[]) => void) | null = null;
      for (;;) {
        const v = Atomics.load(c, base + words.claim);
        const i = v & mask;
        if (v >>> claimBits !== tag || i >= n) break;
        if (Atomics.compareExchange(c, base + words.claim, v, v + 1) !== v) continue;
        try {
          if (!fn) {
            let fns = modules.get(id);
            if (!fns) {
              const bytes = new Uint8Array(memory.buffer, ptr, len).slice();
              const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
              fns = Object.values(inst.exports) as ((...a: number[]) => void)[];
              modules.set(id, fns);
            }
            fn = fns[fnIndex]!;
          }
          const args: number[] = [];
          for (let k = 0; k < width; k++) args.push(c[tab + i * tableStride + k]!);
          for (const x of own) args.push(x);
          fn(...args);
        } catch (err) {
          Atomics.store(c, base + words.error, index);
          send({ error: String((err as Error)?.stack ?? err) });
        }
        if (Atomics.add(c, base + words.finished, 1) + 1 >= n) Atomics.notify(c, base + words.finished);
      }
    }
  };
  if (nodePort) nodePort.on!('message', start);
  else g.onmessage = (e) => start(e.data);
}

export const WORKER_SOURCE = `(${workerMain.toString()})();`;
