/**
 * Neural-network building blocks as compositions of ops: normalization (batch, layer),
 * dropout, embedding lookup and scaled dot-product attention.
 *
 * Every function here is exact arithmetic over existing ops (mean/variance, softmax,
 * matmul, gather, where), so gradients, optimization and ONNX export come for free;
 * dropout draws its mask from the counter-based `randomUniform` op, keyed by an i32
 * tensor, so a training step is a pure function of its inputs.
 */
import type { DType, FloatDType } from "../ops.js";
import type { Dim, Shape } from "../types/dims.js";
import type { AnyTensor, Tensor } from "../tensor.js";
import { formatShape } from "../graph/shapes.js";
import { captureLocation } from "../graph/location.js";
import { ShapeError } from "../errors.js";
import { constant } from "./constructors.js";
import { add, div, greaterEqual, mul, sqrt, square, sub, where } from "./elementwise.js";
import { mean } from "./reduce.js";
import { gather, reshape } from "./structure.js";
import { matmul, softmax } from "./linalg.js";
import { randomUniformOp } from "./windowOps.js";

const fail = (op: string, detail: string): never => {
  throw new ShapeError(op, detail, captureLocation());
};

/** [1, C, 1, 1]-like view of a per-channel vector for an input of rank `rank` with channels on axis 1. */
const perChannel = (v: AnyTensor, rank: number): AnyTensor =>
  rank <= 2 ? v : reshape(v, [v.node.shape[0]!, ...Array.from({ length: rank - 2 }, () => 1)] as unknown as Shape);

export interface LayerNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  readonly epsilon?: number;
}

/**
 * Layer normalization over the last axis: `(x - mean) / sqrt(var + ε) · scale + offset`
 * (biased variance; `scale` and `offset` have the size of the last axis).
 * @example const h = layerNorm(x, gamma, beta); // x: [B, T, 64], gamma, beta: [64]
 */
export const layerNorm = <S extends Shape, D extends DType>(
  x: Tensor<S, D>,
  scale?: Tensor<readonly Dim[], D>,
  offset?: Tensor<readonly Dim[], D>,
  options: LayerNormOptions = {},
): Tensor<S, D> => {
  const t = x as AnyTensor;
  if (t.node.shape.length === 0) fail("layerNorm", `input must have rank >= 1, got ${formatShape(t.node.shape)}`);
  const mu = mean(t, -1, { keepdims: true });
  const centered = sub(t, mu);
  const variance = mean(square(centered), -1, { keepdims: true });
  let y: AnyTensor = div(centered, sqrt(add(variance, options.epsilon ?? 1e-5)));
  if (scale !== undefined) y = mul(y, scale as AnyTensor);
  if (offset !== undefined) y = add(y, offset as AnyTensor);
  return y as Tensor<S, D>;
};

/** A batch-norm layer's per-channel tensors (each [channels]). */
export interface BatchNormTensors<D extends DType = FloatDType> {
  readonly scale: Tensor<readonly Dim[], D>;
  readonly offset: Tensor<readonly Dim[], D>;
  /** Running statistics: state, not trained (see `BatchNormResult`). */
  readonly runningMean: Tensor<readonly Dim[], D>;
  readonly runningVar: Tensor<readonly Dim[], D>;
}

export interface BatchNormOptions {
  /** Training mode normalizes with the batch's statistics and returns updated running ones; evaluation uses the running ones. */
  readonly training: boolean;
  /** Weight of the old running statistics in the update (default 0.9). */
  readonly momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  readonly epsilon?: number;
}

/** The normalized tensor and the running statistics after this batch (unchanged in evaluation mode). */
export interface BatchNormResult<S extends Shape, D extends DType> {
  readonly y: Tensor<S, D>;
  readonly runningMean: AnyTensor;
  readonly runningVar: AnyTensor;
}

/**
 * Batch normalization over every axis but the channel axis 1 (`[B, C]` or `[B, C, H, W]`).
 * Training: `y = (x - μ_batch) / sqrt(σ²_batch + ε) · scale + offset` and the running
 * statistics move towards the batch's, `running' = momentum · running + (1 - momentum) ·
 * batch` (biased variance, as Keras). Evaluation: the running statistics normalize and
 * are returned unchanged. The new running statistics are ordinary outputs: a training
 * step returns them as state (see `createTrainer`'s `state`), nothing is mutated.
 * @example
 * const { y, runningMean, runningVar } = batchNorm(h, bn, { training: true });
 */
export const batchNorm = <S extends Shape, D extends DType>(x: Tensor<S, D>, p: BatchNormTensors<D>, options: BatchNormOptions): BatchNormResult<S, D> => {
  const t = x as AnyTensor;
  const rank = t.node.shape.length;
  if (rank < 2) fail("batchNorm", `input must be [batch, channels, ...], got ${formatShape(t.node.shape)}`);
  const eps = options.epsilon ?? 1e-5;
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const stats = (m: AnyTensor, v: AnyTensor): { mu: AnyTensor; variance: AnyTensor } => ({ mu: perChannel(m, rank), variance: perChannel(v, rank) });
  let normalizeWith: { mu: AnyTensor; variance: AnyTensor };
  let runningMean = p.runningMean as AnyTensor;
  let runningVar = p.runningVar as AnyTensor;
  if (options.training) {
    const mu = mean(t, axes, { keepdims: true });
    const variance = mean(square(sub(t, mu)), axes, { keepdims: true });
    normalizeWith = { mu, variance };
    const m = options.momentum ?? 0.9;
    const flat = (s: AnyTensor): AnyTensor => reshape(s, runningMean.node.shape as unknown as Shape);
    runningMean = add(mul(runningMean, m), mul(flat(mu), 1 - m));
    runningVar = add(mul(runningVar, m), mul(flat(variance), 1 - m));
  } else normalizeWith = stats(runningMean, runningVar);
  const normalized = div(sub(t, normalizeWith.mu), sqrt(add(normalizeWith.variance, eps)));
  const y = add(mul(normalized, perChannel(p.scale as AnyTensor, rank)), perChannel(p.offset as AnyTensor, rank));
  return { y: y as Tensor<S, D>, runningMean, runningVar };
};

export interface DropoutOptions {
  /** Dropout is on only when training; otherwise the input is returned as is. */
  readonly training: boolean;
  /** i32 scalar key, a new one every step (the trainer feeds `DROPOUT_KEY_INPUT`). */
  readonly key: Tensor<readonly [], "i32">;
  /** Distinguishes dropout sites that share a key: give every site its own (layers derive one from their name). */
  readonly stream: number;
}

/**
 * Inverted dropout: in training mode each element is zeroed with probability `rate` and
 * the rest are scaled by 1 / (1 - rate); in evaluation mode (or at rate 0) the identity.
 * The mask comes from `randomUniform(key, stream)`: deterministic for a key, so a step
 * can be replayed and a resumed run draws the same masks.
 * @example const h2 = dropout(h, 0.1, { training: true, key, stream: 3 });
 */
export const dropout = <S extends Shape, D extends DType>(x: Tensor<S, D>, rate: number, options: DropoutOptions): Tensor<S, D> => {
  if (!(rate >= 0 && rate < 1)) fail("dropout", `rate must be in [0, 1), got ${rate}`);
  if (!options.training || rate === 0) return x;
  const t = x as AnyTensor;
  if (t.node.dtype !== "f32" && t.node.dtype !== "f64") fail("dropout", `needs f32 or f64, got ${t.node.dtype} ${formatShape(t.node.shape)}`);
  const u = randomUniformOp(options.key, t.node.shape, t.node.dtype as FloatDType, options.stream);
  return where(greaterEqual(u, rate), mul(t, 1 / (1 - rate)), 0) as unknown as Tensor<S, D>;
};

/**
 * Embedding lookup: rows of `table` [vocab, dim] at i32 `ids` of any shape -> [...ids, dim].
 * @example const e = embedding(table, tokens); // table [96, 64], tokens [B, T] -> [B, T, 64]
 */
export const embedding = <const ST extends readonly [Dim, Dim], D extends DType, SI extends Shape>(
  table: Tensor<ST, D>,
  ids: Tensor<SI, "i32">,
): Tensor<readonly [...SI, ST[1]], D> => gather(table as AnyTensor, ids) as unknown as Tensor<readonly [...SI, ST[1]], D>;

export interface AttentionOptions {
  /** Each query position attends only to key positions at or before it (needs Tq = Tk, concrete). */
  readonly causal?: boolean;
}

/** All but the last dim of a static shape. */
type Init<S extends Shape> = S extends readonly [...infer I, unknown] ? I : Shape;
/** The last dim of a static shape. */
type Last<S extends Shape> = S extends readonly [...unknown[], infer L] ? L : Dim;

/**
 * Scaled dot-product attention: `softmax(q·kᵀ / sqrt(d)) · v` over the last two axes
 * (leading axes, e.g. batch and heads, broadcast as in matmul). With `causal`, query i
 * sees keys 0..i only (masked scores are -1e9 before the softmax, so they get weight 0).
 * @example const out = scaledDotProductAttention(q, k, v, { causal: true }); // [B, H, T, 16] x3 -> [B, H, T, 16]
 */
export const scaledDotProductAttention = <SQ extends Shape, SK extends Shape, SV extends Shape, D extends DType>(
  q: Tensor<SQ, D>,
  k: Tensor<SK, D>,
  v: Tensor<SV, D>,
  options: AttentionOptions = {},
): Tensor<readonly [...Init<SQ>, Last<SV>], D> => {
  const [qt, kt, vt] = [q as AnyTensor, k as AnyTensor, v as AnyTensor];
  const depth = qt.node.shape[qt.node.shape.length - 1];
  if (typeof depth !== "number") return fail("scaledDotProductAttention", `the query depth must be concrete, got ${formatShape(qt.node.shape)}`);
  let scores: AnyTensor = mul(matmul(qt, kt, { transposeB: true }), 1 / Math.sqrt(depth));
  if (options.causal === true) {
    const rank = scores.node.shape.length;
    const [tq, tk] = [scores.node.shape[rank - 2], scores.node.shape[rank - 1]];
    if (typeof tq !== "number" || typeof tk !== "number" || tq !== tk)
      fail("scaledDotProductAttention", `a causal mask needs equal, concrete query and key lengths, got queries ${formatShape(qt.node.shape)} and keys ${formatShape(kt.node.shape)}`);
    const allowed = constant(Array.from({ length: (tq as number) * (tk as number) }, (_, i) => (i % (tk as number) <= Math.floor(i / (tk as number)) ? 1 : 0)), [tq as number, tk as number], "bool");
    scores = where(allowed, scores, -1e9);
  }
  return matmul(softmax(scores, -1), vt) as unknown as Tensor<readonly [...Init<SQ>, Last<SV>], D>;
};
