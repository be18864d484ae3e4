/**
 * Typed tensors: a graph node plus its static shape `S` and dtype `D`.
 *
 * The type parameters exist only for the type checker; at run time a tensor is
 * `{ node }`, and the node holds the runtime shape and dtype.
 */
import type { DType } from "./ops.js";
import type { Node } from "./graph/node.js";
import type { DynamicShape, Shape } from "./types/dims.js";

declare const shapeTag: unique symbol;
declare const dtypeTag: unique symbol;

/** A tensor-valued expression of static shape `S` and dtype `D`. */
export interface Tensor<S extends Shape = DynamicShape, D extends DType = DType> {
  readonly node: Node;
  readonly [shapeTag]?: S;
  readonly [dtypeTag]?: D;
}

/** Any tensor, whatever its shape and dtype. */
export type AnyTensor = Tensor<Shape, DType>;

/** Wraps a node as a tensor with the given static type. */
export const wrap = <S extends Shape, D extends DType>(node: Node): Tensor<S, D> => Object.freeze({ node }) as Tensor<S, D>;

/** The static shape of a tensor type. */
export type ShapeOf<T> = T extends Tensor<infer S, DType> ? S : never;
/** The static dtype of a tensor type. */
export type DTypeOf<T> = T extends Tensor<Shape, infer D> ? D : never;
