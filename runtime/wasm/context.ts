/**
 * Where generated kernels run: a heap (one WebAssembly memory), the GEMM module
 * instantiated on it, per-thread packing scratch and, on the shared heap, the worker pool.
 *
 * Takes the engine's features. `sharedWasmContext()` is the process-wide context on a
 * shared, growable memory (created on first use; its workers start when a program first
 * asks for more than one thread). `fixedWasmContext(bytes)` is the fallback where shared
 * memories do not exist: a private memory of fixed size (growing a non-shared memory
 * would detach views), single-threaded. Guarantees: the GEMM module is compiled once per
 * process and warmed up (V8 starts WebAssembly in its baseline tier; a few calls
 * promote it) before any program uses it; worker threads never keep the process alive and
 * `shutdownWasmThreads()` stops them.
 */
import os from "node:os";
import { PAGE_BYTES, webAssembly, type WasmModule } from "./api.js";
import { wasmFeatures } from "./features.js";
import { WasmHeap } from "./heap.js";
import { GEMM_SCRATCH_BYTES, gemmModuleBytes, GemmDescriptor } from "./gemmModule.js";
import { controlBytes, createThreadPool, DEFAULT_SPIN_MILLISECONDS, type ThreadPool } from "../threads/pool.js";

/** The exported GEMM: gemm(desc, t0, t1, j0, j1, scratch). */
export type GemmFunction = (desc: number, t0: number, t1: number, j0: number, j1: number, scratch: number) => void;
/** The exported chunk loop: gemm_chunks(desc, scratch). */
export type GemmChunksFunction = (desc: number, scratch: number) => void;

export interface WasmContext {
  readonly heap: WasmHeap;
  readonly gemm: GemmFunction;
  readonly gemmChunks: GemmChunksFunction;
  /** Every export of the GEMM module on this context's memory (im2col, col2im_add, ...). */
  readonly exports: Readonly<Record<string, unknown>>;
  /** Whether kernels use fused multiply-add (relaxed SIMD). */
  readonly fma: boolean;
  /** The heap's memory is shared (worker threads possible). */
  readonly shared: boolean;
  /** Packing scratch of thread t (the calling thread is 0). */
  scratch(thread: number): number;
  /** The pool for at least `threads` threads, or undefined when only the calling thread is available. */
  pool(threads: number): ThreadPool | undefined;
}

/** Largest thread count a program can ask for (the machine's cores). */
export const maxThreads = (): number => Math.max(1, os.availableParallelism());

/** The default thread count: `TYPEGRAD_THREADS` if set to a positive integer, else the machine's cores. */
export const defaultThreads = (): number => {
  const fromEnv = Number(process.env.TYPEGRAD_THREADS);
  return Number.isSafeInteger(fromEnv) && fromEnv >= 1 ? Math.min(fromEnv, maxThreads()) : maxThreads();
};

/**
 * How long idle workers spin before sleeping: `TYPEGRAD_SPIN_MS` (milliseconds, ≥ 0) when
 * set, else the pool's default (read when a pool starts).
 * @example workerSpinMilliseconds({ TYPEGRAD_SPIN_MS: "0.2" }) // 0.2
 */
export const workerSpinMilliseconds = (env: Readonly<Record<string, string | undefined>>): number => {
  const value = Number(env.TYPEGRAD_SPIN_MS);
  return env.TYPEGRAD_SPIN_MS !== undefined && env.TYPEGRAD_SPIN_MS.trim() !== "" && Number.isFinite(value) && value >= 0 ? value : DEFAULT_SPIN_MILLISECONDS;
};

const gemmModules = new Map<string, WasmModule>();

const compiledGemm = (shared: boolean, fma: boolean): WasmModule => {
  const key = `${shared}/${fma}`;
  const cached = gemmModules.get(key);
  if (cached !== undefined) return cached;
  const wasm = webAssembly()!;
  const module = new wasm.Module(gemmModuleBytes({ fma, shared }));
  gemmModules.set(key, module);
  return module;
};

/** Runs a small product enough times for V8 to promote the module to its optimizing tier. */
const warmUp = (heap: WasmHeap, gemm: GemmFunction, scratch: number): void => {
  const size = 64;
  const block = heap.allocate(GemmDescriptor.bytes + 8 + 3 * size * size * 4);
  const words = new Int32Array(heap.buffer, block, GemmDescriptor.bytes / 4 + 2).fill(0);
  const a = block + GemmDescriptor.bytes + 8;
  const fields: [keyof typeof GemmDescriptor, number][] = [
    ["m", size], ["n", size], ["k", size], ["a", a], ["aRow", 4 * size], ["aCol", 4], ["b", a + 4 * size * size], ["bRow", 4 * size], ["bCol", 4],
    ["c", a + 8 * size * size], ["ldc", 4 * size], ["cBatch", 0], ["aOffsets", block + GemmDescriptor.bytes], ["bOffsets", block + GemmDescriptor.bytes + 4],
  ];
  for (const [name, value] of fields) words[GemmDescriptor[name] / 4] = value;
  for (let i = 0; i < 40; i++) gemm(block, 0, 1, 0, size, scratch);
  heap.free(block);
};

const makeContext = (heap: WasmHeap, shared: boolean, fma: boolean): WasmContext => {
  const module = compiledGemm(shared, fma);
  const wasm = webAssembly()!;
  const instance = new wasm.Instance(module, { env: { memory: heap.memory } });
  const gemm = instance.exports.gemm as GemmFunction;
  const scratches: number[] = [heap.allocate(GEMM_SCRATCH_BYTES)];
  warmUp(heap, gemm, scratches[0]!);
  let threadPool: { pool: ThreadPool; control: number } | undefined;
  return {
    heap,
    gemm,
    gemmChunks: instance.exports.gemm_chunks as GemmChunksFunction,
    exports: instance.exports,
    fma,
    shared,
    scratch: (thread) => {
      while (scratches.length <= thread) scratches.push(heap.allocate(GEMM_SCRATCH_BYTES));
      return scratches[thread]!;
    },
    pool: (threads) => {
      if (!shared || threads <= 1) return undefined;
      if (threadPool !== undefined && activePools.has(threadPool.pool)) return threadPool.pool;
      // First use, or the pool was shut down: start one.
      if (threadPool !== undefined) heap.free(threadPool.control);
      const workers = maxThreads() - 1;
      if (workers < 1) return undefined;
      const control = heap.allocate(controlBytes(workers));
      const spinMilliseconds = workerSpinMilliseconds(process.env);
      threadPool = { pool: createThreadPool({ module, memory: heap.memory, exportNames: POOLED_EXPORTS, control, workers, spinMilliseconds }), control };
      activePools.add(threadPool.pool);
      return threadPool.pool;
    },
  };
};

const activePools = new Set<ThreadPool>();

/** Functions the workers run; a part's first word indexes this list. */
export const POOLED_EXPORTS = ["gemm", "gemm_chunks", "softmax_rows", "reduce_sum_bits", "im2col", "col2im_add", "random_uniform"] as const;
export const POOLED_GEMM = 0;
export const POOLED_GEMM_CHUNKS = 1;
let shared: WasmContext | undefined | null;

/**
 * The process-wide context on a shared memory, or undefined without SIMD or shared memory.
 * @example const ctx = sharedWasmContext(); if (ctx) ctx.heap.allocate(1024);
 */
export const sharedWasmContext = (): WasmContext | undefined => {
  if (shared !== undefined) return shared ?? undefined;
  const features = wasmFeatures();
  if (!features.simd || !features.threads) {
    shared = null;
    return undefined;
  }
  const wasm = webAssembly()!;
  const memory = new wasm.Memory({ initial: 64, maximum: 65536, shared: true });
  shared = makeContext(new WasmHeap(memory, { growable: true }), true, features.relaxedSimd);
  return shared;
};

/**
 * A private single-threaded context with `bytes` of free heap (for engines without shared
 * memory). `fma` defaults to what the engine supports; false forces the plain mul+add kernel.
 * @example const ctx = fixedWasmContext(1 << 20);
 */
export const fixedWasmContext = (bytes: number, options: { readonly fma?: boolean } = {}): WasmContext | undefined => {
  const features = wasmFeatures();
  if (!features.simd) return undefined;
  const fma = features.relaxedSimd && (options.fma ?? true);
  const wasm = webAssembly()!;
  // Room for the scratch, the warm-up block and `bytes`, with slack for alignment.
  const total = bytes + GEMM_SCRATCH_BYTES + 3 * 64 * 64 * 4 + 64 * 1024;
  const memory = new wasm.Memory({ initial: Math.ceil(total / PAGE_BYTES), maximum: Math.ceil(total / PAGE_BYTES) });
  return makeContext(new WasmHeap(memory, { growable: false }), false, fma);
};

/**
 * Stops the worker threads of the fast backend (they are unref()ed, so this is only needed
 * to release them early). Later runs use the calling thread until a pool is needed again.
 * @example await shutdownWasmThreads();
 */
export const shutdownWasmThreads = async (): Promise<void> => {
  const pools = [...activePools];
  activePools.clear();
  await Promise.all(pools.map((p) => p.close()));
};
