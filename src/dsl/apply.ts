/**
 * The one place where the DSL creates nodes: runs the op's runtime shape rule, records
 * the user's source line, and throws a ShapeError naming op, shapes and line on failure.
 */
import * as E from "fp-ts/lib/Either.js";
import type { Op, OpParams, DType } from "../ops.js";
import { inferShape } from "../../compiler/rules/shape.js";
import { captureLocationLazily } from "../graph/location.js";
import { makeNode, type Node } from "../graph/node.js";
import { ShapeError } from "../errors.js";
import { wrap, type AnyTensor, type Tensor } from "../tensor.js";
import type { Shape } from "../types/dims.js";

/** Builds the node for `op` applied to `inputs`; throws ShapeError if the rule fails. */
export const applyNode = <K extends Op>(op: K, inputs: readonly Node[], params: OpParams[K]): Node => {
  const loc = captureLocationLazily();
  const out = inferShape(op, inputs, params);
  if (E.isLeft(out)) throw new ShapeError(op, out.left, loc);
  return makeNode({ op, params, inputs, shape: out.right.shape, dtype: out.right.dtype, loc });
};

/** `applyNode` on tensors, returning a tensor of the caller's declared static type. */
export const apply = <S extends Shape, D extends DType, K extends Op = Op>(
  op: K,
  inputs: readonly AnyTensor[],
  params: OpParams[K],
): Tensor<S, D> => wrap<S, D>(applyNode(op, inputs.map((t) => t.node), params));
