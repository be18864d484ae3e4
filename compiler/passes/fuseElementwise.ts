/**
 * Elementwise fusion: partitions a graph's elementwise nodes into groups that one
 * generated loop can compute.
 *
 * Takes a graph. Returns a `FusionPlan`: every fusible node (unary math, binary
 * arithmetic, comparisons, where, cast, mulNoNan, with an f32, f64 or bool result) belongs
 * to exactly one group. A group has one root, the only member whose value is needed
 * outside the group (by another node or as a graph output); every other member has the
 * root's shape and only consumers inside the group, so nothing but the root is ever
 * materialized. Groups are maximal under those rules, grown from the root through its
 * inputs, up to `MAX_GROUP_MEMBERS`. External inputs may have any shape that broadcasts
 * to the root's. Reductions,
 * matmul and data movement are never members. Pure; the graph is not changed.
 *
 * i32 results are left out: int32 wrap-around happens on store, which a fused loop would
 * skip for intermediates.
 */
import * as E from "fp-ts/lib/Either.js";
import { BINARY_OPS, COMPARE_OPS, Op, UNARY_OPS } from "../../src/ops.js";
import type { Graph } from "../../src/graph/graph.js";
import type { Node } from "../../src/graph/node.js";
import { shapesEqual } from "../../src/graph/shapes.js";
import { compileError, type CompileError } from "../errors.js";

/** Ops a fused loop computes. */
export const FUSIBLE_OPS = [...UNARY_OPS, ...BINARY_OPS, ...COMPARE_OPS, Op.Where, Op.Cast] as const;
export type FusibleOp = (typeof FUSIBLE_OPS)[number];
export type FusibleNode = Extract<Node, { op: FusibleOp }>;

const fusibleOps: ReadonlySet<string> = new Set<string>(FUSIBLE_OPS);

/** Most members of one group: V8 stops optimizing very large generated functions. */
export const MAX_GROUP_MEMBERS = 128;

/**
 * Whether a fused loop can compute `node`.
 * @example isFusible(tanh(x).node) // true for f32/f64 x
 */
export const isFusible = (node: Node): node is FusibleNode => fusibleOps.has(node.op) && node.dtype !== "i32";

/** One fused loop: `members` in topological order, the root last; `inputs` are the values read from outside. */
export interface FusedGroup {
  readonly root: FusibleNode;
  readonly members: readonly FusibleNode[];
  /** Distinct non-member inputs of members, in order of first use. */
  readonly inputs: readonly Node[];
}

export interface FusionPlan {
  /** Groups in topological order of their roots. */
  readonly groups: readonly FusedGroup[];
  /** The group of every fusible node. */
  readonly groupOf: ReadonlyMap<Node, FusedGroup>;
}

/** A max-heap of node ids, so a node is considered only after all its in-group consumers. */
class IdHeap {
  private readonly items: number[] = [];
  push(id: number): void {
    const a = this.items;
    a.push(id);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! >= a[i]!) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }
  pop(): number | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const [l, r] = [2 * i + 1, 2 * i + 2];
        let m = i;
        if (l < a.length && a[l]! > a[m]!) m = l;
        if (r < a.length && a[r]! > a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Groups the fusible nodes of `g`.
 * @example
 * const y = tanh(add(matmul(x, W), b));           // add and tanh: one group rooted at tanh
 * const plan = fuseElementwise(buildGraph(y));    // Right({ groups: [{ root: tanh, members: [add, tanh], inputs: [matmul, b] }] })
 */
export const fuseElementwise = (g: Graph): E.Either<CompileError, FusionPlan> => {
  const consumers = new Map<Node, Node[]>(g.nodes.map((n) => [n, []]));
  for (const n of g.nodes)
    for (const i of n.inputs) {
      const list = consumers.get(i);
      if (list === undefined) return E.left(compileError("fuseElementwise", "structure", `an input (${i.op}) is not a node of graph ${g.name}`, { graph: g, node: n }));
      list.push(n);
    }
  const outputs = new Set(g.outputs);
  const owner = new Map<Node, number>();
  const found: { root: FusibleNode; members: FusibleNode[] }[] = [];
  for (let id = g.nodes.length - 1; id >= 0; id--) {
    const root = g.nodes[id]!;
    if (!isFusible(root) || owner.has(root)) continue;
    const index = found.length;
    const members: FusibleNode[] = [];
    const heap = new IdHeap();
    heap.push(id);
    const queued = new Set<number>([id]);
    for (let next = heap.pop(); next !== undefined; next = heap.pop()) {
      const n = g.nodes[next]! as FusibleNode;
      owner.set(n, index);
      members.push(n);
      for (const input of n.inputs) {
        const inputId = g.ids.get(input)!;
        if (queued.size >= MAX_GROUP_MEMBERS) break;
        if (queued.has(inputId) || !isFusible(input) || owner.has(input) || outputs.has(input)) continue;
        if (!shapesEqual(input.shape, root.shape)) continue;
        // All consumers have larger ids, so they were visited already if they are members.
        if (!consumers.get(input)!.every((c) => owner.get(c) === index)) continue;
        queued.add(inputId);
        heap.push(inputId);
      }
    }
    found.push({ root, members: members.reverse() });
  }
  const groups: FusedGroup[] = found.reverse().map(({ root, members }) => {
    const inside = new Set<Node>(members);
    const inputs: Node[] = [];
    const seen = new Set<Node>();
    for (const m of members)
      for (const i of m.inputs)
        if (!inside.has(i) && !seen.has(i)) {
          seen.add(i);
          inputs.push(i);
        }
    return { root, members, inputs };
  });
  const groupOf = new Map<Node, FusedGroup>();
  for (const group of groups) for (const m of group.members) groupOf.set(m, group);
  return E.right({ groups, groupOf });
};
