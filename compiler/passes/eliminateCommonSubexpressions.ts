/**
 * Common-subexpression elimination.
 *
 * Takes a graph; returns an equivalent graph in which no two nodes compute the same
 * value by the same op: structurally identical nodes are merged (hash-consing); a node
 * whose commuted twin (add, mul, maximum, minimum, equal, notEqual: `b+a` for `a+b`) or
 * mirrored twin (`b < a` for `a > b`, `b <= a` for `a >= b`) is already in the graph
 * becomes that twin, the first form in topological order winning so printed graphs keep
 * the user's operand order; and constants are put in a canonical form (a uniform
 * constant stores one value) so equal constants merge. Guarantees the same values,
 * shapes and dtypes for every output; mulNoNan, sub, div and pow are never swapped.
 * Swapping is exact because broadcasting is symmetric and these kernels are symmetric in
 * IEEE arithmetic (maximum/minimum propagate NaN from either side).
 */
import * as E from "fp-ts/lib/Either.js";
import { Op } from "../../src/ops.js";
import { makeNode, type Node } from "../../src/graph/node.js";
import type { Graph } from "../../src/graph/graph.js";
import type { CompileError } from "../errors.js";
import { rewriteGraph, withInputs, type RewriteContext } from "./rewrite.js";

/** Ops whose two operands may be swapped without changing any value. */
export const COMMUTATIVE_OPS: ReadonlySet<Op> = new Set<Op>([Op.Add, Op.Mul, Op.Maximum, Op.Minimum, Op.Equal, Op.NotEqual]);

/** A uniform constant stores its value once; `-0` and `0` stay different (1/x tells them apart). */
const canonicalConstant = (node: Extract<Node, { op: "constant" }>): Node => {
  const vs = node.params.values;
  if (vs.length <= 1 || !vs.every((v) => Object.is(v, vs[0]))) return node;
  return makeNode({ ...node, params: { ...node.params, values: [vs[0]!] } });
};

/**
 * `a > b` is `b < a` and `a >= b` is `b <= a` for every input, NaN included (all false).
 * Partial: only the four order comparisons have a mirror.
 */
const MIRRORED: Partial<Record<Op, Op>> = {
  [Op.Greater]: Op.Less,
  [Op.Less]: Op.Greater,
  [Op.GreaterEqual]: Op.LessEqual,
  [Op.LessEqual]: Op.GreaterEqual,
};

/**
 * The same computation with operands swapped (commutative ops) or mirrored (comparisons),
 * or undefined when the op has no such twin.
 */
const twinOf = (node: Node): Node | undefined => {
  if (node.inputs.length !== 2) return undefined;
  const swapped = [node.inputs[1]!, node.inputs[0]!];
  if (COMMUTATIVE_OPS.has(node.op)) return withInputs(node, swapped);
  const mirrored = MIRRORED[node.op];
  return mirrored === undefined ? undefined : makeNode({ op: mirrored, params: {}, inputs: swapped, shape: node.shape, dtype: node.dtype, loc: node.loc, origin: node.origin });
};

/** The first-seen form wins, so printed graphs keep the user's operand order. */
const canonicalize = (node: Node, context: RewriteContext): Node => {
  if (node.op === Op.Constant) return canonicalConstant(node);
  const twin = twinOf(node);
  return (twin === undefined ? undefined : context.existing(twin)) ?? node;
};

/**
 * Merges nodes that compute the same value, including commuted operands and equal constants.
 * @example eliminateCommonSubexpressions(buildGraph([add(x, y), add(y, x)])) // one add node
 */
export const eliminateCommonSubexpressions = (g: Graph): E.Either<CompileError, Graph> =>
  rewriteGraph(g, "eliminateCommonSubexpressions", (node, context) => E.right(canonicalize(node, context)));
