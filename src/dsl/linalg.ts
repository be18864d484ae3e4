/**
 * Matrix products, softmax family, one-hot encoding, casts and stopGradient.
 */
import { Op, type DType } from "../ops.js";
import { normalizeAxis } from "../graph/shapes.js";
import type { DynamicShape, Shape } from "../types/dims.js";
import type { AnyTensor, Tensor } from "../tensor.js";
import { apply } from "./apply.js";

export interface MatmulOptions {
  readonly transposeA?: boolean;
  readonly transposeB?: boolean;
}

/** Batched matrix product over the last two axes; leading axes broadcast. */
export const matmul = (a: AnyTensor, b: AnyTensor, options?: MatmulOptions): Tensor<DynamicShape, DType> =>
  apply(Op.MatMul, [a, b], { transposeA: options?.transposeA ?? false, transposeB: options?.transposeB ?? false });

/** exp(x) / sum(exp(x)) along `axis`, computed stably. */
export const softmax = (x: AnyTensor, axis = -1): Tensor<DynamicShape, DType> =>
  apply(Op.Softmax, [x], { axis: normalizeAxis(axis, x.node.shape.length) ?? axis });

/** x - logsumexp(x) along `axis`, computed stably. */
export const logSoftmax = (x: AnyTensor, axis = -1): Tensor<DynamicShape, DType> =>
  apply(Op.LogSoftmax, [x], { axis: normalizeAxis(axis, x.node.shape.length) ?? axis });

/** One-hot rows of length `depth` for i32 labels (a label outside [0, depth) gives a zero row). */
export const oneHot = <D extends DType = "f32">(labels: Tensor<Shape, "i32">, depth: number, dtype?: D): Tensor<DynamicShape, D> =>
  apply(Op.OneHot, [labels], { depth, dtype: dtype ?? "f32" });

/** Converts to another dtype (float to i32 truncates toward zero; to bool is x != 0). */
export const cast = <D extends DType>(x: AnyTensor, dtype: D): Tensor<DynamicShape, D> => apply(Op.Cast, [x], { dtype });

/** The identity in the forward pass; blocks gradients. */
export const stopGradient = <S extends Shape, D extends DType>(x: Tensor<S, D>): Tensor<S, D> => apply(Op.StopGradient, [x], {});
