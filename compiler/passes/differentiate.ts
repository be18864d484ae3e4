/**
 * Symbolic reverse-mode differentiation.
 *
 * Takes output nodes (a loss, or several outputs with cotangents) and the nodes to
 * differentiate with respect to; returns one gradient node per wrt node, with the shape
 * and dtype of that node, or a CompileError. Pure: builds new nodes, never changes any.
 *
 * Guarantees:
 * - Reverse topological walk from the outputs; only nodes that reach an output and depend
 *   on a wrt node get a cotangent, and several cotangent contributions are added.
 * - Each gradient node is stamped with `origin` (the forward node whose rule produced it,
 *   or whose cotangent it accumulates) and that node's `loc`; a new node structurally
 *   equal to an existing one is that node (hashes ignore loc and origin).
 * - A wrt node the outputs do not depend on gets zeros of its shape (not an error).
 * - Errors (values): a wrt node or output that is i32/bool, a loss with more than one
 *   element and no cotangent, a cotangent whose shape or dtype differs from its output,
 *   and (kind "internal") a rule that fails or returns a wrong shape.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op, isFloat } from "../../src/ops.js";
import { makeNode, sameStructure, type Node, type NodeSpec } from "../../src/graph/node.js";
import { compactShape, shapesEqual } from "../../src/graph/shapes.js";
import { formatLoc } from "../../src/graph/location.js";
import { wrap, type AnyTensor } from "../../src/tensor.js";
import { add } from "../../src/dsl/elementwise.js";
import { constant } from "../../src/dsl/constructors.js";
import { applyVjpRule } from "../rules/grad.js";
import { zerosLike } from "../rules/gradSupport.js";
import { compileError, type CompileError, type CompileErrorKind } from "../errors.js";

export interface DifferentiateRequest {
  /** The expressions to differentiate, e.g. `[loss]`. */
  readonly outputs: readonly Node[];
  /** The cotangent of each output (same shape and dtype); omitted or undefined seeds a one-element output with 1. */
  readonly cotangents?: readonly (Node | undefined)[];
  /** The nodes to differentiate with respect to (leaves or intermediate values), f32 or f64. */
  readonly wrt: readonly Node[];
}

const PASS = "differentiate";
const fail = (kind: CompileErrorKind, detail: string): E.Either<CompileError, never> => E.left(compileError(PASS, kind, detail));

const typeText = (n: Node): string => `${n.dtype}${compactShape(n.shape)}`;

/** `input 'labels' i32[batch] at train.ts:12` or `sum f32[batch] at model.ts:9`. */
const describeForGrad = (n: Node): string =>
  `${n.op}${n.op === Op.Input || n.op === Op.Param ? ` '${n.params.name}'` : ""} ${typeText(n)} at ${formatLoc(n.loc)}`;

/** Nodes under `outputs`, inputs first, each once (iterative, so deep graphs are fine). */
const forwardOrder = (outputs: readonly Node[]): Node[] => {
  const order: Node[] = [];
  const done = new Set<Node>();
  const stack: { node: Node; expanded: boolean }[] = [...outputs].reverse().map((node) => ({ node, expanded: false }));
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (done.has(top.node)) continue;
    if (top.expanded) {
      done.add(top.node);
      order.push(top.node);
      continue;
    }
    stack.push({ node: top.node, expanded: true });
    for (let i = top.node.inputs.length - 1; i >= 0; i--) if (!done.has(top.node.inputs[i]!)) stack.push({ node: top.node.inputs[i]!, expanded: false });
  }
  return order;
};

const hasOneElement = (n: Node): boolean => n.shape.every((d) => d === 1);

const checkRequest = (req: DifferentiateRequest): E.Either<CompileError, void> => {
  if (req.outputs.length === 0) return fail("structure", "nothing to differentiate: no outputs given");
  if (req.cotangents !== undefined && req.cotangents.length !== req.outputs.length)
    return fail("structure", `${req.cotangents.length} cotangents for ${req.outputs.length} outputs: give one per output`);
  for (const [i, w] of req.wrt.entries())
    if (!isFloat(w.dtype)) return fail("shape", `cannot differentiate with respect to wrt[${i}], ${describeForGrad(w)}: only f32 and f64 tensors have gradients`);
  for (const [i, out] of req.outputs.entries()) {
    if (!isFloat(out.dtype)) return fail("shape", `output ${i}, ${describeForGrad(out)}, is not differentiable: only f32 and f64 values have gradients`);
    const ct = req.cotangents?.[i];
    if (ct === undefined) {
      if (!hasOneElement(out))
        return fail("shape", `output ${i}, ${describeForGrad(out)}, is not a scalar: grad needs a loss of shape [] (reduce it with sum or mean), or give a cotangent of shape ${compactShape(out.shape)} to vjp`);
    } else if (ct.dtype !== out.dtype || !shapesEqual(ct.shape, out.shape))
      return fail("shape", `cotangent ${i} is ${typeText(ct)} but output ${i}, ${describeForGrad(out)}, is ${typeText(out)}: a cotangent needs its output's shape and dtype`);
  }
  return E.right(undefined);
};

/**
 * Gives new nodes built by gradient rules their origin and location, and shares them with
 * structurally equal nodes that already exist (forward nodes, earlier gradient nodes).
 */
const makeStamper = (forward: readonly Node[]) => {
  const known = new Set<Node>(forward);
  const byHash = new Map<string, Node[]>();
  const register = (n: Node): void => {
    known.add(n);
    const bucket = byHash.get(n.hash);
    if (bucket === undefined) byHash.set(n.hash, [n]);
    else bucket.push(n);
  };
  forward.forEach(register);
  const memo = new Map<Node, Node>();
  const stamp = (raw: Node, origin: Node): Node => {
    if (known.has(raw)) return raw;
    const seen = memo.get(raw);
    if (seen !== undefined) return seen;
    const inputs = raw.inputs.map((i) => stamp(i, origin));
    const spec: NodeSpec<Op> = { op: raw.op, params: raw.params, inputs, shape: raw.shape, dtype: raw.dtype, origin, loc: origin.loc };
    const candidate = makeNode(spec);
    const same = byHash.get(candidate.hash)?.find((m) => sameStructure(m, candidate));
    const result = same ?? candidate;
    if (same === undefined) register(candidate);
    memo.set(raw, result);
    return result;
  };
  return { stamp, register };
};

/** Runs the rule of `node`, turning a thrown DSL error (a rule bug) into an internal CompileError. */
const runRule = (node: Node, cotangent: Node): E.Either<CompileError, ReturnType<typeof applyVjpRule>> => {
  try {
    const inputs: AnyTensor[] = node.inputs.map((i) => wrap(i));
    return E.right(applyVjpRule({ node, params: node.params, inputs, out: wrap(node), cotangent: wrap(cotangent) }));
  } catch (e) {
    return fail("internal", `the gradient rule of ${describeForGrad(node)} failed: ${e instanceof Error ? e.message : String(e)}`);
  }
};

/**
 * The gradient of `outputs` (weighted by their cotangents) with respect to each `wrt` node.
 * @example
 * const x = input("x", [3], "f64");
 * const [dx] = orThrow(differentiate({ outputs: [sum(square(x)).node], wrt: [x.node] })); // 2·x
 */
export const differentiate = (req: DifferentiateRequest): E.Either<CompileError, readonly Node[]> => {
  const checked = checkRequest(req);
  if (E.isLeft(checked)) return checked;
  const order = forwardOrder(req.outputs);
  const wrtSet = new Set(req.wrt);
  const dependsOnWrt = new Set<Node>();
  for (const n of order) if (wrtSet.has(n) || n.inputs.some((i) => dependsOnWrt.has(i))) dependsOnWrt.add(n);
  const { stamp, register } = makeStamper(order);
  const pending = new Map<Node, Node[]>();
  const contribute = (n: Node, ct: Node): void => {
    const parts = pending.get(n);
    if (parts === undefined) pending.set(n, [ct]);
    else parts.push(ct);
  };
  req.outputs.forEach((out, i) => {
    const given = req.cotangents?.[i];
    if (given !== undefined) register(given);
    contribute(out, given ?? stamp(constant(1, out.shape as readonly number[], out.dtype).node, out));
  });

  const cotangentOf = new Map<Node, Node>();
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k]!;
    const parts = pending.get(node);
    if (parts === undefined || !dependsOnWrt.has(node) || !isFloat(node.dtype)) continue;
    pending.delete(node);
    const ct = parts.length === 1 ? parts[0]! : stamp(parts.slice(1).reduce((acc: AnyTensor, p) => add(acc, wrap(p)), wrap(parts[0]!)).node, node);
    cotangentOf.set(node, ct);
    const wanted = node.inputs.map((i) => dependsOnWrt.has(i) && isFloat(i.dtype));
    if (!wanted.some((w) => w)) continue;
    const results = runRule(node, ct);
    if (E.isLeft(results)) return results;
    if (results.right.length !== node.inputs.length)
      return fail("internal", `the gradient rule of ${describeForGrad(node)} gave ${results.right.length} cotangents for ${node.inputs.length} inputs`);
    for (const [i, r] of results.right.entries()) {
      const input = node.inputs[i]!;
      if (!wanted[i] || typeof r === "string") continue;
      const g = stamp(r.node, node);
      if (g.dtype !== input.dtype || !shapesEqual(g.shape, input.shape))
        return fail("internal", `the gradient rule of ${describeForGrad(node)} gave ${typeText(g)} for input ${i} of type ${typeText(input)}`);
      contribute(input, g);
    }
  }
  return E.right(req.wrt.map((w) => cotangentOf.get(w) ?? stamp(zerosLike(wrap(w)).node, w)));
};
