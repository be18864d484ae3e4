/**
 * Leaves of the graph: inputs (fed at run time), params (trainable values, fed or
 * initialized), constants, and symbolic dims.
 *
 * Static types: the shape as written becomes the tensor's static shape (`readonly [batch, 784]`).
 * Shapes are not checked statically here, so generic layer code can pass `[I, O]`; the
 * runtime rule rejects negative or fractional dims. The dtype is `NoInfer` in results so
 * an omitted dtype means f32 even where the call's context expects any tensor.
 */
import { Op, type DType, type InitSpec } from "../ops.js";
import type { Dim, Shape, Sym } from "../types/dims.js";
import { apply } from "./apply.js";
import type { Tensor } from "../tensor.js";

/**
 * A named symbolic dim such as the batch size. `sym('batch')` at run time is the string `'batch'`.
 * @example const B = sym("batch"); const x = input("x", [B, 784]); // Tensor<[batch, 784], "f32">
 */
export const sym = <const N extends string>(name: N): Sym<N> => name as unknown as Sym<N>;

const runtimeShape = (shape: Shape): (number | string)[] => shape.map((d: Dim) => d as unknown as number | string);

/**
 * A value fed when the program runs, e.g. a batch of examples.
 * @example const x = input("x", [sym("batch"), 784]); // Tensor<[batch, 784], "f32">
 */
export const input = <const S extends Shape, D extends DType = "f32">(
  name: string,
  shape: S,
  dtype?: D,
): Tensor<S, NoInfer<D>> =>
  apply<S, D, typeof Op.Input>(Op.Input, [], { name, shape: runtimeShape(shape), dtype: dtype ?? "f32" });

/**
 * A trainable parameter, e.g. a weight matrix; `init` says how `initParams` fills it.
 * @example const W = param("W", [784, 10], "f32", { kind: "glorotUniform" });
 */
export const param = <const S extends Shape, D extends DType = "f32">(
  name: string,
  shape: S,
  dtype?: D,
  init?: InitSpec,
): Tensor<S, NoInfer<D>> =>
  apply<S, D, typeof Op.Param>(Op.Param, [], {
    name,
    shape: runtimeShape(shape),
    dtype: dtype ?? "f32",
    ...(init === undefined ? {} : { init }),
  });

/**
 * A constant tensor from row-major values; a single value fills the shape.
 * @example const c = constant([1, 2, 3, 4], [2, 2]); // Tensor<[2, 2], "f32">
 */
export const constant = <const S extends readonly number[], D extends DType = "f32">(
  values: number | ArrayLike<number>,
  shape: S,
  dtype?: D,
): Tensor<S, NoInfer<D>> =>
  apply<S, D, typeof Op.Constant>(Op.Constant, [], {
    values: typeof values === "number" ? [values] : Array.from(values),
    shape: [...shape],
    dtype: dtype ?? "f32",
  });

/** A rank-0 constant. @example const half = scalar(0.5, "f64"); */
export const scalar = <D extends DType = "f32">(value: number, dtype?: D): Tensor<[], NoInfer<D>> => constant(value, [], dtype);

/** A constant filled with one value. @example const t = full([2, 3], 7); */
export const full = <const S extends readonly number[], D extends DType = "f32">(
  shape: S,
  value: number,
  dtype?: D,
): Tensor<S, NoInfer<D>> => constant<S, D>(value, shape, dtype);
/** Zeros. @example const z = zeros([3], "f64"); */
export const zeros = <const S extends readonly number[], D extends DType = "f32">(
  shape: S,
  dtype?: D,
): Tensor<S, NoInfer<D>> => constant<S, D>(0, shape, dtype);
/** Ones. @example const o = ones([2, 2]); */
export const ones = <const S extends readonly number[], D extends DType = "f32">(
  shape: S,
  dtype?: D,
): Tensor<S, NoInfer<D>> => constant<S, D>(1, shape, dtype);
