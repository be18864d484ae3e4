/**
 * Escape hatches from static shapes: `erase` forgets the static shape, `assertShape`
 * states one and checks it against the node's runtime shape.
 *
 * Static types: `assertShape` rejects a claim that contradicts a known static shape
 * (the run-time check would surely fail); any claim about an erased tensor passes.
 */
import type { DType } from "../ops.js";
import { formatShape } from "../graph/shapes.js";
import { captureLocation } from "../graph/location.js";
import { ShapeError } from "../errors.js";
import type { DynamicShape, Shape } from "../types/dims.js";
import type { AssertShapeError } from "../types/linalg.js";
import type { Check } from "../types/result.js";
import { wrap, type Tensor } from "../tensor.js";

/**
 * Forgets the static shape: the result passes every static check and is checked at run time.
 * @example const loose = erase(x); // Tensor<DynamicShape, "f32">
 */
export const erase = <D extends DType>(t: Tensor<Shape, D>): Tensor<DynamicShape, D> => t as Tensor<DynamicShape, D>;

/**
 * Claims a static shape for `t`, checked now against its runtime shape.
 * @example const y = assertShape(erase(x), [sym('batch'), 10]);
 */
export const assertShape = <S extends Shape, D extends DType, const T extends Shape>(
  t: Tensor<S, D>,
  shape: Check<AssertShapeError<S, T>, T>,
): Tensor<T, D> => {
  const want = (shape as Shape).map((d) => d as unknown as number | string);
  const have = t.node.shape;
  const same = want.length === have.length && want.every((d, i) => d === have[i]);
  if (!same) throw new ShapeError("assertShape", `expected ${formatShape(want)}, got ${formatShape(have)}`, captureLocation());
  return wrap<T, D>(t.node);
};
