/**
 * f32 sum, mean, softmax and logSoftmax on the generated module's reduction functions.
 *
 * Takes the op, its concrete input shape and params. `planWasmReduce` returns undefined
 * for what the functions do not cover (an empty reduction, a softmax not along the last
 * axis, or one over an empty axis), so those steps keep their JS kernel. Otherwise the
 * input is viewed as [outer, reduced, inner] (sum, mean: once per run of consecutive
 * reduced axes, innermost run first, through intermediate buffers in the heap, e.g. batch
 * norm's statistics over axes 0, 2 and 3) or [rows, n] (softmax family) and
 * `run(input, out)` takes byte addresses in the context's heap. Results match the
 * reference kernels within float32 tolerance (these accumulate in f32, the references in
 * double).
 */
import type { ReduceParams } from "../../src/ops.js";
import { POOLED_EXPORTS, type WasmContext } from "./context.js";
import { evenCuts, type ThreadPool } from "../threads/pool.js";

export const WASM_REDUCE_OPS: ReadonlySet<string> = new Set(["sum", "mean", "softmax", "logSoftmax"]);

export interface WasmReduce {
  run(input: number, out: number): void;
  /** Frees the intermediate buffers of a reduction over several runs of axes. */
  free?(): void;
}

type ReduceSum = (x: number, out: number, outer: number, reduced: number, inner: number, scale: number) => void;
type SoftmaxRows = (x: number, out: number, rows: number, n: number, log: number) => void;

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Elements below which a reduction runs on the calling thread alone (as for fused groups). */
export const REDUCE_SPLIT_ELEMENTS = 16384;

/**
 * Plans a reduction, or undefined when it stays in JavaScript. With `threads` > 1 and at
 * least `REDUCE_SPLIT_ELEMENTS` elements, softmax rows (and, for sums, the outer index)
 * are cut into one contiguous range per thread; each row or output element is computed by
 * the same instructions either way, so results do not depend on the split.
 * @example planWasmReduce(ctx, "sum", [128, 256], { axes: [0], keepdims: false })?.run(xAt, outAt);
 */
export const planWasmReduce = (ctx: WasmContext, op: string, shape: readonly number[], params: ReduceParams | { readonly axis: number }, threads = 1): WasmReduce | undefined => {
  const poolFor = (outer: number): ThreadPool | undefined => (threads > 1 && outer > 1 && product(shape) >= REDUCE_SPLIT_ELEMENTS ? ctx.pool(threads) : undefined);
  if (op === "softmax" || op === "logSoftmax") {
    const axis = (params as { readonly axis: number }).axis;
    const n = shape[shape.length - 1] ?? 1;
    if (axis !== shape.length - 1 || n === 0) return undefined;
    const rows = product(shape.slice(0, -1));
    const fn = ctx.exports.softmax_rows as SoftmaxRows;
    const log = op === "logSoftmax" ? 1 : 0;
    const split = splitOuter(poolFor(rows), threads, rows, 4 * n, 4 * n, POOLED_EXPORTS.indexOf("softmax_rows"), (x, out, count) => [x, out, count, n, log]);
    return split === undefined ? { run: (x, out) => fn(x, out, rows, n, log) } : { run: (x, out) => split(x, out, (a) => fn(a[1]!, a[2]!, a[3]!, a[4]!, a[5]!)) };
  }
  if (op !== "sum" && op !== "mean") return undefined;
  const axes = [...new Set((params as ReduceParams).axes)].sort((a, b) => a - b);
  if (axes.length === 0 || axes.some((a) => a < 0 || a >= shape.length)) return undefined;
  const total = product(axes.map((a) => shape[a]!));
  if (total === 0) return undefined;
  // Runs of consecutive axes, reduced from the innermost run outwards (removing a run leaves the earlier axes' indices as they were).
  const runs: [number, number][] = [];
  for (const a of axes) {
    const lastRun = runs[runs.length - 1];
    if (lastRun !== undefined && lastRun[1] === a - 1) lastRun[1] = a;
    else runs.push([a, a]);
  }
  runs.reverse();
  const scale = op === "mean" ? 1 / total : 1;
  let current = [...shape];
  const steps: ((x: number, out: number) => void)[] = [];
  const temps: number[] = [];
  runs.forEach(([first, last], i) => {
    const final = i === runs.length - 1;
    steps.push(planBlock(ctx, current, first, last, final ? scale : 1, threads, product(shape) >= REDUCE_SPLIT_ELEMENTS));
    current = [...current.slice(0, first), ...current.slice(last + 1)];
    if (!final) temps.push(ctx.heap.allocate(4 * Math.max(product(current), 1)));
  });
  if (steps.length === 1) return { run: steps[0]! };
  return {
    run: (x, out) => steps.forEach((step, i) => step(i === 0 ? x : temps[i - 1]!, i === steps.length - 1 ? out : temps[i]!)),
    free: () => temps.forEach((t) => ctx.heap.free(t)),
  };
};

/** Sum (times `scale`) over the consecutive axes [first, last] of `shape`: x viewed as [outer, reduced, inner]. */
const planBlock = (ctx: WasmContext, shape: readonly number[], first: number, last: number, scale: number, threads: number, large: boolean): ((x: number, out: number) => void) => {
  const reduced = product(shape.slice(first, last + 1));
  const outer = product(shape.slice(0, first));
  const inner = product(shape.slice(last + 1));
  const fn = ctx.exports.reduce_sum as ReduceSum;
  // `scale` is an f32 argument: workers take i32 words, so it travels as its bit pattern.
  const scaleBits = new Int32Array(Float32Array.of(scale).buffer)[0]!;
  const pool = threads > 1 && outer > 1 && large ? ctx.pool(threads) : undefined;
  const split = splitOuter(pool, threads, outer, 4 * reduced * inner, 4 * inner, POOLED_EXPORTS.indexOf("reduce_sum_bits"), (x, out, count) => [x, out, count, reduced, inner, scaleBits]);
  return split === undefined ? (x, out) => fn(x, out, outer, reduced, inner, scale) : (x, out) => split(x, out, (a) => fn(a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, scale));
};

/**
 * Runs `count` outer units (x advancing `xStride` bytes, out `outStride` per unit) as one
 * contiguous range per thread; undefined without a pool.
 */
const splitOuter = (
  pool: ThreadPool | undefined,
  threads: number,
  count: number,
  xStride: number,
  outStride: number,
  fnIndex: number,
  argsOf: (x: number, out: number, count: number) => number[],
): ((x: number, out: number, local: (part: readonly number[]) => void) => void) | undefined => {
  if (pool === undefined) return undefined;
  const parts = Math.min(threads, pool.threads, count);
  if (parts < 2) return undefined;
  const cuts = evenCuts(count, parts);
  return (x, out, local) => {
    const work = cuts.slice(0, -1).map((start, t) => [fnIndex, ...argsOf(x + start * xStride, out + start * outStride, cuts[t + 1]! - start)]);
    pool.run(work, local);
  };
};
