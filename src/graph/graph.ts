/**
 * Graphs: the hash-consed DAG reachable from a list of outputs.
 *
 * Takes output nodes; returns nodes in a deterministic topological order (leaves first,
 * in order of first use, then ops in post-order), with structurally identical
 * subexpressions merged into one node. Ids are positions in that order.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op } from "../ops.js";
import { makeNode, sameStructure, type Node } from "./node.js";
import { formatShape } from "./shapes.js";
import { formatLoc } from "./location.js";
import type { AnyTensor } from "../tensor.js";

export interface Graph {
  readonly name: string;
  /** All nodes, topologically ordered; `nodes[i]` has id i. */
  readonly nodes: readonly Node[];
  readonly outputs: readonly Node[];
  /** Output names, parallel to `outputs`. */
  readonly outputNames: readonly string[];
  readonly ids: ReadonlyMap<Node, number>;
}

export interface GraphError {
  readonly message: string;
}

const isLeaf = (n: Node): boolean => n.op === Op.Input || n.op === Op.Param || n.op === Op.Constant;
const leafName = (n: Node): string | undefined => (n.op === Op.Input || n.op === Op.Param ? n.params.name : undefined);

/**
 * Interns the DAG under `outputs`: every node is replaced by its canonical copy
 * (inputs canonical, structurally equal nodes shared). Iterative, so deep graphs are fine.
 */
const intern = (outputs: readonly Node[]): E.Either<GraphError, { canon: Map<Node, Node>; order: Node[] }> => {
  const canon = new Map<Node, Node>();
  const byHash = new Map<string, Node[]>();
  const names = new Map<string, Node>();
  const order: Node[] = [];
  const stack: { node: Node; expanded: boolean }[] = [...outputs].reverse().map((node) => ({ node, expanded: false }));
  const onStack = new Set<Node>();
  while (stack.length > 0) {
    const top = stack.pop()!;
    const n = top.node;
    if (canon.has(n)) continue;
    if (!top.expanded) {
      if (onStack.has(n)) return E.left({ message: `cycle through ${n.op} at ${formatLoc(n.loc)}` });
      onStack.add(n);
      stack.push({ node: n, expanded: true });
      for (let i = n.inputs.length - 1; i >= 0; i--) {
        const inp = n.inputs[i]!;
        if (!canon.has(inp)) stack.push({ node: inp, expanded: false });
      }
      continue;
    }
    onStack.delete(n);
    const inputs = n.inputs.map((i) => canon.get(i)!);
    const rebuilt = inputs.every((x, i) => x === n.inputs[i]) ? n : makeNode({ ...n, inputs });
    const bucket = byHash.get(rebuilt.hash) ?? [];
    const same = bucket.find((m) => sameStructure(m, rebuilt));
    if (same !== undefined) {
      canon.set(n, same);
      continue;
    }
    const name = leafName(rebuilt);
    if (name !== undefined) {
      const prior = names.get(name);
      if (prior !== undefined)
        return E.left({
          message: `two leaves are named '${name}': ${prior.op} ${prior.dtype}${formatShape(prior.shape)} at ${formatLoc(prior.loc)} and ${rebuilt.op} ${rebuilt.dtype}${formatShape(rebuilt.shape)} at ${formatLoc(rebuilt.loc)}`,
        });
      names.set(name, rebuilt);
    }
    bucket.push(rebuilt);
    byHash.set(rebuilt.hash, bucket);
    canon.set(n, rebuilt);
    order.push(rebuilt);
  }
  return E.right({ canon, order });
};

/** Builds the graph of `outputs`, or an error for cycles and conflicting leaf names. */
export const buildGraphE = (
  outputs: readonly Node[],
  options: { name?: string; outputNames?: readonly string[] } = {},
): E.Either<GraphError, Graph> =>
  E.map(({ canon, order }: { canon: Map<Node, Node>; order: Node[] }) => {
    const nodes = [...order.filter(isLeaf), ...order.filter((n) => !isLeaf(n))];
    const ids = new Map<Node, number>(nodes.map((n, i) => [n, i]));
    return {
      name: options.name ?? "graph",
      nodes,
      outputs: outputs.map((o) => canon.get(o)!),
      outputNames: options.outputNames ?? outputs.map((_, i) => `out${i}`),
      ids,
    };
  })(intern(outputs));

/** A graph from tensors, or from a record of named tensors. Throws on cycles or conflicting names. */
export const buildGraph = (
  outputs: AnyTensor | readonly AnyTensor[] | Readonly<Record<string, AnyTensor>>,
  name = "graph",
): Graph => {
  const entries: [string, AnyTensor][] =
    "node" in outputs && !Array.isArray(outputs)
      ? [["out", outputs as AnyTensor]]
      : Array.isArray(outputs)
        ? (outputs as readonly AnyTensor[]).map((t, i) => [`out${i}`, t])
        : Object.entries(outputs as Readonly<Record<string, AnyTensor>>);
  const g = buildGraphE(
    entries.map(([, t]) => t.node),
    { name, outputNames: entries.map(([k]) => k) },
  );
  if (E.isLeft(g)) throw new Error(`graph ${name}: ${g.left.message}`);
  return g.right;
};

/** Leaves that are fed at run time (inputs), in id order. */
export const graphInputs = (g: Graph): Node[] => g.nodes.filter((n) => n.op === Op.Input);
/** Trainable parameters, in id order. */
export const graphParams = (g: Graph): Node[] => g.nodes.filter((n) => n.op === Op.Param);

/** Ids of each node's consumers. */
export const consumersOf = (g: Graph): Map<Node, Node[]> => {
  const m = new Map<Node, Node[]>(g.nodes.map((n) => [n, []]));
  for (const n of g.nodes) for (const i of n.inputs) m.get(i)?.push(n);
  return m;
};
