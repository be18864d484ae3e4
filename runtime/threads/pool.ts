/**
 * A pool of worker threads running one exported function of a WebAssembly module over a
 * shared memory, dispatched through atomics in that memory (microseconds, not the
 * ~100 µs of postMessage).
 *
 * Takes a compiled module, the shared memory it imports as `env.memory`, the names of
 * exported functions taking i32 arguments, and a control block allocated in that memory.
 * Each worker instantiates the module on the same memory and waits for jobs:
 * after a job it spins on its sequence word for `spinMilliseconds`, then sleeps in
 * `Atomics.wait`; the caller bumps the sequence word and notifies only a sleeping worker.
 * `run(parts)` runs parts[0] on the calling thread and parts[i] on worker i - 1, and
 * returns when all are done (rethrowing a worker's trap); waiting for a worker, the calling
 * thread spins 50 µs, then sleeps in `Atomics.wait` (the worker notifies when done), so a
 * descheduled worker gets the core back instead of competing with a spinning caller. A
 * posted part is claimed by a compare-exchange on its slot's state word: when the calling thread finishes its own
 * part and a worker has not picked its part up yet (descheduled on a busy machine, or
 * still starting: workers take tens of milliseconds to start), the calling thread takes
 * the part back and runs it itself instead of waiting. Guarantees: workers are
 * `unref()`ed and never keep the process alive; `close()` stops them cleanly; every part
 * runs exactly once, so results never depend on which thread ran a part.
 * `load(module, names)` adds another module's exports (instantiated on the same memory)
 * to the functions parts may call: the module goes to each worker over a MessagePort, and
 * a worker instantiates it when it first meets a function index it does not have yet
 * (`receiveMessageOnPort`, synchronous, so its spin loop never has to return to the event loop).
 */
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { WasmMemory, WasmModule } from "../wasm/api.js";

/** Words of one worker's control slot (two 64-byte cache lines each, so workers do not share lines). */
const SLOT_WORDS = 32;
const SEQ = 0;
const DONE = 1;
const SLEEPING = 2;
const STOP = 3;
const FAILED = 4;
const READY = 5;
/** The posted job's sequence number while it waits; the worker or the caller claims it by swapping it out. */
const STATE = 6;
const ARGS = 8;
/** Most words of a part: the index of the function in `exportNames`, then its i32 arguments. */
export const MAX_POOL_ARGS = SLOT_WORDS - ARGS;

/** An idle worker's spin before it sleeps: enough to bridge a fused step between two products, short enough to give a busy machine its core back. */
export const DEFAULT_SPIN_MILLISECONDS = 0.05;

/** How long the calling thread spins for a worker's part before sleeping in `Atomics.wait`. */
const WAIT_SPIN_MILLISECONDS = 0.05;

/**
 * Cut points of [0, count) into `parts` contiguous ranges of whole `unit`s (the last range
 * ends at `count`): range t is [cuts[t], cuts[t + 1]). Ranges may be empty when there are
 * fewer units than parts.
 * @example evenCuts(10, 2) // [0, 5, 10]
 */
export const evenCuts = (count: number, parts: number, unit = 1): number[] => {
  const units = Math.ceil(count / unit);
  return Array.from({ length: parts + 1 }, (_, t) => (t === parts ? count : Math.min(count, Math.round((units * t) / parts) * unit)));
};

/** Bytes of control block a pool of `workers` workers needs. */
export const controlBytes = (workers: number): number => Math.max(workers, 1) * SLOT_WORDS * 4;

/** The worker's program (CommonJS, evaluated by worker_threads; plain JavaScript because it runs unbundled). */
const WORKER_SOURCE = `
"use strict";
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { module, memory, exportNames, control, spinMilliseconds, port } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory } });
const fns = exportNames.map((name) => instance.exports[name]);
// Modules loaded after start, in the order the caller numbered their functions.
const loadPending = () => {
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const extra = new WebAssembly.Instance(m.message.module, { env: { memory } });
    for (const name of m.message.exportNames) fns.push(extra.exports[name]);
  }
};
const words = new Int32Array(memory.buffer, control, ${SLOT_WORDS});
Atomics.store(words, ${READY}, 1);
let seen = 0;
for (;;) {
  let seq = Atomics.load(words, ${SEQ});
  if (seq === seen) {
    const until = performance.now() + spinMilliseconds;
    let spins = 0;
    while ((seq = Atomics.load(words, ${SEQ})) === seen) {
      if ((++spins & 4095) !== 0 || performance.now() < until) continue;
      Atomics.store(words, ${SLEEPING}, 1);
      Atomics.wait(words, ${SEQ}, seen);
      Atomics.store(words, ${SLEEPING}, 0);
    }
  }
  seen = seq;
  if (Atomics.load(words, ${STOP}) !== 0) break;
  // The caller may have taken the job back (it ran it itself): then there is nothing to do.
  if (Atomics.compareExchange(words, ${STATE}, seq, 0) !== seq) continue;
  try {
    if (words[${ARGS}] >= fns.length) loadPending();
    fns[words[${ARGS}]](${Array.from({ length: SLOT_WORDS - ARGS - 1 }, (_, i) => `words[${ARGS + 1 + i}]`).join(", ")});
  } catch (e) {
    Atomics.store(words, ${FAILED}, 1);
  }
  Atomics.store(words, ${DONE}, seq);
  Atomics.notify(words, ${DONE});
}
`;

export interface ThreadPoolOptions {
  readonly module: WasmModule;
  readonly memory: WasmMemory;
  /** The exported functions a part may call (a part's first word is an index into this list). */
  readonly exportNames: readonly string[];
  /** Byte offset of `controlBytes(workers)` bytes in the memory, 4-byte aligned, owned by the pool. */
  readonly control: number;
  readonly workers: number;
  /**
   * How long an idle worker spins before sleeping (default `DEFAULT_SPIN_MILLISECONDS`).
   * Spinning makes the next dispatch cost about a microsecond instead of the 15+ µs of a
   * wake-up, but a spinning worker takes a core: on a machine busy with other work it
   * slows the calling thread's own steps (2 cores, load average 3.4: an MLP training step
   * took 4.8 ms with 0.25 ms of spin, 6.4 with 1 ms, 4.4–4.5 with 0.02–0.1).
   */
  readonly spinMilliseconds?: number;
}

/** Worker threads running the pooled function; see the file header. */
export interface ThreadPool {
  /** Threads that run parts: the calling thread plus the workers. */
  readonly threads: number;
  /**
   * Runs parts[0] on the calling thread with `local`, and parts[i] on worker i - 1 (at most
   * `threads` parts; each part is a function index into `exportNames`, then its i32 arguments).
   */
  run(parts: readonly (readonly number[])[], local: (args: readonly number[]) => void): void;
  /**
   * Makes the exports `exportNames` of `module` (which imports the pool's memory as
   * `env.memory`) callable by parts; returns the function index of the first, the others
   * following in order. Loading the same module again returns the same index.
   */
  load(module: WasmModule, exportNames: readonly string[]): number;
  /** Resolves true once every worker has started (false if some have not within `timeoutMs`). */
  ready(timeoutMs?: number): Promise<boolean>;
  /** Stops the workers (idempotent). Later runs use the calling thread only. */
  close(): Promise<void>;
}

/**
 * Starts a pool; its workers are unref()ed.
 * @example
 * const pool = createThreadPool({ module, memory, exportNames: ["gemm"], control, workers: 1 });
 * pool.run([[0, desc, 0, 1, 0, 64, scratch0], [0, desc, 0, 1, 64, 128, scratch1]], (a) => gemm(a[1], a[2], a[3], a[4], a[5], a[6]));
 */
export const createThreadPool = (options: ThreadPoolOptions): ThreadPool => {
  const { memory, control } = options;
  if (control % 4 !== 0) throw new RangeError(`control block offset ${control} is not 4-byte aligned`);
  const words = new Int32Array(memory.buffer, control, controlBytes(options.workers) / 4);
  words.fill(0);
  let closed = false;
  const workers: Worker[] = [];
  const ports: MessagePort[] = [];
  for (let w = 0; w < options.workers; w++) {
    const channel = new MessageChannel();
    ports.push(channel.port1);
    channel.port1.unref();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        module: options.module,
        memory,
        exportNames: [...options.exportNames],
        control: control + w * SLOT_WORDS * 4,
        spinMilliseconds: options.spinMilliseconds ?? DEFAULT_SPIN_MILLISECONDS,
        port: channel.port2,
      },
      transferList: [channel.port2],
    });
    // A worker that fails to start never sets READY: its parts keep running on the calling thread.
    worker.on("error", () => undefined);
    worker.unref();
    workers.push(worker);
  }
  const sequence = new Int32Array(options.workers);
  let functionCount = options.exportNames.length;
  const loaded = new Map<WasmModule, number>();

  const waitDone = (w: number, seq: number): void => {
    const base = w * SLOT_WORDS;
    let spins = 0;
    let until = 0;
    for (let done = Atomics.load(words, base + DONE); done !== seq; done = Atomics.load(words, base + DONE)) {
      if ((++spins & 255) !== 0) continue;
      if (until === 0) until = performance.now() + WAIT_SPIN_MILLISECONDS;
      if (performance.now() < until) continue;
      // A long job or a descheduled worker: sleep until notified, so that on a busy machine
      // this thread does not take a core the worker needs. Wait on the value just seen to
      // differ from seq: re-reading it here could see the worker's final store, and
      // waiting for that value to change would miss its notify (a whole timeout lost).
      Atomics.wait(words, base + DONE, done, 20);
    }
    if (Atomics.load(words, base + FAILED) !== 0) {
      Atomics.store(words, base + FAILED, 0);
      throw new RangeError("typegrad: a wasm kernel trapped in a worker thread (out-of-bounds access)");
    }
  };

  return {
    get threads() {
      return closed ? 1 : options.workers + 1;
    },
    run(parts, local) {
      if (closed) {
        for (const p of parts) local(p);
        return;
      }
      if (parts.length > options.workers + 1) throw new RangeError(`${parts.length} parts for ${options.workers + 1} threads`);
      let dispatched = 0;
      for (let i = 1; i < parts.length; i++) {
        const w = i - 1;
        const base = w * SLOT_WORDS;
        const args = parts[i]!;
        if (Atomics.load(words, base + READY) === 0) break;
        dispatched = i;
        if (args.length > MAX_POOL_ARGS) throw new RangeError(`at most ${MAX_POOL_ARGS} arguments per part`);
        for (let a = 0; a < MAX_POOL_ARGS; a++) words[base + ARGS + a] = args[a] ?? 0;
        const seq = (sequence[w]! + 1) | 0 || 1;
        sequence[w] = seq;
        Atomics.store(words, base + STATE, seq);
        Atomics.store(words, base + SEQ, seq);
        if (Atomics.load(words, base + SLEEPING) !== 0) Atomics.notify(words, base + SEQ);
      }
      let error: unknown;
      try {
        if (parts.length > 0) local(parts[0]!);
        for (let i = dispatched + 1; i < parts.length; i++) local(parts[i]!);
      } catch (e) {
        error = e;
      }
      for (let i = 1; i <= dispatched; i++) {
        const w = i - 1;
        const seq = sequence[w]!;
        if (Atomics.compareExchange(words, w * SLOT_WORDS + STATE, seq, 0) !== seq) waitDone(w, seq);
        else if (error === undefined) {
          try {
            local(parts[i]!);
          } catch (e) {
            error = e;
          }
        }
      }
      if (error !== undefined) throw error;
    },
    load(module, exportNames) {
      const known = loaded.get(module);
      if (known !== undefined) return known;
      const first = functionCount;
      functionCount += exportNames.length;
      loaded.set(module, first);
      // Posted before any part can name these functions; a closed pool runs every part on the caller.
      if (!closed) for (const port of ports) port.postMessage({ module, exportNames: [...exportNames] });
      return first;
    },
    async ready(timeoutMs = 10_000) {
      const started = (): boolean => workers.every((_w, i) => Atomics.load(words, i * SLOT_WORDS + READY) !== 0);
      const deadline = Date.now() + timeoutMs;
      while (!started() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
      return started();
    },
    async close() {
      if (closed) return;
      closed = true;
      for (let w = 0; w < workers.length; w++) {
        const base = w * SLOT_WORDS;
        Atomics.store(words, base + STOP, 1);
        Atomics.store(words, base + SEQ, (sequence[w]! + 1) | 0 || 1);
        Atomics.notify(words, base + SEQ);
      }
      await Promise.all(workers.map((worker) => worker.terminate()));
      for (const port of ports) port.close();
    },
  };
};
