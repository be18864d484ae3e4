/**
 * Node builders of the windowed ops and the random op on untyped tensors, with resolved
 * params: the layer the typed DSL (`src/dsl/conv.ts`, `src/dsl/nn.ts`) and the gradient
 * rules (`compiler/rules/gradWindow.ts`) share. The backprop ops are internal: gradient
 * rules create them, users call `conv2d`, `maxPool2d` and `avgPool2d`.
 */
import { Op, type Conv2dParams, type FloatDType, type Pool2dParams, type RuntimeShape } from "../ops.js";
import type { AnyTensor } from "../tensor.js";
import { apply } from "./apply.js";

/** conv2d(x [B, C, H, W], w [O, C/groups, kh, kw]) -> [B, O, OH, OW]. @example conv2dOp(x, w, { strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], groups: 1 }) */
export const conv2dOp = (x: AnyTensor, w: AnyTensor, p: Conv2dParams): AnyTensor => apply(Op.Conv2d, [x, w], p);

/** The transposed convolution: the gradient of conv2d with respect to its input, of spatial size `inputSize`. @example conv2dBackpropInputOp(g, w, p, [28, 28]) */
export const conv2dBackpropInputOp = (dy: AnyTensor, w: AnyTensor, p: Conv2dParams, inputSize: readonly [number, number]): AnyTensor =>
  apply(Op.Conv2dBackpropInput, [dy, w], { ...p, inputSize: [...inputSize] });

/** The gradient of conv2d with respect to its weights (kernel `kernelSize`). @example conv2dBackpropFilterOp(x, g, p, [3, 3]) */
export const conv2dBackpropFilterOp = (x: AnyTensor, dy: AnyTensor, p: Conv2dParams, kernelSize: readonly [number, number]): AnyTensor =>
  apply(Op.Conv2dBackpropFilter, [x, dy], { ...p, kernelSize: [...kernelSize] });

/** maxPool2d(x [B, C, H, W]) -> [B, C, OH, OW]. @example maxPool2dOp(x, { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] }) */
export const maxPool2dOp = (x: AnyTensor, p: Pool2dParams): AnyTensor => apply(Op.MaxPool2d, [x], p);

/** Each window's output gradient shared among the window's maxima in x. @example maxPool2dBackpropOp(x, g, p) */
export const maxPool2dBackpropOp = (x: AnyTensor, dy: AnyTensor, p: Pool2dParams): AnyTensor => apply(Op.MaxPool2dBackprop, [x, dy], p);

/** The mean of z over each window's maxima in x (the adjoint of maxPool2dBackprop). @example maxPool2dSelectOp(x, z, p) */
export const maxPool2dSelectOp = (x: AnyTensor, z: AnyTensor, p: Pool2dParams): AnyTensor => apply(Op.MaxPool2dSelect, [x, z], p);

/** avgPool2d(x [B, C, H, W]) -> [B, C, OH, OW] (padding is not counted). @example avgPool2dOp(x, p) */
export const avgPool2dOp = (x: AnyTensor, p: Pool2dParams): AnyTensor => apply(Op.AvgPool2d, [x], p);

/** The gradient of avgPool2d: each window's gradient spread over its elements. @example avgPool2dBackpropOp(g, p, [28, 28]) */
export const avgPool2dBackpropOp = (dy: AnyTensor, p: Pool2dParams, inputSize: readonly [number, number]): AnyTensor =>
  apply(Op.AvgPool2dBackprop, [dy], { ...p, inputSize: [...inputSize] });

/**
 * Uniform values in [0, 1) from an i32 key: the same (key, stream) always gives the same
 * values (see `runtime/kernels/random.ts`). @example randomUniformOp(key, ["batch", 64], "f32", 3)
 */
export const randomUniformOp = (key: AnyTensor, shape: RuntimeShape, dtype: FloatDType, stream: number): AnyTensor =>
  apply(Op.RandomUniform, [key], { shape: [...shape], dtype, stream });
