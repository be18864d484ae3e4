/**
 * Layers as pure functions over typed param records: `dense(params)(x)` builds graph
 * nodes and mutates nothing. `dense.init(name, in, out)` declares the params (with their
 * initializers) as a typed record; `initParams` fills them from a seeded RNG.
 */
import type { FloatDType, InitSpec } from "../ops.js";
import type { Dim, DynamicShape, Shape } from "../types/dims.js";
import type { AnyTensor, Tensor } from "../tensor.js";
import { param } from "../dsl/constructors.js";
import { add } from "../dsl/elementwise.js";
import { matmul } from "../dsl/linalg.js";

/** An elementwise activation such as `tanh` or `relu`. */
export type Activation = (x: AnyTensor) => AnyTensor;

export interface DenseParams<I extends Dim, O extends Dim, D extends FloatDType = "f32"> {
  readonly W: Tensor<readonly [I, O], D>;
  readonly b: Tensor<readonly [O], D>;
}

export interface DenseOptions<D extends FloatDType> {
  readonly dtype?: D;
  /** Weight initializer (default Glorot uniform); the bias starts at zero unless `biasInit` says otherwise. */
  readonly init?: InitSpec;
  readonly biasInit?: InitSpec;
}

const denseApply =
  <I extends Dim, O extends Dim, D extends FloatDType>(p: DenseParams<I, O, D>, activation?: Activation) =>
  <B extends Dim>(x: Tensor<readonly [B, I], D>): Tensor<readonly [B, O], D> => {
    const y = add(matmul(x as AnyTensor, p.W as AnyTensor), p.b as AnyTensor);
    return (activation === undefined ? y : activation(y)) as unknown as Tensor<readonly [B, O], D>;
  };

const denseInit = <const I extends number, const O extends number, D extends FloatDType = "f32">(
  name: string,
  inDim: I,
  outDim: O,
  options: DenseOptions<D> = {},
): DenseParams<I, O, D> => {
  const dtype = (options.dtype ?? "f32") as D;
  return {
    W: param(`${name}.W`, [inDim, outDim] as const, dtype, options.init ?? { kind: "glorotUniform" }),
    b: param(`${name}.b`, [outDim] as const, dtype, options.biasInit ?? { kind: "zeros" }),
  };
};

/**
 * A fully connected layer: `activation(x·W + b)`.
 * @example
 * const p = dense.init("fc1", 784, 256);
 * const h = dense(p, tanh)(x); // Tensor<[batch, 256], 'f32'>
 */
export const dense = Object.assign(denseApply, { init: denseInit });

/** Params of an MLP: one dense layer per pair of consecutive sizes. */
export type MlpParams<D extends FloatDType = "f32"> = readonly DenseParams<number, number, D>[];

/**
 * A multi-layer perceptron: dense layers with `activation` between them and a linear
 * output layer.
 * @example
 * const p = mlp.init("mlp", [784, 256, 256, 10]);
 * const logits = mlp(p, tanh)(x);
 */
export const mlp = Object.assign(
  <D extends FloatDType>(params: MlpParams<D>, activation: Activation) =>
    (x: Tensor<Shape, D>): Tensor<DynamicShape, D> =>
      params.reduce<AnyTensor>(
        (h, p, i) => denseApply(p, i < params.length - 1 ? activation : undefined)(h as Tensor<readonly [Dim, number], D>) as AnyTensor,
        x as AnyTensor,
      ) as Tensor<DynamicShape, D>,
  {
    init: <D extends FloatDType = "f32">(name: string, sizes: readonly number[], options: DenseOptions<D> = {}): MlpParams<D> =>
      sizes.slice(1).map((out, i) => denseInit(`${name}.${i}`, sizes[i]!, out, options)),
  },
);
