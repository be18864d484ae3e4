/**
 * Gradient (VJP) rules of the windowed ops and the random op.
 *
 * Takes the forward node's context (see `gradSupport.ts`); returns each input's cotangent
 * as DSL expressions. The convolution and pooling families are closed under
 * differentiation, so gradients of any order are ordinary ops with their own kernels:
 * - conv2d(x, w):               dx = conv2dBackpropInput(g, w), dw = conv2dBackpropFilter(x, g)
 * - conv2dBackpropInput(dy, w): d dy = conv2d(g, w),             dw = conv2dBackpropFilter(g, dy)
 * - conv2dBackpropFilter(x, dy): dx = conv2dBackpropInput(dy, g), d dy = conv2d(x, g)
 * - maxPool2d(x):               dx = maxPool2dBackprop(x, g)
 * - maxPool2dBackprop(x, dy):   d dy = maxPool2dSelect(x, g)   (x only picks the winners: zero)
 * - maxPool2dSelect(x, z):      dz = maxPool2dBackprop(x, g)   (likewise)
 * - avgPool2d(x):               dx = avgPool2dBackprop(g);  avgPool2dBackprop(dy): d dy = avgPool2d(g)
 * - randomUniform(key):         none (the key is an integer; the values do not depend on floats)
 * Max-pool ties split the cotangent evenly among a window's winners (see `runtime/kernels/pool.ts`).
 */
import { Op, type Conv2dParams, type Pool2dParams } from "../../src/ops.js";
import type { AnyTensor } from "../../src/tensor.js";
import {
  avgPool2dBackpropOp, avgPool2dOp, conv2dBackpropFilterOp, conv2dBackpropInputOp, conv2dOp, maxPool2dBackpropOp, maxPool2dSelectOp,
} from "../../src/dsl/windowOps.js";
import { arg, floatInput, type VjpRule } from "./gradSupport.js";

/** Just the convolution geometry of params that may carry more fields. */
const convOf = (p: Conv2dParams): Conv2dParams => ({ strides: p.strides, dilations: p.dilations, pads: p.pads, groups: p.groups });
const poolOf = (p: Pool2dParams): Pool2dParams => ({ kernel: p.kernel, strides: p.strides, pads: p.pads });

/** [height, width] of an NCHW or OIHW tensor (concrete: the shape rules require it). */
const spatial = (t: AnyTensor): [number, number] => [t.node.shape[2] as number, t.node.shape[3] as number];

const orNone = (t: AnyTensor, g: () => AnyTensor): AnyTensor | "none" => (floatInput(t) ? g() : "none");

const conv2dRule: VjpRule<typeof Op.Conv2d> = (ctx) => {
  const [x, w] = [arg(ctx, 0), arg(ctx, 1)];
  const g = ctx.cotangent;
  const p = convOf(ctx.params);
  return [orNone(x, () => conv2dBackpropInputOp(g, w, p, spatial(x))), orNone(w, () => conv2dBackpropFilterOp(x, g, p, spatial(w)))];
};

const conv2dBackpropInputRule: VjpRule<typeof Op.Conv2dBackpropInput> = (ctx) => {
  const [dy, w] = [arg(ctx, 0), arg(ctx, 1)];
  const g = ctx.cotangent;
  const p = convOf(ctx.params);
  return [orNone(dy, () => conv2dOp(g, w, p)), orNone(w, () => conv2dBackpropFilterOp(g, dy, p, spatial(w)))];
};

const conv2dBackpropFilterRule: VjpRule<typeof Op.Conv2dBackpropFilter> = (ctx) => {
  const [x, dy] = [arg(ctx, 0), arg(ctx, 1)];
  const g = ctx.cotangent;
  const p = convOf(ctx.params);
  return [orNone(x, () => conv2dBackpropInputOp(dy, g, p, spatial(x))), orNone(dy, () => conv2dOp(x, g, p))];
};

/** The gradient rules of the windowed ops and the random op, spread into `vjpRules`. */
export const windowVjpRules: {
  readonly [K in
    | typeof Op.Conv2d
    | typeof Op.Conv2dBackpropInput
    | typeof Op.Conv2dBackpropFilter
    | typeof Op.MaxPool2d
    | typeof Op.MaxPool2dBackprop
    | typeof Op.MaxPool2dSelect
    | typeof Op.AvgPool2d
    | typeof Op.AvgPool2dBackprop
    | typeof Op.RandomUniform]: VjpRule<K>;
} = {
  [Op.Conv2d]: conv2dRule,
  [Op.Conv2dBackpropInput]: conv2dBackpropInputRule,
  [Op.Conv2dBackpropFilter]: conv2dBackpropFilterRule,
  [Op.MaxPool2d]: (ctx) => [orNone(arg(ctx, 0), () => maxPool2dBackpropOp(arg(ctx, 0), ctx.cotangent, poolOf(ctx.params)))],
  [Op.MaxPool2dBackprop]: (ctx) => {
    const x = arg(ctx, 0);
    return floatInput(x) ? ["zero", maxPool2dSelectOp(x, ctx.cotangent, poolOf(ctx.params))] : ["none", "none"];
  },
  [Op.MaxPool2dSelect]: (ctx) => {
    const x = arg(ctx, 0);
    return floatInput(x) ? ["zero", maxPool2dBackpropOp(x, ctx.cotangent, poolOf(ctx.params))] : ["none", "none"];
  },
  [Op.AvgPool2d]: (ctx) => [orNone(arg(ctx, 0), () => avgPool2dBackpropOp(ctx.cotangent, poolOf(ctx.params), spatial(arg(ctx, 0))))],
  [Op.AvgPool2dBackprop]: (ctx) => [orNone(arg(ctx, 0), () => avgPool2dOp(ctx.cotangent, poolOf(ctx.params)))],
  [Op.RandomUniform]: () => ["none"],
};
