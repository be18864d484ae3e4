/**
 * Automatic differentiation: `grad`, `valueAndGrad` and `vjp`.
 *
 * Gradients are symbolic: the result is new graph nodes (printable, optimizable,
 * exportable, differentiable again), not numbers. `wrt` may be one tensor, an array or a
 * record of tensors; the result has the same structure, each gradient typed exactly like
 * its wrt tensor. Errors are thrown as `GradError`, whose message names the offending
 * tensor, its type and its source line.
 */
import * as E from "fp-ts/lib/Either.js";
import type { Node } from "./graph/node.js";
import { wrap, type AnyTensor } from "./tensor.js";
import { differentiate } from "../compiler/passes/differentiate.js";
import type { CompileError } from "../compiler/errors.js";

/** Differentiation was asked for something undefined (see the message), e.g. the gradient of a non-scalar loss. */
export class GradError extends Error {
  override readonly name = "GradError";
  constructor(readonly error: CompileError) {
    super(error.message);
  }
}

/** What may be differentiated with respect to: one tensor, an array (or tuple) of tensors, or a record of them. */
export type WrtTensors = AnyTensor | readonly AnyTensor[] | Readonly<Record<string, AnyTensor>>;

/** Gradients shaped like `W`: a tensor for a tensor, a tuple for a tuple, a record for a record, each typed as its wrt tensor. */
export type Gradients<W extends WrtTensors> = W extends AnyTensor ? W : { [K in keyof W]: W[K] };

const isTensor = (w: unknown): w is AnyTensor => {
  if (typeof w !== "object" || w === null || !("node" in w)) return false;
  const node: unknown = (w as { node: unknown }).node;
  return typeof node === "object" && node !== null && "op" in node && "hash" in node;
};

const flatten = (wrt: WrtTensors): readonly AnyTensor[] =>
  isTensor(wrt) ? [wrt] : Array.isArray(wrt) ? (wrt as readonly AnyTensor[]) : Object.values(wrt as Readonly<Record<string, AnyTensor>>);

const unflatten = <W extends WrtTensors>(wrt: W, nodes: readonly Node[]): Gradients<W> => {
  const tensors = nodes.map((n) => wrap(n));
  if (isTensor(wrt)) return tensors[0] as Gradients<W>;
  if (Array.isArray(wrt)) return tensors as unknown as Gradients<W>;
  return Object.fromEntries(Object.keys(wrt).map((k, i) => [k, tensors[i]])) as Gradients<W>;
};

const run = <W extends WrtTensors>(outputs: readonly AnyTensor[], cotangents: readonly AnyTensor[] | undefined, wrt: W): Gradients<W> => {
  const result = differentiate({
    outputs: outputs.map((t) => t.node),
    ...(cotangents === undefined ? {} : { cotangents: cotangents.map((t) => t.node) }),
    wrt: flatten(wrt).map((t) => t.node),
  });
  if (E.isLeft(result)) throw new GradError(result.left);
  return unflatten(wrt, result.right);
};

/**
 * The gradient of a scalar `loss` with respect to `wrt` (a tensor, an array or a record of
 * tensors), as new graph nodes shaped and typed like `wrt`. A wrt tensor the loss does not
 * depend on gets zeros. Throws GradError for a non-scalar loss or an i32/bool wrt tensor.
 * @example
 * const x = input("x", [sym("batch"), 2], "f32");
 * const W = param("W", [2, 3], "f32");
 * const loss = mean(square(matmul(x, W)));
 * const { W: dW } = grad(loss, { W }); // Tensor<[2, 3], "f32">
 */
export const grad = <const W extends WrtTensors>(loss: AnyTensor, wrt: W): Gradients<W> => run([loss], undefined, wrt);

/**
 * The loss together with its gradient, for a training step that needs both.
 * @example
 * const { value, grads } = valueAndGrad(loss, [W, b]);
 * const step = buildGraph({ loss: value, dW: grads[0], db: grads[1] });
 */
export const valueAndGrad = <L extends AnyTensor, const W extends WrtTensors>(loss: L, wrt: W): { readonly value: L; readonly grads: Gradients<W> } => ({
  value: loss,
  grads: run([loss], undefined, wrt),
});

/**
 * Vector-Jacobian product: the gradient of `sum_i <outputs[i], cotangents[i]>` with respect
 * to `wrt`. Each cotangent has its output's shape and dtype; outputs need not be scalars.
 * @example
 * const y = tanh(matmul(x, W));                 // f32[batch, 3]
 * const [dx] = vjp(y, [x], upstream);           // upstream: f32[batch, 3]
 */
export const vjp = <const W extends WrtTensors>(
  outputs: AnyTensor | readonly AnyTensor[],
  wrt: W,
  cotangents: AnyTensor | readonly AnyTensor[],
): Gradients<W> => {
  const outs = isTensor(outputs) ? [outputs] : (outputs as readonly AnyTensor[]);
  const cts = isTensor(cotangents) ? [cotangents] : (cotangents as readonly AnyTensor[]);
  return run(outs, cts, wrt);
};
