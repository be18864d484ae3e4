/**
 * Leaves of the graph: inputs (fed at run time), params (trainable values, fed or
 * initialized), constants, and symbolic dims.
 */
import { Op, type DType, type InitSpec } from "../ops.js";
import type { Dim, Shape, Sym } from "../types/dims.js";
import { apply } from "./apply.js";
import type { Tensor } from "../tensor.js";

/** A named symbolic dim such as the batch size. `sym('batch')` at run time is the string `'batch'`. */
export const sym = <const N extends string>(name: N): Sym<N> => name as unknown as Sym<N>;

const runtimeShape = (shape: Shape): (number | string)[] => shape.map((d: Dim) => d as unknown as number | string);

/** A value fed when the program runs, e.g. a batch of examples. */
export const input = <const S extends Shape, D extends DType = "f32">(name: string, shape: S, dtype?: D): Tensor<S, D> =>
  apply<S, D, typeof Op.Input>(Op.Input, [], { name, shape: runtimeShape(shape), dtype: dtype ?? "f32" });

/** A trainable parameter, e.g. a weight matrix; `init` says how `initParams` fills it. */
export const param = <const S extends Shape, D extends DType = "f32">(name: string, shape: S, dtype?: D, init?: InitSpec): Tensor<S, D> =>
  apply<S, D, typeof Op.Param>(Op.Param, [], { name, shape: runtimeShape(shape), dtype: dtype ?? "f32", ...(init === undefined ? {} : { init }) });

/** A constant tensor from row-major values; a single value fills the shape. */
export const constant = <const S extends readonly number[], D extends DType = "f32">(
  values: number | ArrayLike<number>,
  shape: S,
  dtype?: D,
): Tensor<S, D> =>
  apply<S, D, typeof Op.Constant>(Op.Constant, [], {
    values: typeof values === "number" ? [values] : Array.from(values),
    shape: [...shape],
    dtype: dtype ?? "f32",
  });

/** A rank-0 constant. */
export const scalar = <D extends DType = "f32">(value: number, dtype?: D): Tensor<[], D> => constant(value, [], dtype);

/** A constant filled with one value. */
export const full = <const S extends readonly number[], D extends DType = "f32">(shape: S, value: number, dtype?: D): Tensor<S, D> =>
  constant(value, shape, dtype);
export const zeros = <const S extends readonly number[], D extends DType = "f32">(shape: S, dtype?: D): Tensor<S, D> => full(shape, 0, dtype);
export const ones = <const S extends readonly number[], D extends DType = "f32">(shape: S, dtype?: D): Tensor<S, D> => full(shape, 1, dtype);
