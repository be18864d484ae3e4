/**
 * Escape hatches from static shapes: `erase` forgets the static shape, `assertShape`
 * states one and checks it against the node's runtime shape.
 */
import type { DType } from "../ops.js";
import { formatShape } from "../graph/shapes.js";
import { captureLocation } from "../graph/location.js";
import { ShapeError } from "../errors.js";
import type { DynamicShape, Shape } from "../types/dims.js";
import { wrap, type Tensor } from "../tensor.js";

/** Forgets the static shape: the result passes every static check and is checked at run time. */
export const erase = <D extends DType>(t: Tensor<Shape, D>): Tensor<DynamicShape, D> => t as Tensor<DynamicShape, D>;

/**
 * Claims a static shape for `t`, checked now against its runtime shape.
 * @example const y = assertShape(erase(x), [sym('batch'), 10]);
 */
export const assertShape = <const S extends Shape, D extends DType>(t: Tensor<Shape, D>, shape: S): Tensor<S, D> => {
  const want = shape.map((d) => d as unknown as number | string);
  const have = t.node.shape;
  const same = want.length === have.length && want.every((d, i) => d === have[i]);
  if (!same) throw new ShapeError("assertShape", `expected ${formatShape(want)}, got ${formatShape(have)}`, captureLocation());
  return wrap<S, D>(t.node);
};
