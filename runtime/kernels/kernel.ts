/**
 * The kernel contract shared by every entry of the kernel table.
 *
 * A kernel takes its input values, the op's params and a preallocated output whose
 * dtype and concrete shape are already those the shape rule gives; it writes every
 * element of `out.data` (it never assumes the output is zeroed, so an executor may hand
 * it a reused arena slice) and does not modify its inputs. Inputs and output do not
 * overlap unless the op is elementwise and the shapes are equal.
 */
import type { Op, OpParams } from "../../src/ops.js";
import type { TensorValue } from "../value.js";

/** Computes op `K` from `inputs` into the preallocated `out`. */
export type Kernel<K extends Op> = (inputs: readonly TensorValue[], params: OpParams[K], out: TensorValue) => void;

/** The i-th input; kernels are only called with the arity the shape rule checked. */
export const arg = (inputs: readonly TensorValue[], i: number): TensorValue => {
  const v = inputs[i];
  if (v === undefined) throw new RangeError(`kernel called with ${inputs.length} inputs, needs input ${i}`);
  return v;
};
