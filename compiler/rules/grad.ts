/**
 * Gradient (VJP) rules, one per op.
 *
 * Takes a forward node, its inputs and output as tensors, and the cotangent of its
 * output; returns, for each input, its cotangent (same shape and dtype as that input) or
 * a "zero"/"none" marker. Rules build their results with the DSL itself, so gradients are
 * ordinary graph nodes: printable, optimizable, exportable and differentiable again.
 *
 * Conventions the rules guarantee:
 * - Broadcasting: cotangents are summed back to each operand's shape.
 * - Ties: max/min reductions and `maximum`/`minimum` split the cotangent evenly among
 *   tied entries (so the gradient of `max([1, 1])` is `[0.5, 0.5]`); relu'(0) = abs'(0) = 0.
 * - Zero stays zero: wherever a rule multiplies the cotangent by a value computed from the
 *   forward pass (a derivative, or the other operand of mul), it uses `mulNoNan(g, d)`, so
 *   a cotangent that is exactly zero (say, from the untaken branch of `where`) stays
 *   exactly zero even where d is inf or NaN (log or sqrt at 0, exp overflowing, pow(0, -1)),
 *   at every order of differentiation. (Matmul and reductions use plain arithmetic.)
 * - Stable forms: softmax, logSoftmax and logsumexp use the forward output (or softmax)
 *   rather than exponentials of raw logits, so their gradients stay finite at ±1000.
 * - Integer and bool inputs (indices, labels, masks) get "none".
 */
import { Op, isFloat, type ReduceOp } from "../../src/ops.js";
import type { AnyTensor } from "../../src/tensor.js";
import { constant } from "../../src/dsl/constructors.js";
import {
  add, cos, div, equal, erf, exp, greater, less, log, mul, mulNoNan, neg, pow, sigmoid, sign, sin, square, sub, where,
} from "../../src/dsl/elementwise.js";
import { sum } from "../../src/dsl/reduce.js";
import { gather, pad, reshape, scatterAdd, slice, squeeze, transpose, type SliceRange } from "../../src/dsl/structure.js";
import { cast, matmul, softmax } from "../../src/dsl/linalg.js";
import {
  arg, asIndices, asMask, asShape, bilinear, broadcastToShape, elementwise, floatInput, inversePermutation, keepDims, leafGrad, linear,
  reciprocal, reducedCount, sumToShape, zeroGrad, type VjpContext, type VjpRule,
} from "./gradSupport.js";
import { windowVjpRules } from "./gradWindow.js";

export type { InputCotangent, VjpContext, VjpRule } from "./gradSupport.js";

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** Gelu'(x) = Φ(x) + x·φ(x). */
const geluDerivative = (x: AnyTensor): AnyTensor =>
  add(mul(add(erf(mul(x, SQRT1_2)), 1), 0.5), mul(x, mul(exp(mul(square(x), -0.5)), INV_SQRT_2PI)));

/** Cotangent pieces for `maximum`/`minimum`: the winner takes g, ties split it evenly. */
const pickWinner = (g: AnyTensor, wins: AnyTensor, ties: AnyTensor): AnyTensor =>
  where(asMask(wins), g, where(asMask(ties), mul(g, 0.5), 0));

/** Relu-like gates: `dx = where(open(x), g, 0)`, so the closed side is an exact 0 even for an infinite g. */
const passWhere =
  <K extends Op>(open: (x: AnyTensor) => AnyTensor): VjpRule<K> =>
  (ctx) => {
    const x = arg(ctx, 0);
    return floatInput(x) ? [where(asMask(open(x)), ctx.cotangent, 0)] : ["none"];
  };

/** Safe log for pow's exponent gradient: log(a) where a > 0, else 0 (the true derivative of 0^b for b > 0). */
const logWherePositive = (a: AnyTensor): AnyTensor => where(asMask(greater(a, 0)), log(a), 0);

/** Sum, mean: the cotangent spread back over the reduced axes (divided by the count for mean). */
const spreadRule =
  <K extends typeof Op.Sum | typeof Op.Mean>(average: boolean): VjpRule<K> =>
  (ctx) => {
    const x = arg(ctx, 0);
    if (!floatInput(x)) return ["none"];
    const { axes } = ctx.params;
    const g = keepDims(ctx.cotangent, x.node.shape, axes);
    return [broadcastToShape(average ? div(g, reducedCount(x, axes)) : g, x.node.shape)];
  };

/** Max, min over axes: the cotangent goes to the entries equal to the result, split evenly among ties. */
const extremumRule =
  <K extends typeof Op.Max | typeof Op.Min>(): VjpRule<K> =>
  (ctx) => {
    const x = arg(ctx, 0);
    if (!floatInput(x)) return ["none"];
    const { axes } = ctx.params;
    const hits = cast(equal(x, keepDims(ctx.out, x.node.shape, axes)), x.node.dtype);
    const share = div(hits, sum(hits, axes, { keepdims: true }));
    return [mul(share, keepDims(ctx.cotangent, x.node.shape, axes))];
  };

/**
 * logsumexp: g · softmax(x) over the reduced axes. Over one axis that is the softmax op
 * (accurate to a few ulp even in f32 at ±1000); over several it is exp(x - lse), where
 * x - lse <= 0 so nothing overflows (but its rounding is that of lse's magnitude).
 */
const logSumExpRule: VjpRule<typeof Op.LogSumExp> = (ctx) => {
  const x = arg(ctx, 0);
  const { axes } = ctx.params;
  const weights = axes.length === 1 ? softmax(x, axes[0]) : exp(sub(x, keepDims(ctx.out, x.node.shape, axes)));
  return [mul(keepDims(ctx.cotangent, x.node.shape, axes), weights)];
};

/** `ranges` for `slice` that cut [start, end) on `axis` and keep the other axes. */
const rangeOn = (axis: number, start: number, end: number): SliceRange[] => [
  ...Array.from({ length: axis }, (): SliceRange => null),
  [start, end],
];

const concatRule: VjpRule<typeof Op.Concat> = (ctx) => {
  const { axis } = ctx.params;
  if (ctx.inputs.length === 1) return [floatInput(arg(ctx, 0)) ? ctx.cotangent : "none"];
  let offset = 0;
  return ctx.inputs.map((t) => {
    const d = t.node.shape[axis] as number; // concat of several inputs has concrete sizes on its axis
    const piece = slice(ctx.cotangent, rangeOn(axis, offset, offset + d));
    offset += d;
    return floatInput(t) ? piece : "none";
  });
};

/** Slice: strided axes scatter the cotangent back (scatterAdd at the taken indices), unit-step axes pad it. */
const sliceRule: VjpRule<typeof Op.Slice> = (ctx) => {
  const x = arg(ctx, 0);
  if (!floatInput(x)) return ["none"];
  const { axes, starts, steps } = ctx.params;
  let g = ctx.cotangent;
  const before = x.node.shape.map(() => 0);
  const after = x.node.shape.map(() => 0);
  axes.forEach((axis, i) => {
    const full = x.node.shape[axis] as number; // the shape rule rejects slicing symbolic dims
    const taken = g.node.shape[axis] as number;
    const [start, step] = [starts[i]!, steps[i]!];
    if (step === 1) {
      before[axis] = start;
      after[axis] = full - start - taken;
      return;
    }
    const indices = constant(Array.from({ length: taken }, (_, k) => start + k * step), [taken], "i32");
    g = scatterAdd(g, indices, axis, asShape(g.node.shape.map((d, ax) => (ax === axis ? full : d))));
  });
  const widths = before.map((b, ax) => [b, after[ax]!] as const);
  return [widths.some(([b, a]) => b > 0 || a > 0) ? pad(g, widths) : g];
};

/** Pad: the cotangent of the unpadded block is a slice of the cotangent. */
const padRule: VjpRule<typeof Op.Pad> = linear((g, ctx) => {
  const x = arg(ctx, 0);
  const ranges = x.node.shape.map((d, ax): SliceRange => {
    const b = ctx.params.before[ax]!;
    return b === 0 && ctx.params.after[ax] === 0 ? null : [b, b + (d as number)];
  });
  return slice(g, ranges);
});

/**
 * Batched matmul with transpose flags. The cotangents are matmuls with transpose flags
 * (no transpose nodes), then summed over batch dims the operand was broadcast along.
 */
const matmulRule: VjpRule<typeof Op.MatMul> = (ctx) => {
  const [a, b] = [arg(ctx, 0), arg(ctx, 1)];
  const g = ctx.cotangent;
  const { transposeA: ta, transposeB: tb } = ctx.params;
  const mm = (x: AnyTensor, y: AnyTensor, transposeA: boolean, transposeB: boolean): AnyTensor => matmul(x, y, { transposeA, transposeB });
  // C = op(A)·op(B): d op(A) = g·op(B)ᵀ and d op(B) = op(A)ᵀ·g, transposed back where op transposes.
  const da = ta ? (tb ? mm(b, g, true, true) : mm(b, g, false, true)) : tb ? mm(g, b, false, false) : mm(g, b, false, true);
  const db = tb ? (ta ? mm(g, a, true, true) : mm(g, a, true, false)) : ta ? mm(a, g, false, false) : mm(a, g, true, false);
  return [sumToShape(da, a.node.shape), sumToShape(db, b.node.shape)];
};

const whereRule: VjpRule<typeof Op.Where> = (ctx) => {
  const [mask, a, b] = [asMask(arg(ctx, 0)), arg(ctx, 1), arg(ctx, 2)];
  if (!floatInput(a)) return ["none", "none", "none"];
  const g = ctx.cotangent;
  // The untaken side gets an exact 0 (not g·0), so infinite derivatives there cannot make NaN.
  return ["none", sumToShape(where(mask, g, 0), a.node.shape), sumToShape(where(mask, 0, g), b.node.shape)];
};

const castRule: VjpRule<typeof Op.Cast> = (ctx) => {
  const x = arg(ctx, 0);
  if (!floatInput(x)) return ["none"];
  return isFloat(ctx.params.dtype) ? [cast(ctx.cotangent, x.node.dtype)] : ["zero"];
};

const softmaxRule: VjpRule<typeof Op.Softmax> = (ctx) => {
  const y = ctx.out;
  const g = ctx.cotangent;
  return [mul(y, sub(g, sum(mul(g, y), ctx.params.axis, { keepdims: true })))];
};

const logSoftmaxRule: VjpRule<typeof Op.LogSoftmax> = (ctx) => {
  const g = ctx.cotangent;
  return [sub(g, mul(softmax(arg(ctx, 0), ctx.params.axis), sum(g, ctx.params.axis, { keepdims: true })))];
};

const reduceRules: { readonly [K in ReduceOp]: VjpRule<K> } = {
  [Op.Sum]: spreadRule(false),
  [Op.Mean]: spreadRule(true),
  [Op.Max]: extremumRule(),
  [Op.Min]: extremumRule(),
  [Op.LogSumExp]: logSumExpRule,
};

/**
 * The gradient rule of every op.
 * @example
 * // the cotangent of x in y = sin(x), for the cotangent g of y, is g * cos(x):
 * vjpRules[Op.Sin]({ node, params: {}, inputs: [x], out: y, cotangent: g }) // [mulNoNan(g, cos(x))]
 */
export const vjpRules: { readonly [K in Op]: VjpRule<K> } = {
  [Op.Input]: leafGrad(),
  [Op.Param]: leafGrad(),
  [Op.Constant]: leafGrad(),
  [Op.Neg]: linear((g) => neg(g)),
  [Op.Abs]: elementwise((x) => sign(x)),
  [Op.Sign]: zeroGrad(),
  [Op.Exp]: elementwise((_x, y) => y),
  [Op.Log]: elementwise((x) => reciprocal(x)),
  [Op.Sqrt]: elementwise((_x, y) => div(0.5, y)),
  [Op.Square]: elementwise((x) => mul(x, 2)),
  [Op.Tanh]: elementwise((_x, y) => sub(1, square(y))),
  [Op.Sigmoid]: elementwise((_x, y) => mul(y, sub(1, y))),
  [Op.Relu]: passWhere((x) => greater(x, 0)),
  [Op.Gelu]: elementwise(geluDerivative),
  [Op.Softplus]: elementwise((x) => sigmoid(x)),
  [Op.Sin]: elementwise((x) => cos(x)),
  [Op.Cos]: elementwise((x) => neg(sin(x))),
  [Op.Erf]: elementwise((x) => mul(exp(neg(square(x))), TWO_OVER_SQRT_PI)),
  [Op.Add]: bilinear((g) => [g, g]),
  [Op.Sub]: bilinear((g) => [g, neg(g)]),
  [Op.Mul]: bilinear((g, a, b) => [mulNoNan(g, b), mulNoNan(g, a)]),
  [Op.Div]: bilinear((g, _a, b, y) => [mulNoNan(g, reciprocal(b)), mulNoNan(g, neg(div(y, b)))]),
  [Op.Pow]: bilinear((g, a, b, y) => [mulNoNan(g, mul(b, pow(a, sub(b, 1)))), mulNoNan(g, mul(y, logWherePositive(a)))]),
  [Op.Maximum]: bilinear((g, a, b) => [pickWinner(g, greater(a, b), equal(a, b)), pickWinner(g, less(a, b), equal(a, b))]),
  [Op.Minimum]: bilinear((g, a, b) => [pickWinner(g, less(a, b), equal(a, b)), pickWinner(g, greater(a, b), equal(a, b))]),
  // mulNoNan(a, b) is 0 wherever a is 0, whatever b is: b's cotangent is 0 there too.
  [Op.MulNoNan]: bilinear((g, a, b) => [mulNoNan(g, b), mulNoNan(a, g)]),
  [Op.Less]: zeroGrad(),
  [Op.LessEqual]: zeroGrad(),
  [Op.Greater]: zeroGrad(),
  [Op.GreaterEqual]: zeroGrad(),
  [Op.Equal]: zeroGrad(),
  [Op.NotEqual]: zeroGrad(),
  [Op.Where]: whereRule,
  ...reduceRules,
  [Op.ArgMax]: zeroGrad(),
  [Op.Reshape]: linear((g, ctx) => reshape(g, asShape(arg(ctx, 0).node.shape))),
  [Op.Transpose]: linear((g, ctx) => transpose(g, inversePermutation(ctx.params.perm))),
  [Op.BroadcastTo]: linear((g, ctx) => sumToShape(g, arg(ctx, 0).node.shape)),
  [Op.ExpandDims]: linear((g, ctx) => squeeze(g, ctx.params.axis)),
  [Op.Squeeze]: linear((g, ctx) => reshape(g, asShape(arg(ctx, 0).node.shape))),
  [Op.Concat]: concatRule,
  [Op.Slice]: sliceRule,
  [Op.Pad]: padRule,
  [Op.Gather]: linear((g, ctx) => scatterAdd(g, asIndices(arg(ctx, 1)), ctx.params.axis, asShape(arg(ctx, 0).node.shape))),
  [Op.ScatterAdd]: linear((g, ctx) => gather(g, asIndices(arg(ctx, 1)), ctx.params.axis)),
  [Op.MatMul]: matmulRule,
  [Op.Softmax]: softmaxRule,
  [Op.LogSoftmax]: logSoftmaxRule,
  [Op.OneHot]: zeroGrad(),
  [Op.Cast]: castRule,
  [Op.StopGradient]: zeroGrad(),
  ...windowVjpRules,
};

/** Applies the rule of `ctx.node.op`. */
export const applyVjpRule = (ctx: VjpContext<Op>): ReturnType<VjpRule<Op>> => (vjpRules[ctx.node.op] as VjpRule<Op>)(ctx);
