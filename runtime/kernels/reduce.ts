/**
 * Reduction kernels (sum, mean, max, min, logsumexp over any set of axes, argmax) and
 * the softmax family along one axis.
 *
 * Takes an input and normalized axes (checked by the shape rule); `keepdims` does not
 * change the data layout, only the shape. Guarantees: accumulation is in double (i32
 * sums wrap like int32); an empty axes set copies the input; max/min/logsumexp propagate
 * NaN; logsumexp, softmax and logSoftmax subtract the maximum first, so they stay finite
 * for logits of any finite size. Reductions over zero elements give the identity: sum 0,
 * mean NaN, max -inf (i32: -2^31), min +inf (i32: 2^31 - 1), logsumexp -inf; argmax over
 * an empty axis throws a RangeError.
 */
import type { Op, ReduceOp } from "../../src/ops.js";
import type { TensorValue, TypedArray } from "../value.js";
import { arg, type Kernel } from "./kernel.js";
import { I32_MAX, I32_MIN } from "./scalar.js";
import { contiguousStrides, offsetTable, sizeOf } from "./strided.js";

/** Where each output's elements live: `outputBases[o] + reducedOffsets[j]` for all j. */
interface ReductionPlan {
  readonly outputBases: Int32Array;
  readonly reducedOffsets: Int32Array;
}

const planReduction = (shape: readonly number[], axes: readonly number[]): ReductionPlan => {
  const strides = contiguousStrides(shape);
  const keptAxes = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  return {
    outputBases: offsetTable(keptAxes.map((i) => shape[i]!), keptAxes.map((i) => strides[i]!)),
    reducedOffsets: offsetTable(axes.map((i) => shape[i]!), axes.map((i) => strides[i]!)),
  };
};

/** Folds each output's elements with `combine(x, bases[o], offsets)`. */
const reduceWith =
  <K extends Op>(combine: (x: TypedArray, base: number, offsets: Int32Array, input: TensorValue) => number, axesOf: (p: Parameters<Kernel<K>>[1]) => readonly number[]): Kernel<K> =>
  (inputs, params, out) => {
    const x = arg(inputs, 0);
    const plan = planReduction(x.shape, axesOf(params));
    const o = out.data;
    const bases = plan.outputBases;
    for (let i = 0; i < bases.length; i++) o[i] = combine(x.data, bases[i]!, plan.reducedOffsets, x);
  };

const sumOf = (x: TypedArray, base: number, offsets: Int32Array, input: TensorValue): number => {
  let acc = 0;
  if (input.dtype === "i32") for (let j = 0; j < offsets.length; j++) acc = (acc + x[base + offsets[j]!]!) | 0;
  else for (let j = 0; j < offsets.length; j++) acc += x[base + offsets[j]!]!;
  return acc;
};

/** Largest element, NaN if any element is NaN, the identity when there are none. */
const maxOf = (x: TypedArray, base: number, offsets: Int32Array, input: TensorValue): number => {
  let m = input.dtype === "i32" ? I32_MIN : -Infinity;
  for (let j = 0; j < offsets.length; j++) {
    const v = x[base + offsets[j]!]!;
    if (v > m) m = v;
    else if (v !== v) return v;
  }
  return m;
};

const minOf = (x: TypedArray, base: number, offsets: Int32Array, input: TensorValue): number => {
  let m = input.dtype === "i32" ? I32_MAX : Infinity;
  for (let j = 0; j < offsets.length; j++) {
    const v = x[base + offsets[j]!]!;
    if (v < m) m = v;
    else if (v !== v) return v;
  }
  return m;
};

const logSumExpOf = (x: TypedArray, base: number, offsets: Int32Array, input: TensorValue): number => {
  const m = maxOf(x, base, offsets, input);
  // An infinite max is the answer (all -inf, empty, or some +inf); NaN propagates.
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (let j = 0; j < offsets.length; j++) s += Math.exp(x[base + offsets[j]!]! - m);
  return m + Math.log(s);
};

const axesParam = (p: { readonly axes: readonly number[] }): readonly number[] => p.axes;

/** argmax: index of the first largest element along the axis; the first NaN counts as largest. */
export const argmaxKernel: Kernel<typeof Op.ArgMax> = (inputs, params, out) => {
  const x = arg(inputs, 0);
  const size = x.shape[params.axis]!;
  if (size === 0 && sizeOf(out.shape) > 0)
    throw new RangeError(`argmax over axis ${params.axis} of size 0 (shape [${x.shape.join(", ")}]) has no answer`);
  const plan = planReduction(x.shape, [params.axis]);
  const [xd, o, bases, offsets] = [x.data, out.data, plan.outputBases, plan.reducedOffsets];
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i]!;
    let best = 0;
    let bestValue = xd[base]!;
    for (let j = 1; j < offsets.length && bestValue === bestValue; j++) {
      const v = xd[base + offsets[j]!]!;
      if (v > bestValue || v !== v) {
        best = j;
        bestValue = v;
      }
    }
    o[i] = best;
  }
};

/** Calls `row(base, stride, n)` for every 1-d line along `axis`. */
const forEachLine = (shape: readonly number[], axis: number, row: (base: number, stride: number, n: number) => void): void => {
  const n = shape[axis]!;
  const inner = sizeOf(shape.slice(axis + 1));
  const outer = sizeOf(shape.slice(0, axis));
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) row(o * n * inner + i, inner, n);
};

const lineMax = (x: TypedArray, base: number, stride: number, n: number): number => {
  let m = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = x[base + j * stride]!;
    if (v > m) m = v;
    else if (v !== v) return v;
  }
  return m;
};

/** softmax along `axis`: exp(x - max) / sum(exp(x - max)). */
export const softmaxKernel: Kernel<typeof Op.Softmax> = (inputs, params, out) => {
  const x = arg(inputs, 0);
  const [xd, o] = [x.data, out.data];
  forEachLine(x.shape, params.axis, (base, stride, n) => {
    const m = lineMax(xd, base, stride, n);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(xd[base + j * stride]! - m);
    for (let j = 0; j < n; j++) o[base + j * stride] = Math.exp(xd[base + j * stride]! - m) / s;
  });
};

/** logSoftmax along `axis`: x - max - log(sum(exp(x - max))). */
export const logSoftmaxKernel: Kernel<typeof Op.LogSoftmax> = (inputs, params, out) => {
  const x = arg(inputs, 0);
  const [xd, o] = [x.data, out.data];
  forEachLine(x.shape, params.axis, (base, stride, n) => {
    const m = lineMax(xd, base, stride, n);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(xd[base + j * stride]! - m);
    // (x - max) - log(s), not x - (max + log(s)): the latter rounds at the scale of max.
    const logS = Math.log(s);
    for (let j = 0; j < n; j++) o[base + j * stride] = xd[base + j * stride]! - m - logS;
  });
};

/** Reduction kernel entries, keyed by op. */
export const reduceKernels: { readonly [K in ReduceOp | "argmax" | "softmax" | "logSoftmax"]: Kernel<K> } = {
  sum: reduceWith(sumOf, axesParam),
  mean: reduceWith((x, base, offsets, input) => sumOf(x, base, offsets, input) / offsets.length, axesParam),
  max: reduceWith(maxOf, axesParam),
  min: reduceWith(minOf, axesParam),
  logsumexp: reduceWith(logSumExpOf, axesParam),
  argmax: argmaxKernel,
  softmax: softmaxKernel,
  logSoftmax: logSoftmaxKernel,
};
