/**
 * Matrix products, softmax family, one-hot encoding, casts and stopGradient.
 *
 * Static types: matmul checks inner dims, ranks, dtypes and batch broadcasting and gives
 * the exact result shape; softmax checks its axis; oneHot appends the depth (see
 * `src/types/linalg.ts`).
 */
import { Op, type DType } from "../ops.js";
import { normalizeAxis } from "../graph/shapes.js";
import type { Shape } from "../types/dims.js";
import type { AnyTensor, Tensor } from "../tensor.js";
import type { DTypeClassError, IndexDTypeError, KnownDType } from "../types/dtypes.js";
import type { SingleAxisError } from "../types/reduce.js";
import type { MatmulLhsError, MatmulOptions, MatmulRhsError, MatmulShape, OneHotDepthError } from "../types/linalg.js";
import type { IsStatic } from "../types/shapeTuples.js";
import { withStaticType, type Check, type OpResult } from "../types/result.js";
import { apply } from "./apply.js";

export type { MatmulOptions } from "../types/linalg.js";

/**
 * Batched matrix product over the last two axes; leading axes broadcast.
 * @example
 * const x = input("x", [sym("batch"), 784]);
 * const W = param("W", [784, 10]);
 * const logits = matmul(x, W); // Tensor<[batch, 10], "f32">
 * matmul(W, x); // type error: ⛔ matmul: inner dims differ: 10 (lhs [784, 10]) vs batch (rhs [batch, 784])
 */
export const matmul = <SA extends Shape, DA extends DType, SB extends Shape, DB extends DType, const O extends MatmulOptions = {}>(
  a: Check<MatmulLhsError<SA, DA>, Tensor<SA, DA>>,
  b: Check<MatmulRhsError<SA, DA, SB, DB, O>, Tensor<SB, DB>>,
  options?: O,
): OpResult<MatmulLhsError<SA, DA> | MatmulRhsError<SA, DA, SB, DB, O>, MatmulShape<SA, SB, O>, KnownDType<DA, DB>> =>
  withStaticType(
    apply(Op.MatMul, [a as AnyTensor, b as AnyTensor], {
      transposeA: options?.transposeA ?? false,
      transposeB: options?.transposeB ?? false,
    }),
  );

/** softmax / logSoftmax: same shape, checked axis, floats only. */
export type SoftmaxFn<K extends typeof Op.Softmax | typeof Op.LogSoftmax> = <S extends Shape, D extends DType, const Ax extends number = -1>(
  x: Check<DTypeClassError<K, D, S>, Tensor<S, D>>,
  axis?: Check<SingleAxisError<K, S, Ax>, Ax>,
) => OpResult<DTypeClassError<K, D, S> | SingleAxisError<K, S, Ax>, S, D>;

const softmaxLike = <K extends typeof Op.Softmax | typeof Op.LogSoftmax>(op: K): SoftmaxFn<K> =>
  ((x: AnyTensor, axis = -1) => apply(op, [x], { axis: normalizeAxis(axis, x.node.shape.length) ?? axis } as never)) as unknown as SoftmaxFn<K>;

/** exp(x) / sum(exp(x)) along `axis` (default -1), computed stably. @example const p = softmax(logits); */
export const softmax = softmaxLike(Op.Softmax);

/** x - logsumexp(x) along `axis` (default -1), computed stably. @example const lp = logSoftmax(logits, 1); */
export const logSoftmax = softmaxLike(Op.LogSoftmax);

/**
 * One-hot rows of length `depth` for i32 labels (a label outside [0, depth) gives a zero row).
 * @example const targets = oneHot(labels, 10); // i32 [batch] -> f32 [batch, 10]
 */
export const oneHot = <S extends Shape, DL extends DType, const N extends number, D extends DType = "f32">(
  labels: Check<IndexDTypeError<"oneHot", DL, S, "labels">, Tensor<S, DL>>,
  depth: Check<OneHotDepthError<N>, N>,
  dtype?: D,
): OpResult<IndexDTypeError<"oneHot", DL, S, "labels"> | OneHotDepthError<N>, IsStatic<S> extends true ? [...S, N] : Shape, NoInfer<D>> =>
  withStaticType(apply(Op.OneHot, [labels as AnyTensor], { depth: depth as number, dtype: dtype ?? "f32" }));

/**
 * Converts to another dtype (float to i32 truncates toward zero; to bool is x != 0).
 * @example const counts = cast(mask, "i32");
 */
export const cast = <S extends Shape, D extends DType, const D2 extends DType>(x: Tensor<S, D>, dtype: D2): Tensor<S, D2> =>
  apply(Op.Cast, [x], { dtype });

/** The identity in the forward pass; blocks gradients. @example const target = stopGradient(teacher(x)); */
export const stopGradient = <S extends Shape, D extends DType>(x: Tensor<S, D>): Tensor<S, D> => apply(Op.StopGradient, [x], {});
