/**
 * Compile errors: the error values of compiler passes.
 *
 * Takes a pass name, a kind, a detail and optionally the offending node and its graph;
 * guarantees a self-contained message that names the pass, the node (`%id op`), its type,
 * its inputs' types and the user's source location, e.g.
 *
 *   verifyGraph: %4 add f64[2,3] (inputs %2: f64[2,3], b: f64[4]) at model.ts:12: shape rule
 *   says: cannot broadcast [2, 3] (lhs) with [4] (rhs): 3 vs 4
 *
 * (inputs and params are named by their names, other nodes by `%id`).
 *
 * Passes return `Either<CompileError, Graph>`; the public API throws `CompileFailure`,
 * which carries the same value and message.
 */
import * as E from "fp-ts/lib/Either.js";
import type { Graph } from "../src/graph/graph.js";
import type { Node } from "../src/graph/node.js";
import { formatLoc } from "../src/graph/location.js";
import { compactShape } from "../src/graph/shapes.js";
import { Op } from "../src/ops.js";

/** What went wrong: bad shapes/dtypes, broken graph structure, a failed constant evaluation, or a pass bug. */
export type CompileErrorKind = "shape" | "structure" | "evaluation" | "internal";

export interface CompileError {
  readonly pass: string;
  readonly kind: CompileErrorKind;
  /** The full message, naming the node, its shapes and its source location when there is one. */
  readonly message: string;
  /** The offending node, when the error is about one. */
  readonly node?: Node;
}

const typeOf = (n: Node): string => `${n.dtype}${compactShape(n.shape)}`;

/** How a message refers to a node: an input/param by name, else `%id` in `graph`, else `(op type)`. */
export const nodeRef = (graph: Graph | undefined, n: Node): string => {
  if (n.op === Op.Input || n.op === Op.Param) return n.params.name;
  const id = graph?.ids.get(n);
  return id === undefined ? `(${n.op} ${typeOf(n)})` : `%${id}`;
};

/**
 * `%4 add f64[2,3] (inputs %2: f64[2,3], b: f64[4]) at model.ts:12`: how errors name a node.
 * @example describeNode(g, g.outputs[0]!) // "%5 tanh f32[batch,4] (inputs %4: f32[batch,4]) at mlp.ts:9"
 */
export const describeNode = (graph: Graph | undefined, n: Node): string => {
  const id = graph?.ids.get(n);
  const head = `${id === undefined ? "" : `%${id} `}${n.op} ${typeOf(n)}`;
  const inputs = n.inputs.length === 0 ? "" : ` (inputs ${n.inputs.map((i) => (graph?.ids.has(i) === true ? `${nodeRef(graph, i)}: ${typeOf(i)}` : nodeRef(undefined, i))).join(", ")})`;
  return `${head}${inputs} at ${formatLoc(n.loc)}`;
};

/**
 * A compile error; with a node, the message starts with the node's description.
 * @example compileError("verifyGraph", "shape", "shape rule says: ...", { graph: g, node: n })
 */
export const compileError = (
  pass: string,
  kind: CompileErrorKind,
  detail: string,
  at?: { readonly graph?: Graph | undefined; readonly node: Node },
): CompileError => ({
  pass,
  kind,
  message: at === undefined ? `${pass}: ${detail}` : `${pass}: ${describeNode(at.graph, at.node)}: ${detail}`,
  ...(at === undefined ? {} : { node: at.node }),
});

/** The thrown form of a CompileError, used at the public boundary. */
export class CompileFailure extends Error {
  override readonly name = "CompileFailure";
  constructor(readonly error: CompileError) {
    super(error.message);
  }
}

/**
 * The value of a pass result, or throws `CompileFailure` with the error's message.
 * @example const g2 = orThrow(eliminateDeadNodes(g));
 */
export const orThrow = <A>(result: E.Either<CompileError, A>): A => {
  if (E.isLeft(result)) throw new CompileFailure(result.left);
  return result.right;
};
