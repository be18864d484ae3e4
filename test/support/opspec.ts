/**
 * The op-spec table: one or more rows per op. It drives the shape-rule tests, the
 * kernel tests (against naive references), the gradient checks and (later) ONNX parity.
 *
 * Each row names its inputs (shape, dtype, value domain) and builds the op from tensors
 * made for those inputs. `grad` says how the op may be differentiated:
 *   smooth    - finite differences apply everywhere in the domain (second order too if `secondOrder`)
 *   piecewise - differentiable in the domain given (inputs kept away from kinks/ties)
 *   zero      - output is discrete (masks, indices): the gradient is zero
 *   none      - not differentiable w.r.t. float inputs (e.g. integer-only inputs)
 */
import * as tg from "../../src/index.js";
import { Op, type Conv2dParams, type DType, type Pool2dParams } from "../../src/ops.js";
import * as w from "../../src/dsl/windowOps.js";
import type { AnyTensor } from "../../src/tensor.js";

export type Domain =
  | { readonly kind: "real"; readonly lo: number; readonly hi: number }
  /** |x| in [lo, hi] with random sign: keeps away from kinks at 0. */
  | { readonly kind: "awayFromZero"; readonly lo: number; readonly hi: number }
  /** Values pairwise at least `gap` apart (no ties), in [-hi, hi]. */
  | { readonly kind: "distinct"; readonly gap: number; readonly hi: number }
  /** Integers in [0, size). */
  | { readonly kind: "index"; readonly size: number }
  | { readonly kind: "bool" };

export interface InputSpec {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly domain: Domain;
}

export interface OpSpecRow {
  /** Unique label, e.g. "add broadcast [2,3]+[3]". */
  readonly name: string;
  readonly op: Op;
  readonly inputs: readonly InputSpec[];
  readonly build: (xs: readonly AnyTensor[]) => AnyTensor;
  readonly grad: "smooth" | "piecewise" | "zero" | "none";
  readonly secondOrder?: boolean;
}

const real = (lo = -2, hi = 2): Domain => ({ kind: "real", lo, hi });
const away = (lo = 0.2, hi = 2): Domain => ({ kind: "awayFromZero", lo, hi });
const distinct: Domain = { kind: "distinct", gap: 0.05, hi: 3 };
const f = (shape: readonly number[], domain: Domain = real()): InputSpec => ({ shape, dtype: "f64", domain });
const idx = (shape: readonly number[], size: number): InputSpec => ({ shape, dtype: "i32", domain: { kind: "index", size } });
const mask = (shape: readonly number[]): InputSpec => ({ shape, dtype: "bool", domain: { kind: "bool" } });

type T = AnyTensor;
const x0 = (xs: readonly T[]): T => xs[0]!;
const x1 = (xs: readonly T[]): T => xs[1]!;
const x2 = (xs: readonly T[]): T => xs[2]!;

const unaryRows = (
  op: Op,
  fn: (x: T) => T,
  domain: Domain,
  grad: OpSpecRow["grad"] = "smooth",
  secondOrder = grad === "smooth",
): OpSpecRow[] => [
  { name: `${op} [2,3]`, op, inputs: [f([2, 3], domain)], build: (xs) => fn(x0(xs)), grad, secondOrder },
  { name: `${op} rank 0`, op, inputs: [f([], domain)], build: (xs) => fn(x0(xs)), grad, secondOrder },
];

const binaryRows = (op: Op, fn: (a: T, b: T) => T, da: Domain, db: Domain, grad: OpSpecRow["grad"] = "smooth"): OpSpecRow[] => [
  { name: `${op} [2,3] [2,3]`, op, inputs: [f([2, 3], da), f([2, 3], db)], build: (xs) => fn(x0(xs), x1(xs)), grad, secondOrder: grad === "smooth" },
  { name: `${op} broadcast [2,1,3] [4,1]`, op, inputs: [f([2, 1, 3], da), f([4, 1], db)], build: (xs) => fn(x0(xs), x1(xs)), grad, secondOrder: grad === "smooth" },
  { name: `${op} scalar [] [3]`, op, inputs: [f([], da), f([3], db)], build: (xs) => fn(x0(xs), x1(xs)), grad },
];

const compareRows = (op: Op, fn: (a: T, b: T) => T): OpSpecRow[] => [
  { name: `${op} [2,3] [3]`, op, inputs: [f([2, 3], distinct), f([3], distinct)], build: (xs) => fn(x0(xs), x1(xs)), grad: "zero" },
];

const conv = (strides: number[], dilations: number[], pads: number[], groups = 1): Conv2dParams => ({ strides, dilations, pads, groups });
const pool = (kernel: number[], strides: number[], pads: number[]): Pool2dParams => ({ kernel, strides, pads });
const noPads = [0, 0, 0, 0];

/** Convolution, pooling, their backprop ops, and the random op (as a dropout-like mask). */
const windowRows: OpSpecRow[] = [
  { name: "conv2d 3x3 same [2,3,5,5]*[4,3,3,3]", op: Op.Conv2d, inputs: [f([2, 3, 5, 5]), f([4, 3, 3, 3])], build: (xs) => w.conv2dOp(x0(xs), x1(xs), conv([1, 1], [1, 1], [1, 1, 1, 1])), grad: "smooth", secondOrder: true },
  {
    name: "conv2d strided dilated grouped asymmetric pads",
    op: Op.Conv2d,
    inputs: [f([1, 4, 7, 6]), f([6, 2, 2, 3])],
    build: (xs) => w.conv2dOp(x0(xs), x1(xs), conv([2, 1], [1, 2], [1, 0, 2, 1], 2)),
    grad: "smooth",
    secondOrder: true,
  },
  { name: "conv2d pointwise 1x1", op: Op.Conv2d, inputs: [f([2, 3, 4, 4]), f([5, 3, 1, 1])], build: (xs) => w.conv2dOp(x0(xs), x1(xs), conv([1, 1], [1, 1], noPads)), grad: "smooth" },
  {
    name: "conv2dBackpropInput stride 2 pads 1",
    op: Op.Conv2dBackpropInput,
    inputs: [f([2, 4, 3, 3]), f([4, 3, 3, 3])],
    build: (xs) => w.conv2dBackpropInputOp(x0(xs), x1(xs), conv([2, 2], [1, 1], [1, 1, 1, 1]), [5, 5]),
    grad: "smooth",
    secondOrder: true,
  },
  {
    name: "conv2dBackpropInput grouped (depthwise)",
    op: Op.Conv2dBackpropInput,
    inputs: [f([1, 4, 4, 4]), f([4, 1, 2, 2])],
    build: (xs) => w.conv2dBackpropInputOp(x0(xs), x1(xs), conv([1, 1], [1, 1], noPads, 4), [5, 5]),
    grad: "smooth",
  },
  {
    name: "conv2dBackpropFilter 3x3",
    op: Op.Conv2dBackpropFilter,
    inputs: [f([2, 2, 5, 5]), f([2, 3, 3, 3])],
    build: (xs) => w.conv2dBackpropFilterOp(x0(xs), x1(xs), conv([1, 1], [1, 1], noPads), [3, 3]),
    grad: "smooth",
    secondOrder: true,
  },
  {
    name: "conv2dBackpropFilter strided grouped padded",
    op: Op.Conv2dBackpropFilter,
    inputs: [f([1, 4, 6, 6]), f([1, 2, 4, 4])],
    build: (xs) => w.conv2dBackpropFilterOp(x0(xs), x1(xs), conv([2, 2], [1, 1], [1, 1, 1, 1], 2), [2, 2]),
    grad: "smooth",
  },
  { name: "maxPool2d 2x2 stride 2", op: Op.MaxPool2d, inputs: [f([2, 2, 4, 4], distinct)], build: (xs) => w.maxPool2dOp(x0(xs), pool([2, 2], [2, 2], noPads)), grad: "piecewise" },
  { name: "maxPool2d 3x3 stride 2 pads 1", op: Op.MaxPool2d, inputs: [f([1, 2, 5, 5], distinct)], build: (xs) => w.maxPool2dOp(x0(xs), pool([3, 3], [2, 2], [1, 1, 1, 1])), grad: "piecewise" },
  {
    name: "maxPool2dBackprop overlapping windows",
    op: Op.MaxPool2dBackprop,
    inputs: [f([1, 2, 5, 5], distinct), f([1, 2, 3, 3])],
    build: (xs) => w.maxPool2dBackpropOp(x0(xs), x1(xs), pool([3, 3], [2, 2], [1, 1, 1, 1])),
    grad: "piecewise",
  },
  {
    name: "maxPool2dSelect overlapping windows",
    op: Op.MaxPool2dSelect,
    inputs: [f([1, 2, 5, 5], distinct), f([1, 2, 5, 5])],
    build: (xs) => w.maxPool2dSelectOp(x0(xs), x1(xs), pool([3, 3], [2, 2], [1, 1, 1, 1])),
    grad: "piecewise",
  },
  { name: "avgPool2d 3x3 stride 2 pads 1", op: Op.AvgPool2d, inputs: [f([2, 2, 5, 5])], build: (xs) => w.avgPool2dOp(x0(xs), pool([3, 3], [2, 2], [1, 1, 1, 1])), grad: "smooth", secondOrder: true },
  {
    name: "avgPool2dBackprop 3x3 stride 2 pads 1",
    op: Op.AvgPool2dBackprop,
    inputs: [f([1, 2, 3, 3])],
    build: (xs) => w.avgPool2dBackpropOp(x0(xs), pool([3, 3], [2, 2], [1, 1, 1, 1]), [5, 5]),
    grad: "smooth",
    secondOrder: true,
  },
  {
    name: "randomUniform as a mask",
    op: Op.RandomUniform,
    inputs: [f([2, 3]), idx([], 1000)],
    build: (xs) => tg.mul(x0(xs), w.randomUniformOp(x1(xs), [2, 3], "f64", 7)),
    grad: "smooth",
  },
];

export const opSpecTable: readonly OpSpecRow[] = [
  { name: "input", op: Op.Input, inputs: [f([2, 2])], build: x0, grad: "smooth", secondOrder: true },
  { name: "param", op: Op.Param, inputs: [], build: () => tg.param("p_spec", [2], "f64"), grad: "none" },
  { name: "constant", op: Op.Constant, inputs: [f([2, 2])], build: (xs) => tg.mul(x0(xs), tg.constant([1, 2, 3, 4], [2, 2], "f64")), grad: "smooth", secondOrder: true },
  ...unaryRows(Op.Neg, tg.neg, real()),
  ...unaryRows(Op.Abs, tg.abs, away(), "piecewise"),
  ...unaryRows(Op.Sign, tg.sign, away(), "zero"),
  ...unaryRows(Op.Exp, tg.exp, real()),
  ...unaryRows(Op.Log, tg.log, { kind: "real", lo: 0.2, hi: 3 }),
  ...unaryRows(Op.Sqrt, tg.sqrt, { kind: "real", lo: 0.2, hi: 3 }),
  ...unaryRows(Op.Square, tg.square, real()),
  ...unaryRows(Op.Tanh, tg.tanh, real()),
  ...unaryRows(Op.Sigmoid, tg.sigmoid, real(-4, 4)),
  ...unaryRows(Op.Relu, tg.relu, away(), "piecewise"),
  ...unaryRows(Op.Gelu, tg.gelu, real(-3, 3)),
  ...unaryRows(Op.Softplus, tg.softplus, real(-4, 4)),
  ...unaryRows(Op.Sin, tg.sin, real(-3, 3)),
  ...unaryRows(Op.Cos, tg.cos, real(-3, 3)),
  ...unaryRows(Op.Erf, tg.erf, real(-2, 2)),
  ...binaryRows(Op.Add, tg.add, real(), real()),
  ...binaryRows(Op.Sub, tg.sub, real(), real()),
  ...binaryRows(Op.Mul, tg.mul, real(), real()),
  ...binaryRows(Op.Div, tg.div, real(), away(0.5, 2)),
  ...binaryRows(Op.Pow, tg.pow, { kind: "real", lo: 0.3, hi: 2 }, real(-2, 2)),
  ...binaryRows(Op.Maximum, tg.maximum, distinct, distinct, "piecewise"),
  ...binaryRows(Op.Minimum, tg.minimum, distinct, distinct, "piecewise"),
  ...binaryRows(Op.MulNoNan, tg.mulNoNan, real(), real()),
  ...compareRows(Op.Less, tg.less),
  ...compareRows(Op.LessEqual, tg.lessEqual),
  ...compareRows(Op.Greater, tg.greater),
  ...compareRows(Op.GreaterEqual, tg.greaterEqual),
  ...compareRows(Op.Equal, tg.equal),
  ...compareRows(Op.NotEqual, tg.notEqual),
  { name: "where [2,3] broadcast", op: Op.Where, inputs: [mask([2, 3]), f([2, 3]), f([3])], build: (xs) => tg.where(x0(xs) as tg.Tensor<tg.Shape, "bool">, x1(xs), x2(xs)), grad: "smooth", secondOrder: true },
  { name: "sum axis 1", op: Op.Sum, inputs: [f([2, 3, 4])], build: (xs) => tg.sum(x0(xs), 1), grad: "smooth", secondOrder: true },
  { name: "sum all keepdims", op: Op.Sum, inputs: [f([2, 3])], build: (xs) => tg.sum(x0(xs), undefined, { keepdims: true }), grad: "smooth" },
  { name: "sum axes [0,2]", op: Op.Sum, inputs: [f([2, 3, 4])], build: (xs) => tg.sum(x0(xs), [0, -1]), grad: "smooth" },
  { name: "mean axis 0 keepdims", op: Op.Mean, inputs: [f([3, 2])], build: (xs) => tg.mean(x0(xs), 0, { keepdims: true }), grad: "smooth", secondOrder: true },
  { name: "max axis 1", op: Op.Max, inputs: [f([2, 4], distinct)], build: (xs) => tg.max(x0(xs), 1), grad: "piecewise" },
  { name: "max all", op: Op.Max, inputs: [f([2, 3], distinct)], build: (xs) => tg.max(x0(xs)), grad: "piecewise" },
  { name: "min axis 0 keepdims", op: Op.Min, inputs: [f([3, 2], distinct)], build: (xs) => tg.min(x0(xs), 0, { keepdims: true }), grad: "piecewise" },
  { name: "logsumexp axis -1", op: Op.LogSumExp, inputs: [f([2, 5], real(-3, 3))], build: (xs) => tg.logsumexp(x0(xs), -1), grad: "smooth", secondOrder: true },
  { name: "logsumexp axes [0,1] keepdims", op: Op.LogSumExp, inputs: [f([2, 3])], build: (xs) => tg.logsumexp(x0(xs), [0, 1], { keepdims: true }), grad: "smooth" },
  { name: "argmax axis 1", op: Op.ArgMax, inputs: [f([3, 4], distinct)], build: (xs) => tg.argmax(x0(xs), 1), grad: "zero" },
  { name: "reshape [2,3,4]->[6,4]", op: Op.Reshape, inputs: [f([2, 3, 4])], build: (xs) => tg.reshape(x0(xs), [6, 4]), grad: "smooth", secondOrder: true },
  { name: "reshape to rank 0", op: Op.Reshape, inputs: [f([1, 1])], build: (xs) => tg.reshape(x0(xs), []), grad: "smooth" },
  { name: "transpose [2,3,4] perm [2,0,1]", op: Op.Transpose, inputs: [f([2, 3, 4])], build: (xs) => tg.transpose(x0(xs), [2, 0, 1]), grad: "smooth", secondOrder: true },
  { name: "broadcastTo [3,1]->[2,3,4]", op: Op.BroadcastTo, inputs: [f([3, 1])], build: (xs) => tg.broadcastTo(x0(xs), [2, 3, 4]), grad: "smooth", secondOrder: true },
  { name: "expandDims axis 1", op: Op.ExpandDims, inputs: [f([2, 3])], build: (xs) => tg.expandDims(x0(xs), 1), grad: "smooth" },
  { name: "squeeze axis 0", op: Op.Squeeze, inputs: [f([1, 3, 1])], build: (xs) => tg.squeeze(x0(xs), 0), grad: "smooth" },
  { name: "concat axis 1", op: Op.Concat, inputs: [f([2, 1]), f([2, 3]), f([2, 2])], build: (xs) => tg.concat(xs, 1), grad: "smooth", secondOrder: true },
  { name: "slice with step and negative", op: Op.Slice, inputs: [f([4, 5])], build: (xs) => tg.slice(x0(xs), [[1, 3], [0, -1, 2]]), grad: "smooth", secondOrder: true },
  { name: "pad [[1,0],[2,1]]", op: Op.Pad, inputs: [f([2, 3])], build: (xs) => tg.pad(x0(xs), [[1, 0], [2, 1]]), grad: "smooth" },
  { name: "gather axis 0 repeated", op: Op.Gather, inputs: [f([4, 3]), idx([5], 4)], build: (xs) => tg.gather(x0(xs), x1(xs) as tg.Tensor<tg.Shape, "i32">, 0), grad: "smooth", secondOrder: true },
  { name: "gather axis 1 2-d indices", op: Op.Gather, inputs: [f([2, 4]), idx([2, 2], 4)], build: (xs) => tg.gather(x0(xs), x1(xs) as tg.Tensor<tg.Shape, "i32">, 1), grad: "smooth" },
  { name: "scatterAdd axis 0", op: Op.ScatterAdd, inputs: [f([5, 3]), idx([5], 4)], build: (xs) => tg.scatterAdd(x0(xs), x1(xs) as tg.Tensor<tg.Shape, "i32">, 0, [4, 3]), grad: "smooth" },
  { name: "matmul [3,4]x[4,2]", op: Op.MatMul, inputs: [f([3, 4]), f([4, 2])], build: (xs) => tg.matmul(x0(xs), x1(xs)), grad: "smooth", secondOrder: true },
  { name: "matmul batched broadcast [2,3,4]x[4,5]", op: Op.MatMul, inputs: [f([2, 3, 4]), f([4, 5])], build: (xs) => tg.matmul(x0(xs), x1(xs)), grad: "smooth" },
  { name: "matmul transposed [4,3]^T x [2,4]^T", op: Op.MatMul, inputs: [f([4, 3]), f([2, 4])], build: (xs) => tg.matmul(x0(xs), x1(xs), { transposeA: true, transposeB: true }), grad: "smooth" },
  { name: "softmax axis -1", op: Op.Softmax, inputs: [f([2, 4])], build: (xs) => tg.softmax(x0(xs)), grad: "smooth", secondOrder: true },
  { name: "softmax axis 0", op: Op.Softmax, inputs: [f([3, 2])], build: (xs) => tg.softmax(x0(xs), 0), grad: "smooth" },
  { name: "logSoftmax axis -1", op: Op.LogSoftmax, inputs: [f([2, 4])], build: (xs) => tg.logSoftmax(x0(xs)), grad: "smooth", secondOrder: true },
  { name: "oneHot depth 4", op: Op.OneHot, inputs: [idx([3], 4)], build: (xs) => tg.oneHot(x0(xs) as tg.Tensor<tg.Shape, "i32">, 4, "f64"), grad: "none" },
  { name: "cast f64->f32->f64", op: Op.Cast, inputs: [f([2, 3])], build: (xs) => tg.cast(tg.cast(x0(xs), "f32"), "f64"), grad: "smooth" },
  { name: "cast f64->i32", op: Op.Cast, inputs: [f([2, 3], away(0.2, 5))], build: (xs) => tg.cast(x0(xs), "i32"), grad: "zero" },
  { name: "stopGradient", op: Op.StopGradient, inputs: [f([2, 3])], build: (xs) => tg.add(tg.stopGradient(tg.square(x0(xs))), x0(xs)), grad: "smooth" },
  ...windowRows,
];
