/**
 * Convolution and pooling over NCHW activations `[batch, channels, height, width]` with
 * OIHW weights `[out channels, in channels / groups, kernel height, kernel width]`.
 *
 * Static types: literal dims give the exact output sizes (digit arithmetic), and channel
 * mismatches, groups that do not divide the channels, and kernels larger than the padded
 * input are type errors at the offending argument (see `src/types/conv.ts`). Padding is
 * 'valid' (none), 'same' (output `ceil(size / stride)`, the extra padding element after,
 * as TensorFlow and ONNX SAME_UPPER) or explicit `[[top, bottom], [left, right]]`.
 */
import type { Conv2dParams, DType, Pool2dParams } from "../ops.js";
import type { Shape } from "../types/dims.js";
import type { AnyTensor, Tensor } from "../tensor.js";
import { formatShape } from "../graph/shapes.js";
import { captureLocation } from "../graph/location.js";
import { samePadding } from "../graph/window.js";
import { ShapeError } from "../errors.js";
import type { KnownDType } from "../types/dtypes.js";
import type {
  Conv2dInputError, Conv2dOptions, Conv2dShape, Conv2dWeightsError, GlobalPoolError, GlobalPoolShape, Padding, Pair, Pool2dError, Pool2dOptions,
  Pool2dShape,
} from "../types/conv.js";
import { withStaticType, type Check, type OpResult } from "../types/result.js";
import { mean } from "./reduce.js";
import { avgPool2dOp, conv2dOp, maxPool2dOp } from "./windowOps.js";

export type { Conv2dOptions, Pool2dOptions, Padding, Pair } from "../types/conv.js";

const pairOf = (v: Pair | undefined, fallback: readonly [number, number]): [number, number] =>
  v === undefined ? [fallback[0], fallback[1]] : typeof v === "number" ? [v, v] : [v[0], v[1]];

/** [top, bottom, left, right] for a padding option, given the input and window sizes. */
const padsOf = (op: string, padding: Padding | undefined, x: AnyTensor, kernel: [number, number], strides: [number, number], dilations: [number, number]): number[] => {
  if (padding === undefined || padding === "valid") return [0, 0, 0, 0];
  if (padding !== "same") return [padding[0][0], padding[0][1], padding[1][0], padding[1][1]];
  const [h, w] = [x.node.shape[2], x.node.shape[3]];
  if (typeof h !== "number" || typeof w !== "number")
    throw new ShapeError(op, `padding 'same' needs an NCHW input with concrete height and width, got ${formatShape(x.node.shape)}`, captureLocation());
  return [...samePadding(h, kernel[0], strides[0], dilations[0]), ...samePadding(w, kernel[1], strides[1], dilations[1])];
};

/** The op params of conv2d options for input x and weights w. */
const convParams = (x: AnyTensor, w: AnyTensor, o: Conv2dOptions = {}): Conv2dParams => {
  const strides = pairOf(o.stride, [1, 1]);
  const dilations = pairOf(o.dilation, [1, 1]);
  const kernel: [number, number] = [Number(w.node.shape[2]), Number(w.node.shape[3])];
  return { strides, dilations, pads: padsOf("conv2d", o.padding, x, kernel, strides, dilations), groups: o.groups ?? 1 };
};

/** The op params of pooling options (stride defaults to the kernel). */
const poolParams = (op: string, x: AnyTensor, o: Pool2dOptions): Pool2dParams => {
  const kernel = pairOf(o.kernel, [1, 1]);
  const strides = pairOf(o.stride, kernel);
  return { kernel, strides, pads: padsOf(op, o.padding, x, kernel, strides, [1, 1]) };
};

/**
 * 2-D convolution (cross-correlation, as in every deep learning library) of an NCHW
 * input with OIHW weights: `y[b, o, i, j] = Σ_c,u,v x[b, c, i·s + u·d - pad, j·s + v·d - pad] · w[o, c, u, v]`.
 * @example
 * const x = input("x", [B, 1, 28, 28]);
 * const w = param("w", [32, 1, 3, 3]);
 * const y = conv2d(x, w, { stride: 2 });           // Tensor<[B, 32, 13, 13], "f32">
 * const z = conv2d(x, w, { padding: "same" });     // Tensor<[B, 32, 28, 28], "f32">
 * conv2d(x, param("w3", [8, 3, 3, 3]));            // ⛔ conv2d: channels differ: input [B, 1, 28, 28] has 1 channels, the weights [8, 3, 3, 3] take 3
 */
export const conv2d = <SX extends Shape, DX extends DType, SW extends Shape, DW extends DType, const O extends Conv2dOptions = {}>(
  x: Check<Conv2dInputError<SX, DX>, Tensor<SX, DX>>,
  w: Check<Conv2dWeightsError<SX, DX, SW, DW, O>, Tensor<SW, DW>>,
  options?: O,
): OpResult<Conv2dInputError<SX, DX> | Conv2dWeightsError<SX, DX, SW, DW, O>, Conv2dShape<SX, SW, O>, KnownDType<DX, DW>> =>
  withStaticType(conv2dOp(x as AnyTensor, w as AnyTensor, convParams(x as AnyTensor, w as AnyTensor, options)));

/**
 * Max pooling: the largest element of each window (padding is never chosen). Gradient:
 * each window's gradient goes to its maximum; tied maxima share it equally (as `max` does).
 * @example const p = maxPool2d(h, { kernel: 2 }); // [B, 16, 28, 28] -> [B, 16, 14, 14]
 */
export const maxPool2d = <SX extends Shape, DX extends DType, const O extends Pool2dOptions>(
  x: Check<Pool2dError<"maxPool2d", SX, DX, O>, Tensor<SX, DX>>,
  options: O,
): OpResult<Pool2dError<"maxPool2d", SX, DX, O>, Pool2dShape<SX, O>, DX> => withStaticType(maxPool2dOp(x as AnyTensor, poolParams("maxPool2d", x as AnyTensor, options)));

/**
 * Average pooling: the mean of each window's elements inside the input (padding is not
 * counted, so border windows average fewer elements).
 * @example const p = avgPool2d(h, { kernel: 3, stride: 2, padding: "same" }); // [B, 16, 28, 28] -> [B, 16, 14, 14]
 */
export const avgPool2d = <SX extends Shape, DX extends DType, const O extends Pool2dOptions>(
  x: Check<Pool2dError<"avgPool2d", SX, DX, O>, Tensor<SX, DX>>,
  options: O,
): OpResult<Pool2dError<"avgPool2d", SX, DX, O>, Pool2dShape<SX, O>, DX> => withStaticType(avgPool2dOp(x as AnyTensor, poolParams("avgPool2d", x as AnyTensor, options)));

/**
 * Global average pooling: the mean over height and width, `[B, C, H, W] -> [B, C]`.
 * @example const features = globalAvgPool(h); // [B, 64, 7, 7] -> [B, 64]
 */
export const globalAvgPool = <SX extends Shape, DX extends DType>(
  x: Check<GlobalPoolError<SX, DX>, Tensor<SX, DX>>,
): OpResult<GlobalPoolError<SX, DX>, GlobalPoolShape<SX>, DX> => {
  const t = x as AnyTensor;
  if (t.node.shape.length !== 4) throw new ShapeError("globalAvgPool", `input must be NCHW [batch, channels, height, width], got ${formatShape(t.node.shape)}`, captureLocation());
  return withStaticType((mean as unknown as (x: AnyTensor, axes: readonly number[]) => AnyTensor)(t, [2, 3]));
};

