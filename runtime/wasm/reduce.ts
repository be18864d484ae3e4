/**
 * f32 sum, mean, softmax and logSoftmax on the generated module's reduction functions.
 *
 * Takes the op, its concrete input shape and params. `planWasmReduce` returns undefined
 * for what the functions do not cover (a sum/mean whose reduced axes are not one
 * contiguous block, an empty reduction, a softmax not along the last axis, or one over an
 * empty axis), so those steps keep their JS kernel. Otherwise the input is viewed as
 * [outer, reduced, inner] (sum, mean) or [rows, n] (softmax family) and
 * `run(input, out)` takes byte addresses in the context's heap. Results match the
 * reference kernels within float32 tolerance (these accumulate in f32, the references in
 * double).
 */
import type { ReduceParams } from "../../src/ops.js";
import type { WasmContext } from "./context.js";

export const WASM_REDUCE_OPS: ReadonlySet<string> = new Set(["sum", "mean", "softmax", "logSoftmax"]);

export interface WasmReduce {
  run(input: number, out: number): void;
}

type ReduceSum = (x: number, out: number, outer: number, reduced: number, inner: number, scale: number) => void;
type SoftmaxRows = (x: number, out: number, rows: number, n: number, log: number) => void;

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/**
 * Plans a reduction, or undefined when it stays in JavaScript.
 * @example planWasmReduce(ctx, "sum", [128, 256], { axes: [0], keepdims: false })?.run(xAt, outAt);
 */
export const planWasmReduce = (ctx: WasmContext, op: string, shape: readonly number[], params: ReduceParams | { readonly axis: number }): WasmReduce | undefined => {
  if (op === "softmax" || op === "logSoftmax") {
    const axis = (params as { readonly axis: number }).axis;
    const n = shape[shape.length - 1] ?? 1;
    if (axis !== shape.length - 1 || n === 0) return undefined;
    const rows = product(shape.slice(0, -1));
    const fn = ctx.exports.softmax_rows as SoftmaxRows;
    const log = op === "logSoftmax" ? 1 : 0;
    return { run: (x, out) => fn(x, out, rows, n, log) };
  }
  if (op !== "sum" && op !== "mean") return undefined;
  const axes = (params as ReduceParams).axes;
  if (axes.length === 0 || axes.some((a, i) => i > 0 && a !== axes[i - 1]! + 1)) return undefined;
  const [first, last] = [axes[0]!, axes[axes.length - 1]!];
  const reduced = product(shape.slice(first, last + 1));
  if (reduced === 0) return undefined;
  const outer = product(shape.slice(0, first));
  const inner = product(shape.slice(last + 1));
  const fn = ctx.exports.reduce_sum as ReduceSum;
  const scale = op === "mean" ? 1 / reduced : 1;
  return { run: (x, out) => fn(x, out, outer, reduced, inner, scale) };
};
