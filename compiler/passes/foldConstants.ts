/**
 * Constant folding.
 *
 * Takes a graph; returns one where every node whose inputs are all constants (so,
 * bottom-up, every subgraph whose leaves are all constants) is evaluated with the
 * reference interpreter and replaced by a constant node holding the result, same dtype
 * and shape, keeping the node's loc and origin. A uniform result is stored as one value.
 * Limit: results with more than `maxElements` elements (default 4096) are not folded, so
 * a large broadcast of a scalar stays `broadcastTo` of a one-element constant instead of
 * becoming a large literal; the ops below it still fold. Leaves (inputs, params) and
 * nodes with symbolic dims are never folded. A failed evaluation (say a constant gather
 * index out of range) is an "evaluation" CompileError naming the node.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op } from "../../src/ops.js";
import type { Graph } from "../../src/graph/graph.js";
import { makeNode, type Node } from "../../src/graph/node.js";
import { isConcrete, numel } from "../../src/graph/shapes.js";
import type { TensorValue } from "../../runtime/value.js";
import { evaluate } from "../../runtime/interpret.js";
import type { CompileError } from "../errors.js";
import { rewriteGraph, type RewriteContext } from "./rewrite.js";

/** Results larger than this many elements stay as computations. */
export const DEFAULT_FOLD_LIMIT = 4096;

export interface FoldOptions {
  /** Largest result (in elements) that is replaced by a literal. Default 4096. */
  readonly maxElements?: number;
  /** Evaluates nodes over constants; defaults to the reference interpreter. */
  readonly evaluate?: (outputs: readonly Node[], feeds: Record<string, TensorValue>) => TensorValue[];
}

const isFoldable = (node: Node, maxElements: number): boolean =>
  node.op !== Op.Input &&
  node.op !== Op.Param &&
  node.op !== Op.Constant &&
  node.inputs.length > 0 &&
  node.inputs.every((i) => i.op === Op.Constant) &&
  isConcrete(node.shape) &&
  numel(node.shape) <= maxElements;

/** The literal for a computed value; a uniform value is stored once. `-0` and `0` stay apart. */
const literalOf = (node: Node, value: TensorValue): Node => {
  const values = Array.from(value.data, Number);
  const uniform = values.length > 1 && values.every((v) => Object.is(v, values[0]));
  return makeNode({
    op: Op.Constant,
    params: { values: uniform ? [values[0]!] : values, shape: node.shape, dtype: node.dtype },
    inputs: [],
    shape: node.shape,
    dtype: node.dtype,
    loc: node.loc,
    origin: node.origin,
  });
};

const fold = (node: Node, context: RewriteContext, options: Required<FoldOptions>): E.Either<CompileError, Node> => {
  if (!isFoldable(node, options.maxElements)) return E.right(node);
  let value: TensorValue | undefined;
  try {
    value = options.evaluate([node], {})[0];
  } catch (e) {
    return E.left(context.fail("evaluation", `evaluating it over constants failed: ${e instanceof Error ? e.message : String(e)}`));
  }
  const n = numel(node.shape as readonly number[]);
  if (value === undefined || value.data.length !== n || value.dtype !== node.dtype)
    return E.left(context.fail("internal", `the interpreter returned ${value === undefined ? "nothing" : `${value.dtype} with ${value.data.length} elements`} for ${node.dtype} with ${n}`));
  return E.right(literalOf(node, value));
};

/**
 * Folds a graph's constant subgraphs into constants.
 * @example foldConstants(buildGraph(add(x, mul(scalar(2), scalar(3))))) // add x (constant 6)
 */
export const foldConstantsWith =
  (options: FoldOptions = {}) =>
  (g: Graph): E.Either<CompileError, Graph> => {
    const full: Required<FoldOptions> = { maxElements: options.maxElements ?? DEFAULT_FOLD_LIMIT, evaluate: options.evaluate ?? evaluate };
    return rewriteGraph(g, "foldConstants", (node, context) => fold(node, context, full));
  };

/**
 * Folds a graph's constant subgraphs into constants, up to 4096 elements per result.
 * @example foldConstants(buildGraph(exp(scalar(0)))) // Right(graph of constant 1)
 */
export const foldConstants = (g: Graph): E.Either<CompileError, Graph> => foldConstantsWith()(g);
