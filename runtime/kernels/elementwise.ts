/**
 * Elementwise kernels: unary math, binary arithmetic and comparisons with NumPy
 * broadcasting, `where`, and `cast`.
 *
 * Takes inputs whose shapes broadcast to `out.shape` (checked by the shape rule).
 * Guarantees: float results are computed in double and rounded once on store, so an f32
 * result is the f32 rounding of the double computation; i32 arithmetic wraps like
 * two's-complement int32 (mul uses Math.imul); comparisons write 0/1 bytes; NaN
 * propagates through arithmetic, maximum and minimum.
 */
import type { BinaryOp, CompareOp, Op, UnaryOp } from "../../src/ops.js";
import type { TensorValue } from "../value.js";
import { arg, type Kernel } from "./kernel.js";
import { erf, floatToI32, gelu, sigmoid, softplus } from "./scalar.js";
import { broadcastStrides, contiguousStrides, forEachRow, sizeOf } from "./strided.js";

type Fn1 = (x: number) => number;
type Fn2 = (a: number, b: number) => number;

/** A unary kernel; `onI32` replaces `f` for i32 data where plain double math would not wrap. */
export const unaryKernel =
  <K extends Op>(f: Fn1, onI32: Fn1 = f): Kernel<K> =>
  (inputs, _params, out) => {
    const x = arg(inputs, 0).data;
    const o = out.data;
    const g = out.dtype === "i32" ? onI32 : f;
    const n = sizeOf(out.shape);
    for (let i = 0; i < n; i++) o[i] = g(x[i]!);
  };

/** Applies `f` over two broadcast operands: fast paths for equal sizes and one-element operands. */
const broadcast2 = (a: TensorValue, b: TensorValue, out: TensorValue, f: Fn2): void => {
  const ad = a.data;
  const bd = b.data;
  const o = out.data;
  const n = sizeOf(out.shape);
  const an = sizeOf(a.shape);
  const bn = sizeOf(b.shape);
  // Equal element counts under broadcasting mean identical row-major order.
  if (an === n && bn === n) {
    for (let i = 0; i < n; i++) o[i] = f(ad[i]!, bd[i]!);
    return;
  }
  if (bn === 1 && an === n) {
    const s = bd[0]!;
    for (let i = 0; i < n; i++) o[i] = f(ad[i]!, s);
    return;
  }
  if (an === 1 && bn === n) {
    const s = ad[0]!;
    for (let i = 0; i < n; i++) o[i] = f(s, bd[i]!);
    return;
  }
  const strides = [broadcastStrides(a.shape, out.shape), broadcastStrides(b.shape, out.shape), contiguousStrides(out.shape)];
  forEachRow(out.shape, strides, (off, st, len) => {
    const [ao, bo, oo] = [off[0]!, off[1]!, off[2]!];
    const [as, bs] = [st[0]!, st[1]!];
    for (let i = 0; i < len; i++) o[oo + i] = f(ad[ao + i * as]!, bd[bo + i * bs]!);
  });
};

/** A binary kernel with broadcasting; `onI32` replaces `f` for i32 operands. */
export const binaryKernel =
  <K extends Op>(f: Fn2, onI32: Fn2 = f): Kernel<K> =>
  (inputs, _params, out) => {
    const a = arg(inputs, 0);
    broadcast2(a, arg(inputs, 1), out, a.dtype === "i32" ? onI32 : f);
  };

/** A comparison kernel: writes 1 where `test` holds, else 0. */
export const compareKernel =
  <K extends Op>(test: (a: number, b: number) => boolean): Kernel<K> =>
  (inputs, _params, out) =>
    broadcast2(arg(inputs, 0), arg(inputs, 1), out, (a, b) => (test(a, b) ? 1 : 0));

/** where(mask, a, b): `a` where the mask byte is non-zero, else `b`; all three broadcast. */
export const whereKernel: Kernel<typeof Op.Where> = (inputs, _params, out) => {
  const [m, a, b] = [arg(inputs, 0), arg(inputs, 1), arg(inputs, 2)];
  const [md, ad, bd, o] = [m.data, a.data, b.data, out.data];
  const n = sizeOf(out.shape);
  if (sizeOf(m.shape) === n && sizeOf(a.shape) === n && sizeOf(b.shape) === n) {
    for (let i = 0; i < n; i++) o[i] = md[i] ? ad[i]! : bd[i]!;
    return;
  }
  const strides = [m, a, b].map((v) => broadcastStrides(v.shape, out.shape));
  strides.push(contiguousStrides(out.shape));
  forEachRow(out.shape, strides, (off, st, len) => {
    const [mo, ao, bo, oo] = [off[0]!, off[1]!, off[2]!, off[3]!];
    const [ms, as, bs] = [st[0]!, st[1]!, st[2]!];
    for (let i = 0; i < len; i++) o[oo + i] = md[mo + i * ms] ? ad[ao + i * as]! : bd[bo + i * bs]!;
  });
};

/**
 * cast: to f32/f64 converts the number (bool is 0/1, f64 to f32 rounds to nearest);
 * float to i32 truncates toward zero, saturating at the i32 range, NaN to 0; to bool is
 * `x != 0` (so NaN is true).
 */
export const castKernel: Kernel<typeof Op.Cast> = (inputs, params, out) => {
  const x = arg(inputs, 0);
  const xd = x.data;
  const o = out.data;
  const n = sizeOf(out.shape);
  if (params.dtype === "bool") for (let i = 0; i < n; i++) o[i] = xd[i] !== 0 ? 1 : 0;
  else if (params.dtype === "i32" && (x.dtype === "f32" || x.dtype === "f64")) for (let i = 0; i < n; i++) o[i] = floatToI32(xd[i]!);
  else for (let i = 0; i < n; i++) o[i] = xd[i]!;
};

const relu = (x: number): number => (x > 0 ? x : x === x ? 0 : x);

/** Elementwise kernel entries, keyed by op. */
export const elementwiseKernels: { readonly [K in UnaryOp | BinaryOp | CompareOp | "where" | "cast"]: Kernel<K> } = {
  neg: unaryKernel((x) => -x),
  abs: unaryKernel(Math.abs),
  sign: unaryKernel(Math.sign),
  exp: unaryKernel(Math.exp),
  log: unaryKernel(Math.log),
  sqrt: unaryKernel(Math.sqrt),
  square: unaryKernel((x) => x * x, (x) => Math.imul(x, x)),
  tanh: unaryKernel(Math.tanh),
  sigmoid: unaryKernel(sigmoid),
  relu: unaryKernel(relu),
  gelu: unaryKernel(gelu),
  softplus: unaryKernel(softplus),
  sin: unaryKernel(Math.sin),
  cos: unaryKernel(Math.cos),
  erf: unaryKernel(erf),
  add: binaryKernel((a, b) => a + b),
  sub: binaryKernel((a, b) => a - b),
  mul: binaryKernel((a, b) => a * b, Math.imul),
  div: binaryKernel((a, b) => a / b),
  pow: binaryKernel(Math.pow),
  maximum: binaryKernel(Math.max),
  minimum: binaryKernel(Math.min),
  mulNoNan: binaryKernel((a, b) => (a === 0 ? 0 : a * b)),
  less: compareKernel((a, b) => a < b),
  lessEqual: compareKernel((a, b) => a <= b),
  greater: compareKernel((a, b) => a > b),
  greaterEqual: compareKernel((a, b) => a >= b),
  equal: compareKernel((a, b) => a === b),
  notEqual: compareKernel((a, b) => a !== b),
  where: whereKernel,
  cast: castKernel,
};
