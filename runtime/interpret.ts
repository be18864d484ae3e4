/**
 * The reference interpreter: evaluates a graph node by node with the reference kernels.
 *
 * Takes output nodes and feeds keyed by leaf name (inputs and params alike). Binds the
 * symbolic dims from the feeds (`runtime/bind.ts`), then visits the DAG under the
 * outputs in topological order, each node once (memoized by identity), re-running the
 * op's shape rule on the concrete input shapes, so a loaded or hand-built graph is
 * checked as it runs. Guarantees: the returned values have the dtype and the concrete
 * shape of the nodes' declared shapes under the bindings; nothing is shared with the
 * feeds. Errors: FeedError (a ValidationError) for bad feeds; ShapeError naming the op,
 * the shapes and the source line when a rule fails after binding or a node's declared
 * shape disagrees with its inputs; RangeError (with op and source line) for bad indices.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op, type OpParams, type RuntimeShape } from "../src/ops.js";
import type { Node } from "../src/graph/node.js";
import { formatLoc } from "../src/graph/location.js";
import { formatShape } from "../src/graph/shapes.js";
import { ShapeError } from "../src/errors.js";
import type { AnyTensor } from "../src/tensor.js";
import { inferShape } from "../compiler/rules/shape.js";
import { runNodeKernel } from "./kernels/index.js";
import { sizeOf } from "./kernels/strided.js";
import { bindFeeds, concreteShape, formatBindings, type BindOptions, type DimBindings } from "./bind.js";
import { allocate, type TensorValue } from "./value.js";

export interface EvaluateOptions extends BindOptions {
  /** Called once per node right after it is computed (tracing, tests). */
  readonly onNode?: (node: Node, value: TensorValue) => void;
}

/**
 * Nodes under `outputs`, inputs before users, each node once (iterative: deep graphs are
 * fine). Throws on a cycle, which only hand-built node objects can have.
 * @example topologicalOrder([add(x, x).node]) // [x.node, add.node]
 */
export const topologicalOrder = (outputs: readonly Node[]): Node[] => {
  const order: Node[] = [];
  const state = new Map<Node, "open" | "done">();
  const stack: { node: Node; expanded: boolean }[] = outputs.map((node) => ({ node, expanded: false })).reverse();
  while (stack.length > 0) {
    const top = stack.pop()!;
    const seen = state.get(top.node);
    if (seen === "done") continue;
    if (top.expanded) {
      state.set(top.node, "done");
      order.push(top.node);
      continue;
    }
    if (seen === "open") throw new Error(`cycle through ${top.node.op} at ${formatLoc(top.node.loc)}`);
    state.set(top.node, "open");
    stack.push({ node: top.node, expanded: true });
    for (let i = top.node.inputs.length - 1; i >= 0; i--) {
      const input = top.node.inputs[i]!;
      if (state.get(input) !== "done") stack.push({ node: input, expanded: false });
    }
  }
  return order;
};

/** Params with their symbolic target shapes (reshape, broadcastTo, scatterAdd, leaves) made concrete. */
const bindParams = <K extends Op>(params: OpParams[K], bindings: DimBindings): E.Either<string, OpParams[K]> => {
  const shape = (params as { readonly shape?: RuntimeShape }).shape;
  if (shape === undefined || shape.every((d) => typeof d === "number")) return E.right(params);
  return E.map((concrete: number[]) => ({ ...params, shape: concrete }) as OpParams[K])(concreteShape(shape, bindings));
};

const shapesText = (inputs: readonly TensorValue[], node: Node): string =>
  inputs.map((v, i) => `${v.dtype}${formatShape(v.shape)}${node.inputs[i]!.shape.some((d) => typeof d === "string") ? ` (declared ${formatShape(node.inputs[i]!.shape)})` : ""}`).join(", ");

/** Concrete shape and dtype of `node` from its evaluated inputs, checked against its declaration. */
const resolveOutput = (node: Node, inputs: readonly TensorValue[], bindings: DimBindings, feeds: Readonly<Record<string, TensorValue>>): TensorValue => {
  if (node.op === Op.Input || node.op === Op.Param) {
    const fed = feeds[node.params.name]!;
    return { dtype: node.dtype, shape: [...fed.shape], data: allocate(node.dtype, sizeOf(fed.shape)) };
  }
  const where = `with ${formatBindings(bindings)}`;
  const params = bindParams(node.params, bindings);
  if (E.isLeft(params)) throw new ShapeError(node.op, `symbolic dim '${params.left}' in its params is not bound by any feed (${where})`, node.loc);
  const rule = inferShape(node.op, inputs, params.right);
  if (E.isLeft(rule)) throw new ShapeError(node.op, `${rule.left} (inputs ${shapesText(inputs, node)}; ${where})`, node.loc);
  const declared = concreteShape(node.shape, bindings);
  if (E.isLeft(declared)) throw new ShapeError(node.op, `its shape ${formatShape(node.shape)} uses symbolic dim '${declared.left}', which no feed binds (${where})`, node.loc);
  const shape = rule.right.shape as readonly number[];
  const same = shape.length === declared.right.length && shape.every((d, i) => d === declared.right[i]);
  if (!same || rule.right.dtype !== node.dtype)
    throw new ShapeError(
      node.op,
      `declared ${node.dtype}${formatShape(node.shape)} = ${node.dtype}${formatShape(declared.right)} but its inputs ${shapesText(inputs, node)} give ${rule.right.dtype}${formatShape(shape)} (${where})`,
      node.loc,
    );
  return { dtype: node.dtype, shape: [...shape], data: allocate(node.dtype, sizeOf(shape)) };
};

const runNode = (node: Node, inputs: readonly TensorValue[], out: TensorValue): void => {
  try {
    runNodeKernel(node, inputs, out);
  } catch (e) {
    if (e instanceof RangeError) throw new RangeError(`${node.op} at ${formatLoc(node.loc)}: ${e.message}`, { cause: e });
    throw e;
  }
};

/**
 * Evaluates `outputs` with the reference kernels. `feeds` maps each input and param name
 * to a value; symbolic dims are bound from the feeds' shapes.
 * @example
 * const x = input("x", [sym("batch"), 2], "f64");
 * const [y] = evaluate([sum(x, 1).node], { x: tensorValue("f64", [1, 2], [3, 4]) }); // y.data = [7]
 */
export const evaluate = (
  outputs: readonly Node[],
  feeds: Readonly<Record<string, TensorValue>>,
  options: EvaluateOptions = {},
): TensorValue[] => {
  const order = topologicalOrder(outputs);
  const bound = bindFeeds(order, feeds, options);
  if (E.isLeft(bound)) throw bound.left;
  const bindings = bound.right;
  const values = new Map<Node, TensorValue>();
  for (const node of order) {
    const leafFeed = node.op === Op.Input || node.op === Op.Param ? [feeds[node.params.name]!] : undefined;
    const inputs = leafFeed ?? node.inputs.map((i) => values.get(i)!);
    const out = resolveOutput(node, inputs, bindings, feeds);
    runNode(node, inputs, out);
    values.set(node, out);
    options.onNode?.(node, out);
  }
  return outputs.map((o) => values.get(o)!);
};

/**
 * `evaluate` over tensors.
 * @example const [probs] = evaluateTensors([softmax(logits)], { logits: tensorValue("f32", [2, 3], data) });
 */
export const evaluateTensors = (
  tensors: readonly AnyTensor[],
  feeds: Readonly<Record<string, TensorValue>>,
  options: EvaluateOptions = {},
): TensorValue[] => evaluate(tensors.map((t) => t.node), feeds, options);
