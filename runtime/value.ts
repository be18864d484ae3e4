/**
 * Tensor values at run time: a dtype, a concrete shape and a typed array in row-major
 * order. f32 -> Float32Array, f64 -> Float64Array, i32 -> Int32Array, bool -> Uint8Array (0/1).
 */
import type { DType } from "../src/ops.js";

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface TensorValue {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TypedArray;
}

/** Allocates a zeroed typed array for a dtype. */
export const allocate = (dtype: DType, size: number): TypedArray => {
  switch (dtype) {
    case "f32":
      return new Float32Array(size);
    case "f64":
      return new Float64Array(size);
    case "i32":
      return new Int32Array(size);
    case "bool":
      return new Uint8Array(size);
  }
};

/** Bytes per element of a dtype. */
export const bytesPerElement = (dtype: DType): number => (dtype === "f64" ? 8 : dtype === "bool" ? 1 : 4);

/** A tensor value from row-major numbers (copied and converted to the dtype's array). */
export const tensorValue = (dtype: DType, shape: readonly number[], values: ArrayLike<number>): TensorValue => {
  const data = allocate(dtype, values.length);
  for (let i = 0; i < values.length; i++) data[i] = dtype === "bool" ? (values[i] ? 1 : 0) : values[i]!;
  return { dtype, shape: [...shape], data };
};
