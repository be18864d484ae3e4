/**
 * Building blocks of the gradient (VJP) rules in `grad.ts`.
 *
 * Takes tensors of the forward graph and cotangents; returns new DSL expressions (so the
 * results are ordinary graph nodes). Every helper keeps symbolic dims symbolic: shapes
 * are read from the nodes, never assumed concrete unless the op itself requires it.
 */
import { isFloat, type Op, type OpParams, type RuntimeShape } from "../../src/ops.js";
import type { NodeOf } from "../../src/graph/node.js";
import { shapesEqual } from "../../src/graph/shapes.js";
import type { Shape } from "../../src/types/dims.js";
import { wrap, type AnyTensor, type Tensor } from "../../src/tensor.js";
import { constant, scalar } from "../../src/dsl/constructors.js";
import { broadcastTo, reshape } from "../../src/dsl/structure.js";
import { div, mul, mulNoNan } from "../../src/dsl/elementwise.js";
import { sum } from "../../src/dsl/reduce.js";

/**
 * What a rule returns for one input: its cotangent, or a marker.
 * - `"zero"`: the input is differentiable but this op's output does not change with it
 *   (argmax, comparisons, sign, stopGradient, casts to integers): no contribution.
 * - `"none"`: the input has no gradient at all (i32/bool inputs: indices, labels, masks).
 */
export type InputCotangent = AnyTensor | "zero" | "none";

/** Everything a VJP rule may use: the forward node, its inputs and output as tensors, and the output's cotangent. */
export interface VjpContext<K extends Op> {
  readonly node: NodeOf<K>;
  readonly params: OpParams[K];
  readonly inputs: readonly AnyTensor[];
  readonly out: AnyTensor;
  /** Same shape and dtype as `out`. */
  readonly cotangent: AnyTensor;
}

/** A VJP rule: one entry per input of the node, each of that input's shape and dtype. */
export type VjpRule<K extends Op> = (ctx: VjpContext<K>) => readonly InputCotangent[];

/** A runtime shape as the DSL's static `Shape` (the DSL reads it back as runtime dims). */
export const asShape = (s: RuntimeShape): Shape => s as unknown as Shape;

export const floatInput = (t: AnyTensor): boolean => isFloat(t.node.dtype);

/** The i-th input; rules are only called with the op's arity, so it always exists. */
export const arg = (ctx: { readonly inputs: readonly AnyTensor[] }, i: number): AnyTensor => {
  const t = ctx.inputs[i];
  if (t === undefined) throw new Error(`gradient rule needs input ${i}, the node has ${ctx.inputs.length}`);
  return t;
};

/** An i32-typed view of an index tensor (gather/scatterAdd want an i32 static type). */
export const asIndices = (t: AnyTensor): Tensor<Shape, "i32"> => wrap<Shape, "i32">(t.node);

/** A bool-typed view of a mask tensor (the DSL's `where` wants a bool static type). */
export const asMask = (t: AnyTensor): Tensor<Shape, "bool"> => wrap<Shape, "bool">(t.node);

/**
 * Sums `g` down to `shape`, undoing NumPy broadcasting: leading axes that `shape` lacks
 * and axes where `shape` has 1 but `g` does not are summed, then the result is reshaped.
 * @example sumToShape(g, [4]) // for g: f32[batch,4], this is sum(g, [0])
 */
export const sumToShape = (g: AnyTensor, shape: RuntimeShape): AnyTensor => {
  const gs = g.node.shape;
  if (shapesEqual(gs, shape)) return g;
  const lead = gs.length - shape.length;
  const axes = [
    ...Array.from({ length: lead }, (_, i) => i),
    ...shape.flatMap((d, i) => (d === 1 && gs[lead + i] !== 1 ? [lead + i] : [])),
  ];
  const reduced = axes.length > 0 ? sum(g, axes) : g;
  return shapesEqual(reduced.node.shape, shape) ? reduced : reshape(reduced, asShape(shape));
};

/** The shape of a reduction's result with keepdims: reduced axes become 1. */
export const keptShape = (shape: RuntimeShape, axes: readonly number[]): RuntimeShape =>
  shape.map((d, i) => (axes.includes(i) ? 1 : d));

/** A reduction's result (or its cotangent) reshaped to keepdims form, so it broadcasts against the input. */
export const keepDims = (t: AnyTensor, inputShape: RuntimeShape, axes: readonly number[]): AnyTensor => {
  const kept = keptShape(inputShape, axes);
  return shapesEqual(t.node.shape, kept) ? t : reshape(t, asShape(kept));
};

/** Broadcasts `t` to `shape` unless it already has it. */
export const broadcastToShape = (t: AnyTensor, shape: RuntimeShape): AnyTensor =>
  shapesEqual(t.node.shape, shape) ? t : broadcastTo(t, asShape(shape));

/**
 * How many elements a reduction over `axes` combines: a plain number when those dims are
 * concrete, else a rank-0 tensor computed from the symbolic dims (a sum of ones).
 */
export const reducedCount = (x: AnyTensor, axes: readonly number[]): number | AnyTensor => {
  const dims = axes.map((a) => x.node.shape[a]!);
  const known = dims.reduce<number>((n, d) => (typeof d === "number" ? n * d : n), 1);
  const symbolic = dims.filter((d) => typeof d === "string");
  if (symbolic.length === 0) return known;
  const count = sum(broadcastTo(scalar(1, x.node.dtype), asShape(symbolic)));
  return known === 1 ? count : mul(count, known);
};

/**
 * Zeros with the shape and dtype of `t`: a constant when the shape is concrete, else
 * `mulNoNan(0, t)` (exactly 0 even where t is inf or NaN), which keeps t in the graph so
 * its symbolic dims are bound when the zeros are evaluated on their own.
 */
export const zerosLike = (t: AnyTensor): AnyTensor => {
  const { shape, dtype } = t.node;
  return shape.every((d) => typeof d === "number") ? constant(0, shape as readonly number[], dtype) : mulNoNan(scalar(0, dtype), t);
};

/**
 * `g * d`, but exactly 0 wherever `g` is 0, even where `d` is inf or NaN (say, in the
 * untaken branch of a `where`); reduced back to `shape`.
 */
export const scaleTo = (g: AnyTensor, d: AnyTensor, shape: RuntimeShape): AnyTensor => sumToShape(mulNoNan(g, d), shape);

/** 1 / t */
export const reciprocal = (t: AnyTensor): AnyTensor => div(1, t);

/** The permutation that undoes `perm`. */
export const inversePermutation = (perm: readonly number[]): number[] => {
  const inv = new Array<number>(perm.length).fill(0);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
};

// ---------------------------------------------------------------------------------------
// Rule factories: most table entries are one line built from these.

/** Leaves: no inputs, nothing to propagate. */
export const leafGrad = <K extends Op>(): VjpRule<K> => () => [];

/** Ops whose output does not change with any float input: zero for floats, none for i32/bool. */
export const zeroGrad = <K extends Op>(): VjpRule<K> => (ctx) => ctx.inputs.map((t) => (floatInput(t) ? "zero" : "none"));

/**
 * Unary elementwise ops: `dx = mulNoNan(g, df(x, y))`, so a zero cotangent stays exactly
 * zero where the derivative is infinite or NaN (log or sqrt at 0, exp overflowing).
 * @example elementwise((x) => cos(x)) // the rule of sin
 */
export const elementwise =
  <K extends Op>(df: (x: AnyTensor, y: AnyTensor) => AnyTensor): VjpRule<K> =>
  (ctx) => {
    const x = arg(ctx, 0);
    return floatInput(x) ? [scaleTo(ctx.cotangent, df(x, ctx.out), x.node.shape)] : ["none"];
  };

/**
 * Ops whose VJP is a linear map of the cotangent that ignores input values
 * (reshape, transpose, slice, ...): `dx = f(g)` for the first input, other inputs none.
 * @example linear((g, ctx) => reshape(g, asShape(ctx.inputs[0]!.node.shape)))
 */
export const linear =
  <K extends Op>(f: (g: AnyTensor, ctx: VjpContext<K>) => AnyTensor): VjpRule<K> =>
  (ctx) =>
    ctx.inputs.map((t, i) => (i === 0 && floatInput(t) ? f(ctx.cotangent, ctx) : "none"));

/**
 * Broadcasting binary ops: `[da, db]` at the output's shape, each reduced back to its
 * operand's shape; i32/bool operands get none.
 * @example bilinear((g, a, b) => [mulNoNan(g, b), mulNoNan(g, a)]) // the rule of mul
 */
export const bilinear =
  <K extends Op>(f: (g: AnyTensor, a: AnyTensor, b: AnyTensor, y: AnyTensor) => readonly [AnyTensor, AnyTensor]): VjpRule<K> =>
  (ctx) => {
    const [a, b] = [arg(ctx, 0), arg(ctx, 1)];
    if (!floatInput(a)) return ["none", "none"];
    const [da, db] = f(ctx.cotangent, a, b, ctx.out);
    return [sumToShape(da, a.node.shape), sumToShape(db, b.node.shape)];
  };
