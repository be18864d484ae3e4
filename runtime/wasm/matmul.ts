/**
 * Batched f32 matmul on the generated GEMM, split across threads.
 *
 * Takes a `MatmulPlan` (shapes, element strides and per-batch offsets from
 * `runtime/matmul/batched.ts`, so transposes are read in place and batch dims broadcast
 * exactly as in the JavaScript kernel), a context and a thread count. At plan time it
 * writes the job descriptor and offset tables into the heap and decides the split
 * (`splitMatmul`): products under `PARALLEL_MIN_FLOPS` run on the calling thread; larger
 * ones are claimed chunk by chunk by all threads (whole batches, or row chunks over a B
 * packed once and shared, shrinking towards the end), so a thread the OS deschedules or
 * a worker that wakes late delays at most the (small) chunk it holds.
 * `run(a, b, c)` then only stores three addresses and dispatches. Guarantees: every
 * output element is written (k = 0 gives zeros); every output element is accumulated in
 * the same order (equal K blocks of at most 256, k ascending within) whatever the split, so results are
 * identical with 1 and 2 threads; operands are only read.
 */
import type { MatmulPlan } from "../matmul/batched.js";
import { maxThreads, POOLED_GEMM, POOLED_GEMM_CHUNKS, type WasmContext } from "./context.js";
import { balancedKc, GEMM_MC, GEMM_MR, GEMM_NR, GemmDescriptor } from "./gemmModule.js";

/** Products below this many flops run on one thread (dispatch and a cold worker cost more than they save). */
export const PARALLEL_MIN_FLOPS = 4e6;

/** Columns per pack task of the shared packed B. */
const PACK_COLS = 64;

/**
 * How a product is divided among threads:
 * - `single`: one call on the calling thread;
 * - `batches`: threads claim whole batches (mode 0 of `gemm_chunks`);
 * - `rows`: threads claim pack tasks of a shared packed B, then row chunks [starts[c], starts[c + 1]) (mode 1);
 * - `columns`: one static block of output columns per thread (a product with few rows).
 */
export type MatmulSplit =
  | { readonly kind: "single" }
  | { readonly kind: "batches" }
  | { readonly kind: "rows"; readonly starts: readonly number[] }
  | { readonly kind: "columns"; readonly cuts: readonly number[] };

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/**
 * Row chunks for `threads` threads, guided self-scheduling: each chunk takes 1/(2·threads)
 * of the rows left (a multiple of MR, at most MC, at least `minRows`), so chunks shrink
 * towards the end. A thread that starts late (a sleeping worker waking up) or is
 * descheduled holds at most one chunk, and the last chunks, the ones others may wait for
 * at the end, are the small ones.
 * @example guidedRowStarts(128, 2, 8) // [0, 32, 56, 76, 92, 104, 112, 120, 128]
 */
export const guidedRowStarts = (m: number, threads: number, minRows: number): number[] => {
  const starts = [0];
  for (let i = 0; i < m; ) {
    i = Math.min(m, i + Math.min(GEMM_MC, Math.max(minRows, roundUp(Math.ceil((m - i) / (2 * threads)), GEMM_MR))));
    starts.push(i);
  }
  return starts;
};

/**
 * The split of a product for `threads` threads.
 * @example splitMatmul({ m: 1024, n: 1024, k: 1024, batches: 1, flops: 2 ** 31 }, 2) // { kind: "rows", starts: [0, 128, 256, 384, 512, 640, 736, 808, ..., 1000, 1024] }
 */
export const splitMatmul = (plan: Pick<MatmulPlan, "m" | "n" | "k" | "batches" | "flops">, threads: number): MatmulSplit => {
  if (threads <= 1 || plan.flops < PARALLEL_MIN_FLOPS || plan.k === 0) return { kind: "single" };
  if (plan.batches >= threads) return { kind: "batches" };
  if (plan.batches === 1 && plan.m >= 8 * threads) {
    // Chunks of at least 1/32 of the rows (and 8): every chunk streams all of packed B once.
    return { kind: "rows", starts: guidedRowStarts(plan.m, threads, Math.max(8, roundUp(Math.ceil(plan.m / 32), GEMM_MR))) };
  }
  if (plan.n >= 4 * GEMM_NR * threads) {
    const cuts = [0];
    for (let p = 1; p < threads; p++) cuts.push(Math.round((plan.n * p) / threads / GEMM_NR) * GEMM_NR);
    cuts.push(plan.n);
    return { kind: "columns", cuts };
  }
  return { kind: "single" };
};

export interface WasmMatmul {
  readonly split: MatmulSplit;
  /** Threads the product may run on. */
  readonly threads: number;
  /** C = A·B with operands at byte addresses of the context's heap. */
  run(a: number, b: number, c: number): void;
  /**
   * For a single-threaded plan: sets the operands and returns the pool part that runs the
   * whole product on thread `thread`'s packing scratch (a `POOLED_GEMM` part), so several
   * independent products can run side by side in one `pool.run`.
   */
  part(a: number, b: number, c: number, thread: number): number[];
  /** Releases the descriptor and packing space (the plan must not run afterwards). */
  free(): void;
}

/**
 * Plans a product on the generated GEMM (`accumulate`: C += A·B instead of C = A·B).
 * @example const mm = planWasmMatmul(ctx, planMatmul([128, 784], [784, 256], params, [128, 256]), 2); mm.run(aAt, bAt, cAt);
 */
export const planWasmMatmul = (
  ctx: WasmContext,
  plan: MatmulPlan,
  threads: number,
  options: { readonly accumulate?: boolean; /** Elements between batches' outputs (default m·n; 0: every batch adds into one C, with `accumulate`). */ readonly cBatch?: number } = {},
): WasmMatmul => {
  // Workers start only for a program that has a product worth splitting.
  const pool = splitMatmul(plan, Math.min(threads, maxThreads())).kind === "single" ? undefined : ctx.pool(threads);
  const usable = pool === undefined ? 1 : Math.min(threads, pool.threads);
  const split = splitMatmul(plan, usable);
  const nPad = roundUp(plan.n, GEMM_NR);
  const packedBytes = split.kind === "rows" ? 4 * plan.k * nPad : 0;
  const rowStarts = split.kind === "rows" ? split.starts : [];
  // Batch offset tables (A, then B), then the row starts; packed B after them, 64-byte aligned.
  const tableBytes = roundUp(8 * plan.batches + 4 * rowStarts.length, 64);
  const block = ctx.heap.allocate(GemmDescriptor.bytes + tableBytes + packedBytes);
  const tables = block + GemmDescriptor.bytes;
  const words = new Int32Array(ctx.heap.buffer, block, (GemmDescriptor.bytes + tableBytes) / 4);
  // Heap blocks are reused: every field not set below must read 0.
  words.fill(0);
  for (let t = 0; t < plan.batches; t++) {
    words[GemmDescriptor.bytes / 4 + t] = 4 * plan.aOffsets[t]!;
    words[GemmDescriptor.bytes / 4 + plan.batches + t] = 4 * plan.bOffsets[t]!;
  }
  rowStarts.forEach((row, c) => (words[GemmDescriptor.bytes / 4 + 2 * plan.batches + c] = row));
  const set = (field: keyof typeof GemmDescriptor, value: number): void => void (words[GemmDescriptor[field] / 4] = value);
  set("m", plan.m);
  set("n", plan.n);
  set("k", plan.k);
  set("aRow", 4 * plan.aRow);
  set("aCol", 4 * plan.aCol);
  set("bRow", 4 * plan.bRow);
  set("bCol", 4 * plan.bCol);
  set("ldc", 4 * plan.n);
  set("cBatch", 4 * (options.cBatch ?? plan.m * plan.n));
  set("aOffsets", tables);
  set("bOffsets", tables + 4 * plan.batches);
  set("mode", split.kind === "rows" ? 1 : 0);
  set("accumulateC", options.accumulate === true ? 1 : 0);
  set("batches", plan.batches);
  set("kcBlock", balancedKc(plan.k));
  if (split.kind === "rows") {
    set("chunks", rowStarts.length - 1);
    set("rowStarts", tables + 8 * plan.batches);
    set("packCols", PACK_COLS);
    set("packTasks", Math.ceil(plan.n / PACK_COLS));
    set("packedB", tables + tableBytes);
  }
  const desc = block;
  const { gemm, gemmChunks } = ctx;
  const threadCount = split.kind === "single" ? 1 : split.kind === "columns" ? split.cuts.length - 1 : usable;
  const scratch = Array.from({ length: threadCount }, (_, t) => ctx.scratch(t));
  const parts: number[][] =
    split.kind === "columns"
      ? scratch.map((s, t) => [POOLED_GEMM, desc, 0, plan.batches, split.cuts[t]!, split.cuts[t + 1]!, s])
      : scratch.map((s) => [POOLED_GEMM_CHUNKS, desc, s]);
  const local =
    split.kind === "columns" ? (a: readonly number[]) => gemm(a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!) : (a: readonly number[]) => gemmChunks(a[1]!, a[2]!);
  const outBytes = 4 * plan.batches * plan.m * plan.n;
  // Mode 1 reads operands directly (no batch tables): a single product's offsets are those of batch 0.
  const [aShift, bShift] = split.kind === "rows" ? [4 * plan.aOffsets[0]!, 4 * plan.bOffsets[0]!] : [0, 0];
  let freed = false;
  return {
    split,
    threads: threadCount,
    run(a, b, c) {
      if (freed) throw new Error("this wasm matmul plan was freed");
      if (plan.k === 0) {
        if (options.accumulate !== true) new Uint8Array(ctx.heap.buffer, c, outBytes).fill(0);
        return;
      }
      if (plan.m === 0 || plan.n === 0 || plan.batches === 0) return;
      words[GemmDescriptor.a / 4] = a + aShift;
      words[GemmDescriptor.b / 4] = b + bShift;
      words[GemmDescriptor.c / 4] = c;
      if (split.kind === "single" || pool === undefined) {
        gemm(desc, 0, plan.batches, 0, plan.n, scratch[0]!);
        return;
      }
      words[GemmDescriptor.claimed / 4] = 0;
      words[GemmDescriptor.packed / 4] = 0;
      pool.run(parts, local);
    },
    part(a, b, c, thread) {
      if (freed) throw new Error("this wasm matmul plan was freed");
      if (split.kind !== "single" || plan.k === 0) throw new RangeError("part() needs a single-threaded plan with k ≥ 1");
      words[GemmDescriptor.a / 4] = a;
      words[GemmDescriptor.b / 4] = b;
      words[GemmDescriptor.c / 4] = c;
      return [POOLED_GEMM, desc, 0, plan.batches, 0, plan.n, ctx.scratch(thread)];
    },
    free() {
      if (!freed) ctx.heap.free(block);
      freed = true;
    },
  };
};
