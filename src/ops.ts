/**
 * The op enum and the typed parameters of every op.
 *
 * Adding an op means adding one member here and one entry to `OpParams`; `tsc` then
 * lists every per-op table (shape rules, kernels, gradients, ...) that lacks an entry.
 */

export const Op = {
  // leaves
  Input: "input",
  Param: "param",
  Constant: "constant",
  // unary elementwise
  Neg: "neg",
  Abs: "abs",
  Sign: "sign",
  Exp: "exp",
  Log: "log",
  Sqrt: "sqrt",
  Square: "square",
  Tanh: "tanh",
  Sigmoid: "sigmoid",
  Relu: "relu",
  Gelu: "gelu",
  Softplus: "softplus",
  Sin: "sin",
  Cos: "cos",
  Erf: "erf",
  // binary elementwise (NumPy broadcasting)
  Add: "add",
  Sub: "sub",
  Mul: "mul",
  Div: "div",
  Pow: "pow",
  Maximum: "maximum",
  Minimum: "minimum",
  /** `a * b`, except 0 where `a == 0` (even if `b` is inf or NaN). Used by gradient rules. */
  MulNoNan: "mulNoNan",
  // comparisons (bool masks)
  Less: "less",
  LessEqual: "lessEqual",
  Greater: "greater",
  GreaterEqual: "greaterEqual",
  Equal: "equal",
  NotEqual: "notEqual",
  Where: "where",
  // reductions
  Sum: "sum",
  Mean: "mean",
  Max: "max",
  Min: "min",
  LogSumExp: "logsumexp",
  ArgMax: "argmax",
  // shape
  Reshape: "reshape",
  Transpose: "transpose",
  BroadcastTo: "broadcastTo",
  ExpandDims: "expandDims",
  Squeeze: "squeeze",
  Concat: "concat",
  Slice: "slice",
  Pad: "pad",
  Gather: "gather",
  ScatterAdd: "scatterAdd",
  // linear algebra and friends
  MatMul: "matmul",
  Softmax: "softmax",
  LogSoftmax: "logSoftmax",
  OneHot: "oneHot",
  Cast: "cast",
  StopGradient: "stopGradient",
  // windowed ops over NCHW activations (weights OIHW); the backprop ops make gradients of any order ops too
  Conv2d: "conv2d",
  Conv2dBackpropInput: "conv2dBackpropInput",
  Conv2dBackpropFilter: "conv2dBackpropFilter",
  MaxPool2d: "maxPool2d",
  MaxPool2dBackprop: "maxPool2dBackprop",
  MaxPool2dSelect: "maxPool2dSelect",
  AvgPool2d: "avgPool2d",
  AvgPool2dBackprop: "avgPool2dBackprop",
  // counter-based random values from an i32 key (dropout)
  RandomUniform: "randomUniform",
} as const;

export type Op = (typeof Op)[keyof typeof Op];

/** Element types. `bool` masks are stored as bytes, `i32` as 32-bit integers. */
export type DType = "f32" | "f64" | "i32" | "bool";
export const DTYPES: readonly DType[] = ["f32", "f64", "i32", "bool"];
export type FloatDType = "f32" | "f64";

/** A runtime dim: a concrete size, or the name of a symbolic dim bound at run time. */
export type RuntimeDim = number | string;
export type RuntimeShape = readonly RuntimeDim[];

type None = Readonly<Record<never, never>>;
export interface ReduceParams {
  /** Normalized, sorted, non-negative axes. */
  readonly axes: readonly number[];
  readonly keepdims: boolean;
}

/**
 * How a param is initialized. Fans come from the shape: rank 2 `[in, out]` gives
 * fanIn = in, fanOut = out; rank >= 3 (conv weights `[out, in, ...kernel]`) gives
 * fanIn = in * kernel size, fanOut = out * kernel size; rank 0/1 gives fanIn = fanOut = size.
 */
export type InitSpec =
  | { readonly kind: "zeros" }
  | { readonly kind: "ones" }
  | { readonly kind: "constant"; readonly value: number }
  | { readonly kind: "normal"; readonly mean: number; readonly std: number }
  | { readonly kind: "uniform"; readonly low: number; readonly high: number }
  | { readonly kind: "glorotUniform" }
  | { readonly kind: "glorotNormal" }
  | { readonly kind: "heNormal" }
  | { readonly kind: "heUniform" };

/**
 * Geometry of a 2-D convolution over NCHW tensors (weights OIHW). Pairs are
 * `[height, width]`; `pads` is zero padding `[top, bottom, left, right]`.
 */
export interface Conv2dParams {
  /** Step between windows, each >= 1. */
  readonly strides: readonly number[];
  /** Spacing between kernel taps, each >= 1 (1 is a dense kernel). */
  readonly dilations: readonly number[];
  /** Zero padding `[top, bottom, left, right]`, each >= 0. */
  readonly pads: readonly number[];
  /** Channel groups: input and output channels split into this many independent convolutions. */
  readonly groups: number;
}

/** Geometry of a 2-D pooling window over NCHW tensors: `kernel` and `strides` are `[height, width]`, `pads` `[top, bottom, left, right]`. */
export interface Pool2dParams {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  /** Padding (never pooled: max ignores it, the average divides by the real elements only), each smaller than the kernel. */
  readonly pads: readonly number[];
}

export interface OpParams {
  input: { readonly name: string; readonly shape: RuntimeShape; readonly dtype: DType };
  /** `init` says how `initParams` fills the param from a seeded RNG (data, so it serializes). */
  param: { readonly name: string; readonly shape: RuntimeShape; readonly dtype: DType; readonly init?: InitSpec };
  /** Values in row-major order; a single value fills the whole shape. */
  constant: { readonly values: readonly number[]; readonly shape: RuntimeShape; readonly dtype: DType };
  neg: None;
  abs: None;
  sign: None;
  exp: None;
  log: None;
  sqrt: None;
  square: None;
  tanh: None;
  sigmoid: None;
  relu: None;
  gelu: None;
  softplus: None;
  sin: None;
  cos: None;
  erf: None;
  add: None;
  sub: None;
  mul: None;
  div: None;
  pow: None;
  maximum: None;
  minimum: None;
  mulNoNan: None;
  less: None;
  lessEqual: None;
  greater: None;
  greaterEqual: None;
  equal: None;
  notEqual: None;
  where: None;
  sum: ReduceParams;
  mean: ReduceParams;
  max: ReduceParams;
  min: ReduceParams;
  logsumexp: ReduceParams;
  argmax: { readonly axis: number; readonly keepdims: boolean };
  reshape: { readonly shape: RuntimeShape };
  transpose: { readonly perm: readonly number[] };
  broadcastTo: { readonly shape: RuntimeShape };
  expandDims: { readonly axis: number };
  squeeze: { readonly axes: readonly number[] };
  concat: { readonly axis: number };
  /** On each listed axis: start (inclusive), end (exclusive), step > 0; other axes are whole. */
  slice: {
    readonly axes: readonly number[];
    readonly starts: readonly number[];
    readonly ends: readonly number[];
    readonly steps: readonly number[];
  };
  /** Zero padding: `before[i]` and `after[i]` elements on axis i. */
  pad: { readonly before: readonly number[]; readonly after: readonly number[] };
  /** `take` along one axis with integer indices of any shape. */
  gather: { readonly axis: number };
  /** Inverse of gather: zeros of `shape`, then `updates` added at `indices` along `axis`. */
  scatterAdd: { readonly axis: number; readonly shape: RuntimeShape };
  matmul: { readonly transposeA: boolean; readonly transposeB: boolean };
  softmax: { readonly axis: number };
  logSoftmax: { readonly axis: number };
  oneHot: { readonly depth: number; readonly dtype: DType };
  cast: { readonly dtype: DType };
  stopGradient: None;
  /** x [B, C, H, W], w [O, C/groups, kh, kw] -> [B, O, OH, OW]. */
  conv2d: Conv2dParams;
  /** The transposed convolution (conv2d's input gradient): dy [B, O, OH, OW], w -> [B, C, H, W] with [H, W] = `inputSize`. */
  conv2dBackpropInput: Conv2dParams & { readonly inputSize: readonly number[] };
  /** conv2d's weight gradient: x [B, C, H, W], dy [B, O, OH, OW] -> [O, C/groups, kh, kw] with [kh, kw] = `kernelSize`. */
  conv2dBackpropFilter: Conv2dParams & { readonly kernelSize: readonly number[] };
  /** x [B, C, H, W] -> [B, C, OH, OW]: the largest element of each window. */
  maxPool2d: Pool2dParams;
  /** x, dy [B, C, OH, OW] -> dx shaped like x: each window's dy shared by the window's maxima in x. */
  maxPool2dBackprop: Pool2dParams;
  /** x, z shaped like x -> [B, C, OH, OW]: the mean of z over each window's maxima in x. */
  maxPool2dSelect: Pool2dParams;
  /** x [B, C, H, W] -> [B, C, OH, OW]: the mean of each window's elements inside the input. */
  avgPool2d: Pool2dParams;
  /** dy [B, C, OH, OW] -> [B, C, H, W] with [H, W] = `inputSize`: each window's dy spread over its elements. */
  avgPool2dBackprop: Pool2dParams & { readonly inputSize: readonly number[] };
  /** key: i32 [] -> uniform values in [0, 1) of `shape`, fixed by (key, stream, element index). */
  randomUniform: { readonly shape: RuntimeShape; readonly dtype: DType; readonly stream: number };
}

/** An op's parameters, typed by op. */
export type ParamsOf<K extends Op> = OpParams[K];

export const ALL_OPS: readonly Op[] = Object.values(Op);

export const UNARY_OPS = [
  Op.Neg, Op.Abs, Op.Sign, Op.Exp, Op.Log, Op.Sqrt, Op.Square, Op.Tanh, Op.Sigmoid,
  Op.Relu, Op.Gelu, Op.Softplus, Op.Sin, Op.Cos, Op.Erf,
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

export const BINARY_OPS = [
  Op.Add, Op.Sub, Op.Mul, Op.Div, Op.Pow, Op.Maximum, Op.Minimum, Op.MulNoNan,
] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

export const COMPARE_OPS = [
  Op.Less, Op.LessEqual, Op.Greater, Op.GreaterEqual, Op.Equal, Op.NotEqual,
] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];

export const REDUCE_OPS = [Op.Sum, Op.Mean, Op.Max, Op.Min, Op.LogSumExp] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

export const isFloat = (d: DType): d is FloatDType => d === "f32" || d === "f64";
