/**
 * Substituting inputs: the same expressions with some input leaves replaced by other
 * expressions of the same shape and dtype (say, a model evaluated at a baseline instead
 * of at its input). A graph rewrite (`rewriteGraph`), so the result is hash-consed, keeps
 * source locations, and nothing is copied that does not depend on a replaced input.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op } from "../ops.js";
import { buildGraphE } from "../graph/graph.js";
import type { Node } from "../graph/node.js";
import { compactShape } from "../graph/shapes.js";
import { wrap, type AnyTensor } from "../tensor.js";
import { rewriteGraph } from "../../compiler/passes/rewrite.js";
import { CompileFailure, compileError } from "../../compiler/errors.js";

const PASS = "substituteInputs";

/**
 * `outputs` with every input leaf named in `replacements` replaced by its expression (same
 * shape and dtype, else CompileFailure naming the input). Returns the new outputs in order.
 * @example
 * const [atBaseline] = substituteInputs([logits], { x: zeros([8, 784]) }); // logits at x = 0
 */
export const substituteInputs = (outputs: readonly AnyTensor[], replacements: Readonly<Record<string, AnyTensor>>): AnyTensor[] => {
  const built = buildGraphE(outputs.map((t) => t.node), { name: PASS });
  if (E.isLeft(built)) throw new CompileFailure(compileError(PASS, "structure", built.left.message));
  const g = built.right;
  for (const n of g.nodes) {
    if (n.op !== Op.Input) continue;
    const r = replacements[n.params.name];
    if (r !== undefined && (r.node.dtype !== n.dtype || compactShape(r.node.shape) !== compactShape(n.shape)))
      throw new CompileFailure(
        compileError(PASS, "shape", `the replacement of input '${n.params.name}' is ${r.node.dtype}${compactShape(r.node.shape)}, the input is ${n.dtype}${compactShape(n.shape)}`),
      );
  }
  const rewritten = rewriteGraph(g, PASS, (n: Node) => {
    const r = n.op === Op.Input ? replacements[n.params.name] : undefined;
    return E.right(r === undefined ? n : r.node);
  });
  if (E.isLeft(rewritten)) throw new CompileFailure(rewritten.left);
  return rewritten.right.outputs.map((o) => wrap(o));
};
