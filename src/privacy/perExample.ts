/**
 * Per-example computations as graph rewrites.
 *
 * `vectorize` turns tensors built for one example (say `x: [784]`, `label: []`) into
 * tensors for a whole batch, each with a new leading batch dim, by running the
 * `batchExamples` pass (a graph-level vmap): the result is an ordinary graph, computed in
 * one program, not a JavaScript loop over examples. `perExampleGradients` applies it to a
 * loss and its gradients, giving every example's own gradient — what DP-SGD clips.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op, type DType, type RuntimeDim } from "../ops.js";
import type { Dim, Shape, Sym } from "../types/dims.js";
import { buildGraphE } from "../graph/graph.js";
import type { Node } from "../graph/node.js";
import { wrap, type AnyTensor, type Tensor } from "../tensor.js";
import { ValidationError } from "../errors.js";
import { grad, type Gradients, type WrtTensors } from "../autodiff.js";
import { batchExamples } from "../../compiler/passes/batchExamples.js";
import { CompileFailure, compileError } from "../../compiler/errors.js";

/** A tensor type with a leading batch dim `B`. */
export type WithBatchDim<T, B extends Dim> = T extends Tensor<infer S, infer D> ? Tensor<readonly [B, ...S], D> : never;

/** Tensors (one, a tuple or a record) each with a leading batch dim `B`. */
export type Vectorized<O, B extends Dim> = O extends AnyTensor ? WithBatchDim<O, B> : { readonly [K in keyof O]: WithBatchDim<O[K], B> };

/** What `vectorize` accepts: one tensor, an array (tuple) or a record of tensors. */
export type TensorTree = AnyTensor | readonly AnyTensor[] | Readonly<Record<string, AnyTensor>>;

export interface VectorizeOptions<B extends Dim> {
  /** The per-example inputs (`input(...)` leaves); default: every input the tensors depend on. Params are always shared. */
  readonly over?: readonly AnyTensor[];
  /** The new leading dim: a symbolic dim or a size (default `sym("batch")`). */
  readonly batch?: B;
}

const isTensor = (t: unknown): t is AnyTensor => typeof t === "object" && t !== null && "node" in t && typeof (t as { node: unknown }).node === "object";

const entriesOf = (tree: TensorTree): [string, AnyTensor][] =>
  isTensor(tree)
    ? [["out", tree]]
    : Array.isArray(tree)
      ? (tree as readonly AnyTensor[]).map((t, i): [string, AnyTensor] => [`out${i}`, t])
      : Object.entries(tree as Readonly<Record<string, AnyTensor>>);

const rebuild = <O extends TensorTree>(tree: O, nodes: readonly Node[]): TensorTree => {
  const tensors = nodes.map((n) => wrap(n));
  if (isTensor(tree)) return tensors[0]!;
  if (Array.isArray(tree)) return tensors;
  return Object.fromEntries(Object.keys(tree).map((k, i) => [k, tensors[i]!]));
};

const inputNamesOf = (over: readonly AnyTensor[]): string[] =>
  over.map((t, i) => {
    const n = t.node;
    if (n.op !== Op.Input) throw new ValidationError(`must be an input(...) leaf (params are shared by all examples), got ${n.op} ${n.dtype}[${n.shape.join(",")}]`, `options.over[${i}]`);
    return n.params.name;
  });

/** The runtime form of a static dim (`sym("batch")` is the string "batch" at run time); default "batch". */
const runtimeDim = (d: Dim | undefined): RuntimeDim => (d === undefined ? "batch" : (d as unknown as RuntimeDim));

/**
 * The untyped core of `vectorize`: the batched outputs (in the tree's order) and the
 * batched per-example input leaves by name. Throws CompileFailure or ValidationError.
 * @example const { outputs, inputs } = vectorizeNodes({ loss }, [x], "batch"); // inputs.x: [batch, ...]
 */
export const vectorizeNodes = (
  tree: TensorTree,
  over: readonly AnyTensor[] | undefined,
  batch: Dim | undefined,
): { readonly outputs: readonly Node[]; readonly inputs: Readonly<Record<string, AnyTensor>> } => {
  const entries = entriesOf(tree);
  const built = buildGraphE(entries.map(([, t]) => t.node), { name: "vectorize", outputNames: entries.map(([k]) => k) });
  if (E.isLeft(built)) throw new CompileFailure(compileError("vectorize", "structure", built.left.message));
  const names = over === undefined ? undefined : inputNamesOf(over);
  const result = batchExamples(built.right, { ...(names === undefined ? {} : { inputs: names }), batch: runtimeDim(batch) });
  if (E.isLeft(result)) throw new CompileFailure(result.left);
  const g = result.right;
  const batchedNames = new Set(names ?? built.right.nodes.flatMap((n) => (n.op === Op.Input ? [n.params.name] : [])));
  const inputs = Object.fromEntries(g.nodes.flatMap((n) => (n.op === Op.Input && batchedNames.has(n.params.name) ? [[n.params.name, wrap(n)]] : [])));
  return { outputs: g.outputs, inputs };
};

/**
 * Tensors built for one example, computed for a whole batch: each per-example input gets
 * a leading batch dim (same name), params stay shared, and every result has the leading
 * batch dim. Feed the batched inputs under their names. Throws CompileFailure naming the
 * op and source line of anything that cannot be batched.
 * @example
 * const x = input("x", [784]);                         // one example
 * const h = relu(add(matmul(reshape(x, [1, 784]), W), b));
 * const hs = vectorize(h, { over: [x] });             // Tensor<[batch, 1, 256], "f32">; feed x as [batch, 784]
 */
export const vectorize = <const O extends TensorTree, const B extends Dim = Sym<"batch">>(outputs: O, options: VectorizeOptions<B> = {}): Vectorized<O, B> => {
  const { outputs: nodes } = vectorizeNodes(outputs, options.over, options.batch);
  return rebuild(outputs, nodes) as Vectorized<O, B>;
};

/** Every example's loss and gradients, each with a leading batch dim. */
export interface PerExampleGradients<W extends WrtTensors, B extends Dim, D extends DType> {
  /** The loss of each example: `[batch]`. */
  readonly losses: Tensor<readonly [B], D>;
  /** The gradient of each example's loss, shaped like `wrt` with a leading batch dim. */
  readonly grads: Vectorized<Gradients<W>, B>;
  /** The batched per-example input leaves by name (to build feeds, e.g. with `supervisedFeeds`). */
  readonly inputs: Readonly<Record<string, AnyTensor>>;
}

/**
 * The gradient of a per-example loss for every example of a batch, in one graph: the
 * gradient graph of the loss (built for one example) rewritten by `batchExamples`.
 * `wrt` is usually the params; each gradient gets a leading batch dim.
 * @example
 * const x = input("x", [784]);
 * const label = input("label", [], "i32");
 * const loss = softmaxCrossEntropy(mlp(params, relu)(reshape(x, [1, 784])), reshape(label, [1]));
 * const { losses, grads } = perExampleGradients(loss, { W: params[0].W });
 * // grads.W: Tensor<[batch, 784, 256], "f32">; feed x as [batch, 784] and label as [batch]
 */
export const perExampleGradients = <const W extends WrtTensors, D extends DType, const B extends Dim = Sym<"batch">>(
  loss: Tensor<Shape, D>,
  wrt: W,
  options: VectorizeOptions<B> = {},
): PerExampleGradients<W, B, D> => {
  if (loss.node.shape.length !== 0)
    throw new ValidationError(`the per-example loss must be a scalar (one example's loss), got shape [${loss.node.shape.join(", ")}]`, "loss");
  const grads = grad(loss, wrt) as TensorTree;
  const entries = entriesOf(grads);
  const tree: Record<string, AnyTensor> = { loss, ...Object.fromEntries(entries.map(([k, t], i) => [`grad${i}:${k}`, t])) };
  const { outputs, inputs } = vectorizeNodes(tree, options.over, options.batch);
  return {
    losses: wrap(outputs[0]!),
    grads: rebuild(grads, outputs.slice(1)) as Vectorized<Gradients<W>, B>,
    inputs,
  };
};
