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
    const { memory, control, index, spin, slotWords, words } = msg as {
      memory: WebAssembly.Memory;
      control: number;
      index: number;
      spin: number;
      slotWords: number;
      words: { seq: number; done: number; error: number; stop: number; slots: number };
    };
    const imports = {
      env: { memory },
      m: { exp: Math.exp, log: Math.log, tanh: Math.tanh, pow: Math.pow, sign: Math.sign },
    };
    const modules = new Map<number, ((...a: number[]) => void)[]>();
    send('ready');
    const ctl = () => new Int32Array(memory.buffer, control, words.slots + slotWords * 64);
    let c = ctl();
    let seen = Atomics.load(c, words.seq);
    for (;;) {
      let spins = 0;
      while (Atomics.load(c, words.seq) === seen) {
        if (++spins > spin) {
          Atomics.wait(c, words.seq, seen);
          spins = 0;
        }
      }
      seen = Atomics.load(c, words.seq);
      if (Atomics.load(c, words.stop) !== 0) return;
      if (c.buffer.byteLength !== memory.buffer.byteLength) c = ctl();
      const s = words.slots + index * slotWords;
      const fnIndex = c[s + 3]!;
      if (fnIndex >= 0) {
        try {
          const id = c[s]!;
          let fns = modules.get(id);
          if (!fns) {
            const bytes = new Uint8Array(memory.buffer, c[s + 1]!, c[s + 2]!).slice();
            const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
            fns = Object.values(inst.exports) as ((...a: number[]) => void)[];
            modules.set(id, fns);
          }
          const n = c[s + 4]!;
          const args: number[] = [];
          for (let k = 0; k < n; k++) args.push(c[s + 5 + k]!);
          fns[fnIndex]!(...args);
        } catch (err) {
          Atomics.store(c, words.error, index);
          send({ error: String((err as Error)?.stack ?? err) });
        }
      }
      Atomics.add(c, words.done, 1);
      Atomics.notify(c, words.done);
    }
  };
  if (nodePort) nodePort.on!('message', start);
  else g.onmessage = (e) => start(e.data);
}

export const WORKER_SOURCE = `(${workerMain.toString()})();`;
