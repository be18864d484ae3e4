/**
 * Algebraic simplification.
 *
 * Takes a graph; returns one where local identities are applied bottom-up:
 *   x*1, 1*x, x/1, x^1, x+0, 0+x, x-0            -> x
 *   maximum(x, x), minimum(x, x), where(m, x, x) -> x;  where(const mask, a, b) -> a or b
 *   neg(neg x)                                   -> x
 *   transpose(transpose(x, p), q)                -> transpose(x, p∘q), or x for the identity
 *   reshape / expandDims / squeeze chains        -> one reshape, or x when the shape is x's
 *   reshape or transpose of a broadcast of a one-element value -> one broadcastTo of it
 *   broadcastTo(broadcastTo(x)) -> one broadcastTo; broadcastTo to x's own shape -> x
 *   elementwise op of broadcastTo(y)             -> the op of y, when implicit broadcasting
 *                                                   gives the same result shape
 *   sum/mean/max/min over no axes or size-1 axes -> x (reshaped if dims are dropped)
 *   cast to the same dtype, concat of one input, whole-range slice, zero padding -> x
 * Guarantees: every output keeps its exact shape and dtype (a rewrite whose result would
 * be smaller gets a broadcastTo), and values are preserved exactly for all inputs,
 * NaN and ±inf included. The one liberty: rewrites that drop an addition of zero (x+0,
 * sum over nothing) may turn a +0 result into -0 when x is -0; the two compare equal.
 * Nothing that changes values is done (x*0 stays, log(exp x) stays), and stopGradient is
 * kept because it changes differentiation.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op } from "../../src/ops.js";
import type { Graph } from "../../src/graph/graph.js";
import type { Node } from "../../src/graph/node.js";
import { broadcastShapes, shapesEqual } from "../../src/graph/shapes.js";
import type { CompileError } from "../errors.js";
import { deriveNode, rewriteGraph, type RewriteContext } from "./rewrite.js";

type Result = E.Either<CompileError, Node>;
type Rule<K extends Op> = (node: Extract<Node, { op: K }>, context: RewriteContext) => Result;
/** A rule for any op (declared apart from Rule<Op>, which TypeScript would compare by K's variance). */
type AnyRule = (node: Node, context: RewriteContext) => Result;
const keep = (node: Node): Result => E.right(node);

/** A constant whose every element satisfies `test` (a one-value constant fills its shape). */
const constantWhere = (n: Node, test: (v: number) => boolean): boolean => n.op === Op.Constant && n.params.values.every(test);
const isOne = (n: Node): boolean => constantWhere(n, (v) => v === 1);
const isZero = (n: Node): boolean => constantWhere(n, (v) => v === 0);

/** `x` standing in for `node`: as is when the shapes agree, else broadcast to the node's shape. */
const fitTo = (context: RewriteContext, node: Node, x: Node): Result =>
  shapesEqual(x.shape, node.shape) ? E.right(x) : deriveNode(context, node, Op.BroadcastTo, [x], { shape: node.shape });

/** For binary ops: drop the operand on `side` when `test` says it is the identity element. */
const dropIdentity =
  (sides: { readonly lhs?: (n: Node) => boolean; readonly rhs?: (n: Node) => boolean }): AnyRule =>
  (node, context) => {
    const [a, b] = [node.inputs[0]!, node.inputs[1]!];
    if (sides.rhs?.(b) === true && a.dtype === node.dtype) return fitTo(context, node, a);
    if (sides.lhs?.(a) === true && b.dtype === node.dtype) return fitTo(context, node, b);
    return keep(node);
  };

const sameOperands: AnyRule = (node, context) =>
  node.inputs[0] === node.inputs[1] ? fitTo(context, node, node.inputs[0]!) : keep(node);

const RESHAPES: ReadonlySet<Op> = new Set<Op>([Op.Reshape, Op.ExpandDims, Op.Squeeze]);

/** A broadcast of a one-element value: every element is that value, whatever the layout. */
const uniformSource = (x: Node, rank: number): Node | undefined => {
  if (x.op !== Op.BroadcastTo) return undefined;
  const y = x.inputs[0]!;
  return y.shape.every((d) => d === 1) && y.shape.length <= rank ? y : undefined;
};

/** reshape, expandDims and squeeze only relabel the same row-major elements. */
const simplifyReshape: AnyRule = (node, context) => {
  let x = node.inputs[0]!;
  while (RESHAPES.has(x.op)) x = x.inputs[0]!;
  if (shapesEqual(x.shape, node.shape)) return E.right(x);
  const uniform = uniformSource(x, node.shape.length);
  if (uniform !== undefined) return fitTo(context, node, uniform);
  if (x === node.inputs[0]) return keep(node);
  return deriveNode(context, node, Op.Reshape, [x], { shape: node.shape });
};

const simplifyTranspose: Rule<typeof Op.Transpose> = (node, context) => {
  const x = node.inputs[0]!;
  const uniform = uniformSource(x, node.shape.length);
  if (uniform !== undefined) return fitTo(context, node, uniform);
  const inner = x.op === Op.Transpose ? x : undefined;
  // out[i] = x[perm[i]] = y[innerPerm[perm[i]]]
  const perm = inner === undefined ? node.params.perm : node.params.perm.map((p) => inner.params.perm[p]!);
  const source = inner === undefined ? x : inner.inputs[0]!;
  if (perm.every((p, i) => p === i)) return E.right(source);
  return inner === undefined ? keep(node) : deriveNode(context, node, Op.Transpose, [source], { perm });
};

const simplifyBroadcastTo: Rule<typeof Op.BroadcastTo> = (node, context) => {
  const x = node.inputs[0]!;
  if (shapesEqual(x.shape, node.shape)) return E.right(x);
  if (x.op === Op.BroadcastTo) return fitTo(context, node, x.inputs[0]!);
  return keep(node);
};

/** An elementwise op broadcasts implicitly, so explicit broadcastTo inputs can often go. */
const unbroadcastInputs = (node: Node, context: RewriteContext): Result => {
  let inputs = node.inputs;
  for (let i = 0; i < inputs.length; i++) {
    const b = inputs[i]!;
    if (b.op !== Op.BroadcastTo) continue;
    const trial = inputs.map((x, k) => (k === i ? b.inputs[0]! : x));
    const shape = trial.reduce<readonly (number | string)[] | undefined>((s, x) => {
      if (s === undefined) return undefined;
      const r = broadcastShapes(s, x.shape);
      return r.ok ? r.shape : undefined;
    }, []);
    if (shape !== undefined && shapesEqual(shape, node.shape)) inputs = trial;
  }
  return inputs === node.inputs ? keep(node) : deriveNode(context, node, node.op, inputs, node.params);
};

/** Applies an elementwise identity after removing explicit broadcasts from the operands. */
const elementwise =
  (identity?: AnyRule): AnyRule =>
  (node, context) =>
    E.chain((n: Node) => (identity === undefined ? E.right(n) : identity(n, context)))(unbroadcastInputs(node, context));

/** Reductions over no axes, or over size-1 axes only, leave the values as they are. */
const trivialReduce = (node: Extract<Node, { op: "sum" | "mean" | "max" | "min" }>, context: RewriteContext): Result => {
  const x = node.inputs[0]!;
  if (!node.params.axes.every((a) => x.shape[a] === 1)) return keep(node);
  return shapesEqual(x.shape, node.shape) ? E.right(x) : deriveNode(context, node, Op.Reshape, [x], { shape: node.shape });
};

const simplifyWhere: Rule<typeof Op.Where> = (node, context) => {
  const [m, a, b] = [node.inputs[0]!, node.inputs[1]!, node.inputs[2]!];
  if (a === b) return fitTo(context, node, a);
  if (constantWhere(m, (v) => v !== 0)) return fitTo(context, node, a);
  if (constantWhere(m, (v) => v === 0)) return fitTo(context, node, b);
  return keep(node);
};

const simplifySlice: Rule<typeof Op.Slice> = (node) => {
  const x = node.inputs[0]!;
  return shapesEqual(x.shape, node.shape) && node.params.steps.every((s) => s === 1) ? E.right(x) : keep(node);
};

const simplifyNeg: Rule<typeof Op.Neg> = (node) => {
  const x = node.inputs[0]!;
  return x.op === Op.Neg ? E.right(x.inputs[0]!) : keep(node);
};

/** Rules by op. Partial on purpose: most ops have no identity worth a rule. */
const rules: { readonly [K in Op]?: Rule<K> } = {
  [Op.Neg]: simplifyNeg,
  [Op.Add]: elementwise(dropIdentity({ lhs: isZero, rhs: isZero })),
  [Op.Sub]: elementwise(dropIdentity({ rhs: isZero })),
  [Op.Mul]: elementwise(dropIdentity({ lhs: isOne, rhs: isOne })),
  [Op.Div]: elementwise(dropIdentity({ rhs: isOne })),
  [Op.Pow]: elementwise(dropIdentity({ rhs: isOne })),
  [Op.Maximum]: elementwise(sameOperands),
  [Op.Minimum]: elementwise(sameOperands),
  [Op.MulNoNan]: elementwise(),
  [Op.Less]: elementwise(),
  [Op.LessEqual]: elementwise(),
  [Op.Greater]: elementwise(),
  [Op.GreaterEqual]: elementwise(),
  [Op.Equal]: elementwise(),
  [Op.NotEqual]: elementwise(),
  [Op.Where]: (node, context) => E.chain((n: Node) => (n.op === Op.Where ? simplifyWhere(n, context) : E.right(n)))(unbroadcastInputs(node, context)),
  [Op.Sum]: trivialReduce,
  [Op.Mean]: trivialReduce,
  [Op.Max]: trivialReduce,
  [Op.Min]: trivialReduce,
  [Op.Reshape]: simplifyReshape,
  [Op.ExpandDims]: simplifyReshape,
  [Op.Squeeze]: simplifyReshape,
  [Op.Transpose]: simplifyTranspose,
  [Op.BroadcastTo]: simplifyBroadcastTo,
  [Op.Concat]: (node) => (node.inputs.length === 1 ? E.right(node.inputs[0]!) : keep(node)),
  [Op.Slice]: simplifySlice,
  [Op.Pad]: (node) => ([...node.params.before, ...node.params.after].every((w) => w === 0) ? E.right(node.inputs[0]!) : keep(node)),
  [Op.Cast]: (node) => (node.inputs[0]!.dtype === node.params.dtype ? E.right(node.inputs[0]!) : keep(node)),
};

const simplifyNode = (node: Node, context: RewriteContext): Result => {
  // The table is indexed by the node's own op, so the entry takes this node.
  const rule = rules[node.op] as AnyRule | undefined;
  return rule === undefined ? keep(node) : rule(node, context);
};

/**
 * Applies the identities above everywhere, bottom-up.
 * @example simplifyAlgebra(buildGraph(mul(x, 1))) // the graph of x
 */
export const simplifyAlgebra = (g: Graph): E.Either<CompileError, Graph> =>
  rewriteGraph(g, "simplifyAlgebra", simplifyNode);
