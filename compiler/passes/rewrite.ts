/**
 * The shared machinery of rewriting passes.
 *
 * Takes a graph and a local rule (node with already-rewritten inputs -> replacement);
 * rebuilds the immutable, hash-consed nodes bottom-up and assembles a new graph.
 * Guarantees: every replacement has the replaced node's shape and dtype (else an
 * "internal" CompileError names the pass and node); nodes stay hash-consed (structurally
 * equal nodes are merged as they are made); rebuilt nodes keep their `loc`, and their
 * `origin` follows the forward node's rewrite when that node is in the graph; output
 * names are kept. Nodes that a rewrite leaves unreachable stay in `nodes` until
 * `eliminateDeadNodes` removes them, so each pass's effect on node counts is its own.
 */
import * as E from "fp-ts/lib/Either.js";
import type { Op, OpParams } from "../../src/ops.js";
import { buildGraphE, type Graph } from "../../src/graph/graph.js";
import { makeNode, sameStructure, type Node } from "../../src/graph/node.js";
import { shapesEqual } from "../../src/graph/shapes.js";
import { inferShape } from "../rules/shape.js";
import { compileError, type CompileError, type CompileErrorKind } from "../errors.js";

/** What a rule may use besides the node: the input graph, the node before rewriting, errors. */
export interface RewriteContext {
  readonly pass: string;
  /** The graph being rewritten (ids refer to it). */
  readonly graph: Graph;
  /** The node as it was in `graph`, before its inputs were rewritten. */
  readonly original: Node;
  /** An error that names the original node, its shapes and location. */
  readonly fail: (kind: CompileErrorKind, detail: string) => CompileError;
  /** A node already in the rewritten graph that is structurally equal to `node` (whose inputs must be rewritten ones). */
  readonly existing: (node: Node) => Node | undefined;
}

/** A local rewrite: gets a node whose inputs are already rewritten; returns it or a replacement. */
export type RewriteRule = (node: Node, context: RewriteContext) => E.Either<CompileError, Node>;

/** Merges structurally equal nodes as they are made, so rules can compare inputs by identity. */
export class Interner {
  private readonly byHash = new Map<string, Node[]>();
  private readonly canonical = new Set<Node>();

  /** The already-interned node structurally equal to `node`, if any (interns nothing). */
  find(node: Node): Node | undefined {
    if (this.canonical.has(node)) return node;
    return this.byHash.get(node.hash)?.find((m) => sameStructure(m, node));
  }

  /** The canonical copy of `node` (inputs interned first). */
  intern(node: Node): Node {
    if (this.canonical.has(node)) return node;
    const inputs = node.inputs.map((i) => this.intern(i));
    const rebuilt = inputs.every((x, i) => x === node.inputs[i]) ? node : withInputs(node, inputs);
    const bucket = this.byHash.get(rebuilt.hash) ?? [];
    const same = bucket.find((m) => sameStructure(m, rebuilt));
    if (same !== undefined) return same;
    bucket.push(rebuilt);
    this.byHash.set(rebuilt.hash, bucket);
    this.canonical.add(rebuilt);
    return rebuilt;
  }
}

/** A copy of `node` with other inputs (and optionally another origin); loc and params kept. */
export const withInputs = (node: Node, inputs: readonly Node[], origin: Node | undefined = node.origin): Node =>
  makeNode({ op: node.op, params: node.params, inputs, shape: node.shape, dtype: node.dtype, loc: node.loc, origin });

/**
 * A new node standing in for `from` (keeps its loc and origin); shape and dtype come from
 * the op's shape rule, so a rule cannot build an ill-typed node.
 * @example deriveNode(ctx, node, Op.BroadcastTo, [x], { shape: node.shape })
 */
export const deriveNode = <K extends Op>(
  context: RewriteContext,
  from: Node,
  op: K,
  inputs: readonly Node[],
  params: OpParams[K],
): E.Either<CompileError, Node> => {
  const info = inferShape(op, inputs, params);
  if (E.isLeft(info)) return E.left(context.fail("internal", `${context.pass} built an invalid ${op}: ${info.left}`));
  return E.right(makeNode({ op, params, inputs, shape: info.right.shape, dtype: info.right.dtype, loc: from.loc, origin: from.origin }));
};

/**
 * Nodes in an order where inputs and (in-graph) origins come first, so origins can be
 * remapped in the same sweep. Origins never depend on the nodes they annotate: a forward
 * node exists before the gradient nodes its rule makes.
 */
const rewriteOrder = (g: Graph): Node[] => {
  const order: Node[] = [];
  const state = new Map<Node, "open" | "done">();
  for (const root of g.nodes) {
    const stack: { node: Node; expanded: boolean }[] = [{ node: root, expanded: false }];
    while (stack.length > 0) {
      const top = stack.pop()!;
      const n = top.node;
      if (state.get(n) === "done") continue;
      if (top.expanded) {
        state.set(n, "done");
        order.push(n);
        continue;
      }
      if (state.get(n) === "open") continue; // reached again through another edge while open
      state.set(n, "open");
      stack.push({ node: n, expanded: true });
      const deps = n.origin !== undefined && g.ids.has(n.origin) ? [...n.inputs, n.origin] : n.inputs;
      for (let i = deps.length - 1; i >= 0; i--) if (state.get(deps[i]!) === undefined) stack.push({ node: deps[i]!, expanded: false });
    }
  }
  return order;
};

/** Assembles a graph from outputs plus extra roots (kept even when unreachable), keeping name and output names. */
export const assembleGraph = (
  pass: string,
  like: Graph,
  outputs: readonly Node[],
  extraRoots: readonly Node[] = [],
): E.Either<CompileError, Graph> => {
  const built = buildGraphE([...outputs, ...extraRoots], { name: like.name, outputNames: like.outputNames });
  if (E.isLeft(built)) return E.left(compileError(pass, "structure", built.left.message));
  return E.right({ ...built.right, outputs: built.right.outputs.slice(0, outputs.length), outputNames: like.outputNames });
};

/**
 * Applies `rule` to every node bottom-up and assembles the rewritten graph.
 * @example rewriteGraph(g, "simplifyAlgebra", (n) => E.right(n)) // an unchanged copy
 */
export const rewriteGraph = (g: Graph, pass: string, rule: RewriteRule): E.Either<CompileError, Graph> => {
  const interner = new Interner();
  const replaced = new Map<Node, Node>();
  for (const original of rewriteOrder(g)) {
    const inputs = original.inputs.map((i) => replaced.get(i) ?? i);
    const origin = original.origin === undefined ? undefined : (replaced.get(original.origin) ?? original.origin);
    const same = origin === original.origin && inputs.every((x, i) => x === original.inputs[i]);
    const node = interner.intern(same ? original : withInputs(original, inputs, origin));
    const context: RewriteContext = {
      pass,
      graph: g,
      original,
      fail: (kind, detail) => compileError(pass, kind, detail, { graph: g, node: original }),
      existing: (candidate) => interner.find(candidate),
    };
    const result = rule(node, context);
    if (E.isLeft(result)) return result;
    const out = result.right;
    if (out.dtype !== original.dtype || !shapesEqual(out.shape, original.shape))
      return E.left(context.fail("internal", `the rewrite changed its type to ${out.op} ${out.dtype}[${out.shape.join(",")}]`));
    replaced.set(original, interner.intern(out));
  }
  return assembleGraph(
    pass,
    g,
    g.outputs.map((o) => replaced.get(o) ?? o),
    g.nodes.map((n) => replaced.get(n) ?? n),
  );
};
