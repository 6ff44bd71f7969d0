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
        work: number;
        slots: number;
      };
    };
    const now = () => performance.now();
    const imports = {
      env: { memory },
      m: { exp: Math.exp, log: Math.log, tanh: Math.tanh, pow: Math.pow, sign: Math.sign },
    };
    const modules = new Map<number, ((...a: number[]) => void)[]>();
    const base = control >> 2;
    const tab = table >> 2;
    const mask = (1 << claimBits) - 1;
    let c = new Int32Array(memory.buffer);
    // Read before saying ready: the pool publishes its first job only after every worker has, so
    // no job can slip in between and be taken for one already seen.
    let seen = Atomics.load(c, base + words.seq);
    send('ready');
    /** A published job as this worker sees it: which function, its own arguments, the chunks. */
    interface Job {
      seq: number;
      id: number;
      ptr: number;
      len: number;
      fnIndex: number;
      own: number[];
      n: number;
      width: number;
    }
    /** Reads the job published as `seq`, or null if another job was begun meanwhile. */
    const describe = (seq: number): Job | null => {
      if (c.buffer !== memory.buffer) c = new Int32Array(memory.buffer);
      const s = base + words.slots + index * slotWords;
      const own: number[] = [];
      for (let k = 0; k < c[s + 4]!; k++) own.push(c[s + 5 + k]!);
      const job = {
        seq,
        id: c[s]!,
        ptr: c[s + 1]!,
        len: c[s + 2]!,
        fnIndex: c[s + 3]!,
        own,
        n: c[base + words.chunks]!,
        width: c[base + words.chunkWords]!,
      };
      return Atomics.load(c, base + words.seq) === seq ? job : null;
    };
    const tagOf = (seq: number) => (seq >>> 1) & (0xffffffff >>> claimBits);
    const runChunk = (job: Job, i: number): void => {
      try {
        let fns = modules.get(job.id);
        if (!fns) {
          const bytes = new Uint8Array(memory.buffer, job.ptr, job.len).slice();
          const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
          fns = Object.values(inst.exports) as ((...a: number[]) => void)[];
          modules.set(job.id, fns);
        }
        const args: number[] = [];
        for (let k = 0; k < job.width; k++) args.push(c[tab + i * tableStride + k]!);
        for (const x of job.own) args.push(x);
        const t = now();
        fns[job.fnIndex]!(...args);
        // Time spent on the chunk, in units of 0.1 µs, for the pool's accounting (see pool.ts).
        Atomics.add(c, base + words.work, Math.round((now() - t) * 1e4));
      } catch (err) {
        Atomics.store(c, base + words.error, index);
        send({ error: String((err as Error)?.stack ?? err) });
      }
      if (Atomics.add(c, base + words.finished, 1) + 1 >= job.n) Atomics.notify(c, base + words.finished);
    };
    for (;;) {
      let spins = 0;
      let seq = Atomics.load(c, base + words.seq);
      // Wait for a published job (even seq) other than the last one seen. The pool stores seq
      // and then notifies, so a wait that starts after the store returns at once (the value
      // differs) and one that started before is woken.
      while (seq === seen || (seq & 1) === 1) {
        if (++spins > spin) {
          Atomics.wait(c, base + words.seq, seq);
          spins = 0;
        }
        seq = Atomics.load(c, base + words.seq);
      }
      seen = seq;
      if (Atomics.load(c, base + words.stop) !== 0) return;
      let job = describe(seq);
      // The job may have ended (and another begun) while we read: then leave it.
      if (!job) continue;
      const tag = tagOf(seq);
      for (;;) {
        const v = Atomics.load(c, base + words.claim);
        const i = v & mask;
        if (v >>> claimBits !== tag || i >= job.n) break;
        if (Atomics.compareExchange(c, base + words.claim, v, v + 1) !== v) continue;
        if (Atomics.load(c, base + words.seq) !== job.seq) {
          // Our job ended while we were away, and a later one with the same tag (2^22 jobs on)
          // was published: the chunk claimed is that job's if it has that many, and the pool
          // waits for it, so the job stays published until it is done.
          let now = Atomics.load(c, base + words.seq);
          let next: Job | null = null;
          while (!next) {
            while ((now & 1) === 1) now = Atomics.load(c, base + words.seq);
            next = describe(now);
            if (!next) now = Atomics.load(c, base + words.seq);
          }
          if (tagOf(now) !== tag || i >= next.n) break;
          job = next;
          seen = now;
        }
        runChunk(job, i);
      }
    }
  };
  if (nodePort) nodePort.on!('message', start);
  else g.onmessage = (e) => start(e.data);
}

export const WORKER_SOURCE = `(${workerMain.toString()})();`;
