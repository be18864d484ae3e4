/**
 * Per-example clipping terms of one param: each example's squared gradient norm and the
 * factor-weighted sum of the examples' gradients — what DP-SGD needs from per-example
 * gradients.
 *
 * Takes one param's per-example gradient as `batchExamples` produced it (`[batch, ...shape]`).
 * When that gradient is a batched outer-product matmul — a dense layer's weight gradient
 * `g_b = A_bᵀ·R_b`, with `A_b [T, m]` the layer's input rows and `R_b [T, n]` the output
 * cotangents of example b — the terms come without forming the `[batch, m, n]` tensor
 * ("ghost clipping", Goodfellow 2015; Li et al. 2022):
 *   ‖A_bᵀR_b‖² = Σ_{s,t} (A_b A_bᵀ)_{st} (R_b R_bᵀ)_{st}   (= ‖a_b‖²·‖r_b‖² when T = 1)
 *   Σ_b f_b·A_bᵀR_b = Aᵀ·(f ⊙ R)                          (one matmul over all rows)
 * Otherwise the per-example gradient is formed and reduced. Both give the same values up
 * to float rounding; the graph is an ordinary graph either way.
 */
import { Op, type RuntimeDim } from "../ops.js";
import { mul, square } from "../dsl/elementwise.js";
import { sum } from "../dsl/reduce.js";
import { reshape, transpose } from "../dsl/structure.js";
import { matmul } from "../dsl/linalg.js";
import { wrap, type AnyTensor } from "../tensor.js";
import type { Shape } from "../types/dims.js";

/** How per-example gradients are reduced: "ghost" uses the outer-product identities where they apply. */
export type ClippingMethod = "ghost" | "materialized";

export interface ClippingTerms {
  /** ‖g_b‖² of this param's gradient for every example: `[batch]`. */
  readonly squaredNorms: AnyTensor;
  /** Σ_b factor_b·g_b for a factor `[batch]`, shaped like the param. */
  readonly weightedSum: (factor: AnyTensor) => AnyTensor;
}

const shapeOf = (dims: readonly RuntimeDim[]): Shape => dims as unknown as Shape;
const trailingAxes = (rank: number): number[] => Array.from({ length: rank - 1 }, (_, a) => a + 1);

const materializedTerms = (perExample: AnyTensor, batch: RuntimeDim): ClippingTerms => {
  const shape = perExample.node.shape.slice(1);
  const size = shape.reduce<number>((n, d) => n * (d as number), 1);
  const rank = perExample.node.shape.length;
  return {
    squaredNorms: rank === 1 ? square(perExample) : sum(square(perExample), trailingAxes(rank)),
    // Σ_b f_b·g_b as one [1, batch] x [batch, size] product.
    weightedSum: (factor) =>
      reshape(matmul(reshape(factor, shapeOf([1, batch])), reshape(perExample, shapeOf([batch, size]))), shapeOf(shape)),
  };
};

/** The outer-product factors `A [batch, T, m]`, `R [batch, T, n]` of `g = Aᵀ·R`, if the gradient has that form. */
const outerProductFactors = (perExample: AnyTensor, batch: RuntimeDim): { a: AnyTensor; r: AnyTensor } | undefined => {
  const n = perExample.node;
  if (n.op !== Op.MatMul || n.shape.length !== 3) return undefined;
  const [p, q] = [n.inputs[0]!, n.inputs[1]!];
  if (p.shape.length !== 3 || q.shape.length !== 3 || p.shape[0] !== batch || q.shape[0] !== batch) return undefined;
  const { transposeA, transposeB } = n.params;
  if (transposeA && !transposeB) return { a: wrap(p), r: wrap(q) };
  if (!transposeA && transposeB) return { a: transpose(wrap(p), [0, 2, 1]), r: transpose(wrap(q), [0, 2, 1]) };
  return undefined;
};

/**
 * The clipping terms of one param's per-example gradient `[batch, ...shape]`.
 * @example
 * const { squaredNorms, weightedSum } = clippingTerms(perExampleGradOfW, "batch");
 * const clippedSum = weightedSum(factor); // shaped like W
 */
export const clippingTerms = (perExample: AnyTensor, batch: RuntimeDim, method: ClippingMethod = "ghost"): ClippingTerms => {
  const factors = method === "ghost" ? outerProductFactors(perExample, batch) : undefined;
  if (factors === undefined) return materializedTerms(perExample, batch);
  const { a, r } = factors;
  const rows = a.node.shape[1]!;
  const squaredNorms =
    rows === 1
      ? mul(sum(square(a), [1, 2]), sum(square(r), [1, 2]))
      : sum(mul(matmul(a, a, { transposeB: true }), matmul(r, r, { transposeB: true })), [1, 2]);
  const merged = rows === 1 ? batch : typeof batch === "number" && typeof rows === "number" ? batch * rows : undefined;
  const weightedSum = (factor: AnyTensor): AnyTensor => {
    const scaled = mul(r, reshape(factor, shapeOf([batch, 1, 1])));
    if (merged === undefined) return sum(matmul(a, scaled, { transposeA: true }), 0); // T > 1 with a symbolic batch: no row merge
    const [m, k] = [a.node.shape[2]!, r.node.shape[2]!];
    return matmul(reshape(a, shapeOf([merged, m])), reshape(scaled, shapeOf([merged, k])), { transposeA: true });
  };
  return { squaredNorms, weightedSum };
};
