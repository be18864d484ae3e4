/**
 * Convolutional layers over NCHW activations with typed param records: `conv2d`
 * (weights OIHW plus a bias), `batchNorm` (scale and offset, plus running statistics as
 * state) and `residualBlock` (two 3x3 conv + batch-norm stages and a shortcut, He et al.
 * 2016). Each has an `init` that declares its params; applying a layer builds nodes.
 * Layers with state return `{ y, updates }` (see `state.ts`).
 */
import type { FloatDType, InitSpec } from "../ops.js";
import type { Dim, Shape } from "../types/dims.js";
import type { AnyTensor, Tensor } from "../tensor.js";
import type { Conv2dShape, Pair, Padding } from "../types/conv.js";
import type { ReadonlyShape } from "../types/shapeTuples.js";
import { param } from "../dsl/constructors.js";
import { add, relu } from "../dsl/elementwise.js";
import { reshape } from "../dsl/structure.js";
import { conv2d as conv2dOp } from "../dsl/conv.js";
import { batchNorm as batchNormOp } from "../dsl/nn.js";
import type { Mode, StateUpdate, WithUpdates } from "./state.js";

export interface Conv2dLayerParams<O extends number, CI extends number, K extends number, D extends FloatDType = "f32"> {
  /** OIHW weights [out, in / groups, k, k]. */
  readonly w: Tensor<readonly [O, CI, K, K], D>;
  readonly b?: Tensor<readonly [O], D>;
}

export interface Conv2dLayerInit<D extends FloatDType> {
  readonly dtype?: D;
  readonly groups?: number;
  /** Add a per-channel bias (default true; off before a batch norm, which has its own offset). */
  readonly bias?: boolean;
  /** Weight initializer (default He normal, for ReLU networks). */
  readonly init?: InitSpec;
}

export interface Conv2dLayerOptions {
  readonly stride?: Pair;
  readonly padding?: Padding;
  readonly dilation?: Pair;
  readonly groups?: number;
}

/**
 * A convolution layer: `conv2d(x, w, options) + b`.
 * @example
 * const p = layers.conv2d.init("stem", 1, 16, 3);
 * const h = layers.conv2d(p, { padding: "same" })(x); // [B, 1, 28, 28] -> [B, 16, 28, 28]
 */
export const conv2d = Object.assign(
  <O extends number, CI extends number, K extends number, D extends FloatDType, const Opts extends Conv2dLayerOptions = {}>(p: Conv2dLayerParams<O, CI, K, D>, options?: Opts) =>
    <SX extends Shape>(x: Tensor<SX, D>): Tensor<ReadonlyShape<Conv2dShape<SX, readonly [O, CI, K, K], Opts>>, D> => {
      const y = (conv2dOp as unknown as (x: AnyTensor, w: AnyTensor, o?: Conv2dLayerOptions) => AnyTensor)(x as AnyTensor, p.w as AnyTensor, options);
      return (p.b === undefined ? y : add(y, reshape(p.b as AnyTensor, [p.w.node.shape[0]!, 1, 1] as unknown as Shape))) as unknown as Tensor<ReadonlyShape<Conv2dShape<SX, readonly [O, CI, K, K], Opts>>, D>;
    },
  {
    init: <const CIn extends number, const O extends number, const K extends number, D extends FloatDType = "f32">(
      name: string,
      inChannels: CIn,
      outChannels: O,
      kernel: K,
      options: Conv2dLayerInit<D> = {},
    ): Conv2dLayerParams<O, number, K, D> => {
      const dtype = (options.dtype ?? "f32") as D;
      const groups = options.groups ?? 1;
      const w = param(`${name}.w`, [outChannels, inChannels / groups, kernel, kernel] as const, dtype, options.init ?? { kind: "heNormal" });
      return options.bias === false ? { w } : { w, b: param(`${name}.b`, [outChannels] as const, dtype, { kind: "zeros" }) };
    },
  },
);

export interface BatchNormLayerParams<C extends Dim, D extends FloatDType = "f32"> {
  readonly scale: Tensor<readonly [C], D>;
  readonly offset: Tensor<readonly [C], D>;
  /** State, not trained: pass `updates` to the trainer's `state`. */
  readonly runningMean: Tensor<readonly [C], D>;
  readonly runningVar: Tensor<readonly [C], D>;
}

/**
 * Batch normalization (channel axis 1): batch statistics and running-statistics updates
 * in training mode, running statistics in evaluation mode.
 * @example
 * const bn = layers.batchNorm.init("bn1", 16);
 * const { y, updates } = layers.batchNorm(bn, { training: true })(h);
 */
export const batchNorm = Object.assign(
  <C extends Dim, D extends FloatDType>(p: BatchNormLayerParams<C, D>, mode: Mode, options: { readonly momentum?: number; readonly epsilon?: number } = {}) =>
    <SX extends Shape>(x: Tensor<SX, D>): WithUpdates<Tensor<SX, D>> => {
      const r = batchNormOp(x, p, { training: mode.training, ...options });
      const updates: StateUpdate[] = mode.training ? [{ state: p.runningMean, next: r.runningMean }, { state: p.runningVar, next: r.runningVar }] : [];
      return { y: r.y, updates };
    },
  {
    init: <const C extends number, D extends FloatDType = "f32">(name: string, channels: C, dtype?: D): BatchNormLayerParams<C, D> => {
      const dt = (dtype ?? "f32") as D;
      return {
        scale: param(`${name}.scale`, [channels] as const, dt, { kind: "ones" }),
        offset: param(`${name}.offset`, [channels] as const, dt, { kind: "zeros" }),
        runningMean: param(`${name}.runningMean`, [channels] as const, dt, { kind: "zeros" }),
        runningVar: param(`${name}.runningVar`, [channels] as const, dt, { kind: "ones" }),
      };
    },
  },
);

export interface ResidualBlockParams<CIn extends number, O extends number, D extends FloatDType = "f32", S extends number = number> {
  readonly conv1: Conv2dLayerParams<O, CIn, 3, D>;
  readonly bn1: BatchNormLayerParams<O, D>;
  readonly conv2: Conv2dLayerParams<O, O, 3, D>;
  readonly bn2: BatchNormLayerParams<O, D>;
  /** A 1x1 convolution and batch norm on the shortcut when the block changes channels or size. */
  readonly projection?: { readonly conv: Conv2dLayerParams<O, CIn, 1, D>; readonly bn: BatchNormLayerParams<O, D> };
  readonly stride: S;
}

/**
 * A residual block: `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))` with 3x3
 * convolutions ('same' padding, the first with the block's stride) and an identity
 * shortcut, or a strided 1x1 convolution + batch norm when channels or size change.
 * @example
 * const p = layers.residualBlock.init("block2", 16, 32, { stride: 2 });
 * const { y, updates } = layers.residualBlock(p, { training: true })(h); // [B, 16, 14, 14] -> [B, 32, 7, 7]
 */
export const residualBlock = Object.assign(
  <CIn extends number, O extends number, D extends FloatDType, S extends number>(p: ResidualBlockParams<CIn, O, D, S>, mode: Mode) =>
    <SX extends Shape>(x: Tensor<SX, D>): WithUpdates<Tensor<ReadonlyShape<Conv2dShape<SX, readonly [O, CIn, 3, 3], { stride: S; padding: "same" }>>, D>> => {
      const t = x as AnyTensor;
      const conv = (q: Conv2dLayerParams<number, number, number, D>, h: AnyTensor, stride: number): AnyTensor =>
        conv2d(q, { stride, padding: "same" })(h as Tensor<Shape, D>) as AnyTensor;
      const norm = (q: BatchNormLayerParams<O, D>, h: AnyTensor): WithUpdates<AnyTensor> => batchNorm(q, mode)(h as Tensor<Shape, D>);
      const a = norm(p.bn1, conv(p.conv1, t, p.stride));
      const b = norm(p.bn2, conv(p.conv2, relu(a.y), 1));
      const shortcut = p.projection === undefined ? { y: t, updates: [] } : norm(p.projection.bn, conv(p.projection.conv, t, p.stride));
      return {
        y: relu(add(b.y, shortcut.y)) as unknown as Tensor<ReadonlyShape<Conv2dShape<SX, readonly [O, CIn, 3, 3], { stride: S; padding: "same" }>>, D>,
        updates: [...a.updates, ...b.updates, ...shortcut.updates],
      };
    },
  {
    init: <const CIn extends number, const O extends number, D extends FloatDType = "f32", const S extends number = 1>(
      name: string,
      inChannels: CIn,
      outChannels: O,
      options: { readonly stride?: S; readonly dtype?: D } = {},
    ): ResidualBlockParams<CIn, O, D, S> => {
      const stride = (options.stride ?? 1) as S;
      const dtype = options.dtype;
      const c = <CI extends number, K extends number>(n: string, ci: CI, k: K): Conv2dLayerParams<O, CI, K, D> =>
        conv2d.init(`${name}.${n}`, ci, outChannels, k, { bias: false, ...(dtype === undefined ? {} : { dtype }) }) as unknown as Conv2dLayerParams<O, CI, K, D>;
      const bn = (n: string): BatchNormLayerParams<O, D> => batchNorm.init(`${name}.${n}`, outChannels, dtype) as BatchNormLayerParams<O, D>;
      const project = stride !== 1 || (inChannels as number) !== (outChannels as number);
      return {
        conv1: c("conv1", inChannels, 3),
        bn1: bn("bn1"),
        conv2: c("conv2", outChannels, 3),
        bn2: bn("bn2"),
        ...(project ? { projection: { conv: c("shortcut", inChannels, 1), bn: bn("shortcutBn") } } : {}),
        stride,
      };
    },
  },
);
