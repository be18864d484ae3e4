/**
 * Graph nodes: immutable op applications with shape, dtype and source location.
 *
 * Every node carries a structural hash over (op, params, dtype, shape, input hashes),
 * never over its location, so structurally identical subexpressions hash alike and
 * `buildGraph` merges them into one node.
 */
import type { DType, Op, OpParams, RuntimeShape } from "../ops.js";
import type { SourceLoc } from "./location.js";

interface NodeOf<K extends Op> {
  readonly op: K;
  readonly params: OpParams[K];
  readonly inputs: readonly Node[];
  readonly shape: RuntimeShape;
  readonly dtype: DType;
  /** Where the user's code created this node. */
  readonly loc: SourceLoc | undefined;
  /** Structural hash: equal for structurally identical subexpressions. */
  readonly hash: string;
  /** For gradient nodes: the forward node whose gradient rule produced this node. */
  readonly origin: Node | undefined;
}

/** A node of the expression graph, discriminated by `op`. */
export type Node = { [K in Op]: NodeOf<K> }[Op];
export type { NodeOf };

/** Deterministic key for params: object keys sorted, numbers as written. */
export const paramsKey = (params: unknown): string => {
  if (Array.isArray(params)) return `[${params.map(paramsKey).join(",")}]`;
  if (params !== null && typeof params === "object") {
    const entries = Object.entries(params as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${k}:${paramsKey(v)}`).join(",")}}`;
  }
  if (typeof params === "number") return Object.is(params, -0) ? "-0" : String(params);
  return JSON.stringify(params) ?? "undefined";
};

/** 53-bit string hash (cyrb53), hex. Collisions are still checked structurally when interning. */
export const hashString = (s: string, seed = 0): string => {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, "0") + (h1 >>> 0).toString(16).padStart(8, "0");
};

/** The text hashed for a node: everything that defines its value. */
export const structuralKey = (op: Op, params: unknown, dtype: DType, shape: RuntimeShape, inputs: readonly Node[]): string =>
  `${op}|${dtype}|${shape.join(",")}|${paramsKey(params)}|${inputs.map((i) => i.hash).join(",")}`;

export interface NodeSpec<K extends Op> {
  readonly op: K;
  readonly params: OpParams[K];
  readonly inputs: readonly Node[];
  readonly shape: RuntimeShape;
  readonly dtype: DType;
  readonly loc?: SourceLoc | undefined;
  readonly origin?: Node | undefined;
}

/** Creates a frozen node. Shapes must already have been checked by the caller. */
export const makeNode = <K extends Op>(spec: NodeSpec<K>): Node => {
  const node: NodeOf<K> = {
    op: spec.op,
    params: Object.freeze(spec.params) as OpParams[K],
    inputs: Object.freeze([...spec.inputs]),
    shape: Object.freeze([...spec.shape]),
    dtype: spec.dtype,
    loc: spec.loc,
    hash: hashString(structuralKey(spec.op, spec.params, spec.dtype, spec.shape, spec.inputs)),
    origin: spec.origin,
  };
  return Object.freeze(node) as unknown as Node;
};

/** Narrows a node to one op. */
export const isOp = <K extends Op>(node: Node, op: K): node is Extract<Node, { op: K }> => node.op === op;

/** Two nodes compute the same value: same op, params, dtype, shape and (identical) inputs. */
export const sameStructure = (a: Node, b: Node): boolean =>
  a.op === b.op &&
  a.dtype === b.dtype &&
  a.shape.length === b.shape.length &&
  a.shape.every((d, i) => d === b.shape[i]) &&
  a.inputs.length === b.inputs.length &&
  a.inputs.every((x, i) => x === b.inputs[i]) &&
  paramsKey(a.params) === paramsKey(b.params);
