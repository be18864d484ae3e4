/**
 * batchExamples: a graph-level vmap.
 *
 * Takes a graph written for one example (say a loss and its gradients for `x: [784]`,
 * `label: []`) and the names of its per-example inputs; returns an ordinary graph that
 * computes every output for a whole batch in one program. Guarantees:
 * - each named input gets a new leading batch dim (same name, shape `[batch, ...shape]`);
 *   every other leaf (params, constants, other inputs) is shared by all examples and
 *   keeps its shape;
 * - every output gets the leading batch dim (outputs that depend on no per-example input
 *   are broadcast), so for every example b, `output[b]` equals the per-example graph's
 *   output on that example's inputs — up to float rounding where a rule reorders sums;
 * - nodes that depend on no per-example input are kept as they are (computed once);
 *   new nodes keep the source location of the node they batch, and gradient nodes keep
 *   (the batched version of) their forward origin;
 * - output names and the graph name are kept.
 * Errors (values): an unknown or non-input name, a symbolic batch dim whose name the graph
 * already uses (or that no feed could bind, because no output depends on a per-example
 * input), an invalid batch dim, and an op whose batching rule refuses (the message names
 * the node, its shapes and the user's source line, and why).
 */
import * as E from "fp-ts/lib/Either.js";
import { Op, type RuntimeDim } from "../../src/ops.js";
import { buildGraphE, type Graph } from "../../src/graph/graph.js";
import { makeNode, type Node } from "../../src/graph/node.js";
import { compactShape, formatShape, shapesEqual } from "../../src/graph/shapes.js";
import { wrap } from "../../src/tensor.js";
import { compileError, type CompileError } from "../errors.js";
import { applyBatchRule, type BatchValue } from "../rules/batchRules.js";
import { applyOp } from "../rules/batchSupport.js";

const PASS = "batchExamples";

export interface BatchExamplesOptions {
  /** Names of the per-example inputs (default: every input of the graph). */
  readonly inputs?: readonly string[];
  /** The new leading dim: a positive size or a symbolic name (default "batch"). */
  readonly batch?: RuntimeDim;
}

const validBatch = (b: RuntimeDim): boolean =>
  typeof b === "number" ? Number.isSafeInteger(b) && b >= 1 : /^[A-Za-z_][A-Za-z0-9_]*$/.test(b);

const checkOptions = (g: Graph, names: readonly string[], batch: RuntimeDim): E.Either<CompileError, void> => {
  if (!validBatch(batch)) return E.left(compileError(PASS, "structure", `batch dim ${JSON.stringify(batch)} must be a positive integer or a symbolic name`));
  const inputNames = g.nodes.flatMap((n) => (n.op === Op.Input ? [n.params.name] : []));
  for (const name of names) {
    if (inputNames.includes(name)) continue;
    const leaf = g.nodes.find((n) => (n.op === Op.Param || n.op === Op.Input) && n.params.name === name);
    const why = leaf === undefined ? "is not a leaf of the graph" : "is a param: params are shared by all examples";
    return E.left(compileError(PASS, "structure", `'${name}' ${why} (the graph's inputs are ${inputNames.map((n) => `'${n}'`).join(", ") || "none"})`));
  }
  if (typeof batch === "string") {
    const user = g.nodes.find((n) => n.shape.includes(batch));
    if (user !== undefined)
      return E.left(compileError(PASS, "structure", `the batch dim '${batch}' is already a dim of the graph: choose another name`, { graph: g, node: user }));
  }
  return E.right(undefined);
};

/**
 * Rebuilds the nodes a rule made (those not in `known`) with the location of the node they
 * batch and its (batched) origin, so errors and dumps point at the user's line.
 */
const stampNew = (raw: Node, known: ReadonlySet<Node>, memo: Map<Node, Node>, like: Node, origin: Node | undefined): Node => {
  if (known.has(raw)) return raw;
  const seen = memo.get(raw);
  if (seen !== undefined) return seen;
  const inputs = raw.inputs.map((i) => stampNew(i, known, memo, like, origin));
  const stamped = makeNode({ op: raw.op, params: raw.params, inputs, shape: raw.shape, dtype: raw.dtype, loc: like.loc, origin });
  memo.set(raw, stamped);
  return stamped;
};

const batchedLeaf = (n: Extract<Node, { op: typeof Op.Input }>, batch: RuntimeDim): Node => {
  const shape = [batch, ...n.shape];
  return makeNode({ op: Op.Input, params: { ...n.params, shape }, inputs: [], shape, dtype: n.dtype, loc: n.loc });
};

/**
 * Rewrites a per-example graph into one that computes all examples of a batch at once.
 * @example
 * const x = input("x", [784]);
 * const g = buildGraph({ loss, dW: grad(loss, W) });            // for one example
 * const batched = orThrow(batchExamples(g, { inputs: ["x", "label"], batch: "batch" }));
 * // batched: x f32[batch,784], label i32[batch] -> loss f32[batch], dW f32[batch,784,10]
 */
export const batchExamples = (g: Graph, options: BatchExamplesOptions = {}): E.Either<CompileError, Graph> => {
  const batch = options.batch ?? "batch";
  const names = options.inputs ?? g.nodes.flatMap((n) => (n.op === Op.Input ? [n.params.name] : []));
  const checked = checkOptions(g, names, batch);
  if (E.isLeft(checked)) return checked;
  const perExample = new Set(names);
  const values = new Map<Node, BatchValue>();
  const known = new Set<Node>(g.nodes);
  const valueOf = (n: Node): BatchValue => values.get(n) ?? { tensor: wrap(n), batched: false };
  for (const node of g.nodes) {
    if (node.op === Op.Input && perExample.has(node.params.name)) {
      const leaf = batchedLeaf(node, batch);
      known.add(leaf);
      values.set(node, { tensor: wrap(leaf), batched: true });
      continue;
    }
    const inputs = node.inputs.map(valueOf);
    if (!inputs.some((v) => v.batched)) continue; // shared by all examples: the node itself
    const fail = (kind: "structure" | "internal", detail: string): E.Either<CompileError, never> =>
      E.left(compileError(PASS, kind, detail, { graph: g, node }));
    let result: E.Either<string, ReturnType<typeof wrap>>;
    try {
      result = applyBatchRule({ node, params: node.params, inputs, batch });
    } catch (e) {
      return fail("internal", `the batching rule of ${node.op} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (E.isLeft(result)) return fail("structure", `cannot compute ${node.op} for a batch of examples: ${result.left}`);
    const origin = node.origin === undefined ? undefined : (values.get(node.origin)?.tensor.node ?? node.origin);
    const out = stampNew(result.right.node, known, new Map(), node, origin);
    const want = [batch, ...node.shape];
    if (out.dtype !== node.dtype || !shapesEqual(out.shape, want))
      return fail("internal", `the batching rule of ${node.op} gave ${out.dtype}${compactShape(out.shape)}, expected ${node.dtype}${compactShape(want)}`);
    known.add(out);
    values.set(node, { tensor: wrap(out), batched: true });
  }
  if (typeof batch === "string" && !g.outputs.some((o) => valueOf(o).batched))
    return E.left(
      compileError(PASS, "structure", `no output depends on a per-example input (${names.map((n) => `'${n}'`).join(", ") || "none given"}), so no feed could bind the symbolic batch dim '${batch}': give a concrete batch size`),
    );
  const outputs = g.outputs.map((o) => {
    const v = valueOf(o);
    return v.batched ? v.tensor.node : applyOp(Op.BroadcastTo, [v.tensor], { shape: [batch, ...o.shape] }).node;
  });
  const built = buildGraphE(outputs, { name: g.name, outputNames: g.outputNames });
  if (E.isLeft(built)) return E.left(compileError(PASS, "structure", `${built.left.message} (batching over ${formatShape([batch])})`));
  return built;
};
