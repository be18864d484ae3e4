/**
 * Losses as pure functions from predictions and targets to a scalar tensor (the mean
 * over examples). Classification losses take logits, never probabilities, and use the
 * stable forms (logSoftmax, softplus), so gradients stay finite at logits of ±1000.
 */
import type { DType, FloatDType } from "../ops.js";
import type { Shape } from "../types/dims.js";
import type { AnyTensor, Tensor } from "../tensor.js";
import { abs, add, mul, neg, softplus, square, sub } from "../dsl/elementwise.js";
import { mean, sum } from "../dsl/reduce.js";
import { logSoftmax, oneHot } from "../dsl/linalg.js";

type Scalar<D extends DType> = Tensor<[], D>;
const scalarOf = <D extends DType>(t: AnyTensor): Scalar<D> => t as unknown as Scalar<D>;

/**
 * Mean squared error over all elements.
 * @example const loss = mse(predict(x), y);
 */
export const mse = <S extends Shape, D extends FloatDType>(pred: Tensor<S, D>, target: Tensor<S, D>): Scalar<D> =>
  scalarOf(mean(square(sub(pred as AnyTensor, target as AnyTensor))));

/** Mean absolute error over all elements. */
export const mae = <S extends Shape, D extends FloatDType>(pred: Tensor<S, D>, target: Tensor<S, D>): Scalar<D> =>
  scalarOf(mean(abs(sub(pred as AnyTensor, target as AnyTensor))));

/**
 * Binary cross-entropy on logits z with targets y in [0, 1]: mean of softplus(z) - z·y,
 * which equals -y·log σ(z) - (1-y)·log(1-σ(z)) without overflow.
 */
export const binaryCrossEntropyWithLogits = <S extends Shape, D extends FloatDType>(logits: Tensor<S, D>, targets: Tensor<S, D>): Scalar<D> =>
  scalarOf(mean(sub(softplus(logits as AnyTensor), mul(logits as AnyTensor, targets as AnyTensor))));

/** Softmax cross-entropy on logits with one-hot (or soft) targets of the same shape, averaged over the batch. */
export const softmaxCrossEntropyOneHot = <S extends Shape, D extends FloatDType>(logits: Tensor<S, D>, targets: Tensor<S, D>): Scalar<D> =>
  scalarOf(neg(mean(sum(mul(targets as AnyTensor, logSoftmax(logits as AnyTensor, -1)), -1))));

/**
 * Softmax cross-entropy on logits `[batch, classes]` with integer labels `[batch]`,
 * averaged over the batch.
 * @example const loss = softmaxCrossEntropy(logits, labels); // labels: Tensor<[B], 'i32'>
 */
export const softmaxCrossEntropy = <S extends Shape, D extends FloatDType>(logits: Tensor<S, D>, labels: Tensor<Shape, "i32">): Scalar<D> => {
  const classes = logits.node.shape[logits.node.shape.length - 1];
  if (typeof classes !== "number") throw new Error(`softmaxCrossEntropy: the class dim must be concrete, got ${String(classes)}`);
  const targets = oneHot(labels, classes, logits.node.dtype as D);
  return softmaxCrossEntropyOneHot(logits as Tensor<Shape, D>, targets as unknown as Tensor<Shape, D>);
};

/**
 * L2 weight penalty: `coefficient/2 · Σ‖w‖²` over the given params.
 * @example const total = add(loss, l2Penalty(Object.values(params), 1e-4));
 */
export const l2Penalty = <D extends FloatDType>(params: readonly Tensor<Shape, D>[], coefficient: number): Scalar<D> => {
  if (params.length === 0) throw new Error("l2Penalty: no params given");
  const terms = params.map((p) => sum(square(p as AnyTensor)));
  const total = terms.slice(1).reduce<AnyTensor>((acc, t) => add(acc, t), terms[0]!);
  return scalarOf(mul(total, coefficient / 2));
};
