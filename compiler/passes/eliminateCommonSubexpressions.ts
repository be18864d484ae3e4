/**
 * Common-subexpression elimination.
 *
 * Takes a graph; returns an equivalent graph in which no two nodes compute the same
 * value by the same op: structurally identical nodes are merged (hash-consing), operands
 * of commutative ops (add, mul, maximum, minimum, equal, notEqual) are put in a canonical
 * order (by structural hash) so `a+b` and `b+a` become one node, `a > b` / `a >= b` become
 * `b < a` / `b <= a`, and constants are put in
 * a canonical form (a uniform constant stores one value) so equal constants merge.
 * Guarantees the same values, shapes and dtypes for every output; mulNoNan, sub, div,
 * pow and the comparisons other than equal/notEqual keep their operand order.
 * Swapping is exact because broadcasting is symmetric and these kernels are symmetric in
 * IEEE arithmetic (maximum/minimum propagate NaN from either side).
 */
import * as E from "fp-ts/lib/Either.js";
import { Op } from "../../src/ops.js";
import { makeNode, type Node } from "../../src/graph/node.js";
import type { Graph } from "../../src/graph/graph.js";
import type { CompileError } from "../errors.js";
import { rewriteGraph, withInputs } from "./rewrite.js";

/** Ops whose two operands may be swapped without changing any value. */
export const COMMUTATIVE_OPS: ReadonlySet<Op> = new Set<Op>([Op.Add, Op.Mul, Op.Maximum, Op.Minimum, Op.Equal, Op.NotEqual]);

/** A uniform constant stores its value once; `-0` and `0` stay different (1/x tells them apart). */
const canonicalConstant = (node: Extract<Node, { op: "constant" }>): Node => {
  const vs = node.params.values;
  if (vs.length <= 1 || !vs.every((v) => Object.is(v, vs[0]))) return node;
  return makeNode({ ...node, params: { ...node.params, values: [vs[0]!] } });
};

/** `a > b` is `b < a` and `a >= b` is `b <= a` for every input, NaN included (all false). */
const MIRRORED: Partial<Record<Op, typeof Op.Less | typeof Op.LessEqual>> = { [Op.Greater]: Op.Less, [Op.GreaterEqual]: Op.LessEqual };

const canonicalize = (node: Node): Node => {
  if (node.op === Op.Constant) return canonicalConstant(node);
  const mirrored = MIRRORED[node.op];
  if (mirrored !== undefined) return makeNode({ ...node, op: mirrored, params: {}, inputs: [node.inputs[1]!, node.inputs[0]!] });
  if (!COMMUTATIVE_OPS.has(node.op)) return node;
  const [a, b] = [node.inputs[0]!, node.inputs[1]!];
  return a.hash > b.hash ? withInputs(node, [b, a]) : node;
};

/**
 * Merges nodes that compute the same value, including commuted operands and equal constants.
 * @example eliminateCommonSubexpressions(buildGraph([add(x, y), add(y, x)])) // one add node
 */
export const eliminateCommonSubexpressions = (g: Graph): E.Either<CompileError, Graph> =>
  rewriteGraph(g, "eliminateCommonSubexpressions", (node) => E.right(canonicalize(node)));
