/**
 * Transformer layers over `[batch, time, dim]` activations with typed param records:
 * `embedding`, `layerNorm`, `multiHeadAttention` and a pre-norm `transformerBlock`
 * (Vaswani et al. 2017, with the normalization before each sublayer as in GPT-2).
 * Each has an `init`; dropout (training mode only) draws from the step's key with a
 * stream derived from the layer's name, so every site has its own mask.
 */
import type { FloatDType } from "../ops.js";
import type { Dim, Shape } from "../types/dims.js";
import type { AnyTensor, Tensor } from "../tensor.js";
import { captureLocation } from "../graph/location.js";
import { ShapeError } from "../errors.js";
import { param } from "../dsl/constructors.js";
import { add, gelu } from "../dsl/elementwise.js";
import { reshape, transpose } from "../dsl/structure.js";
import { dropout as dropoutOp, embedding as embeddingOp, layerNorm as layerNormOp, scaledDotProductAttention } from "../dsl/nn.js";
import { dense, type DenseParams } from "./layers.js";
import { streamOf, type Mode } from "./state.js";

export interface EmbeddingParams<V extends number, E extends number, D extends FloatDType = "f32"> {
  readonly table: Tensor<readonly [V, E], D>;
}

/**
 * Token embeddings: i32 ids `[...]` -> `[..., dim]`.
 * @example
 * const p = layers.embedding.init("tokens", 96, 64);
 * const e = layers.embedding(p)(ids); // [B, T] -> [B, T, 64]
 */
export const embedding = Object.assign(
  <V extends number, E extends number, D extends FloatDType>(p: EmbeddingParams<V, E, D>) =>
    <SI extends Shape>(ids: Tensor<SI, "i32">): Tensor<readonly [...SI, E], D> =>
      embeddingOp(p.table, ids),
  {
    init: <const V extends number, const E extends number, D extends FloatDType = "f32">(name: string, vocab: V, dim: E, dtype?: D): EmbeddingParams<V, E, D> => ({
      table: param(`${name}.table`, [vocab, dim] as const, (dtype ?? "f32") as D, { kind: "normal", mean: 0, std: 0.02 }),
    }),
  },
);

export interface LayerNormParams<E extends Dim, D extends FloatDType = "f32"> {
  readonly scale: Tensor<readonly [E], D>;
  readonly offset: Tensor<readonly [E], D>;
}

/**
 * Layer normalization over the last axis with a learned scale and offset.
 * @example const h = layers.layerNorm(layers.layerNorm.init("ln1", 64))(x); // shape unchanged
 */
export const layerNorm = Object.assign(
  <E extends Dim, D extends FloatDType>(p: LayerNormParams<E, D>) =>
    <S extends Shape>(x: Tensor<S, D>): Tensor<S, D> =>
      layerNormOp(x, p.scale, p.offset),
  {
    init: <const E extends number, D extends FloatDType = "f32">(name: string, dim: E, dtype?: D): LayerNormParams<E, D> => {
      const dt = (dtype ?? "f32") as D;
      return { scale: param(`${name}.scale`, [dim] as const, dt, { kind: "ones" }), offset: param(`${name}.offset`, [dim] as const, dt, { kind: "zeros" }) };
    },
  },
);

export interface MultiHeadAttentionParams<E extends number, D extends FloatDType = "f32"> {
  readonly name: string;
  readonly heads: number;
  readonly query: DenseParams<E, E, D>;
  readonly key: DenseParams<E, E, D>;
  readonly value: DenseParams<E, E, D>;
  readonly output: DenseParams<E, E, D>;
}

export interface AttentionLayerOptions {
  /** Each position attends to itself and earlier positions only. */
  readonly causal?: boolean;
  /** Dropout on the attention output in training mode (default 0). */
  readonly dropout?: number;
}

const fail = (op: string, detail: string): never => {
  throw new ShapeError(op, detail, captureLocation());
};

/**
 * Multi-head self-attention on `[batch, time, dim]`: the input is projected to queries,
 * keys and values, split into `heads` of `dim / heads`, attended per head
 * (`scaledDotProductAttention`), merged and projected back.
 * @example
 * const p = layers.multiHeadAttention.init("attn", 64, 4);
 * const y = layers.multiHeadAttention(p, { training: false }, { causal: true })(x); // [B, T, 64] -> [B, T, 64]
 */
export const multiHeadAttention = Object.assign(
  <E extends number, D extends FloatDType>(p: MultiHeadAttentionParams<E, D>, mode: Mode, options: AttentionLayerOptions = {}) =>
    <B extends Dim, T extends Dim>(x: Tensor<readonly [B, T, E], D>): Tensor<readonly [B, T, E], D> => {
      const [b, t, e] = x.node.shape as readonly [Dim, Dim, number];
      const h = p.heads;
      const split = (q: DenseParams<E, E, D>): AnyTensor => transpose(reshape(dense(q)(x as never) as AnyTensor, [b, t, h, e / h] as unknown as Shape), [0, 2, 1, 3]);
      const attended = scaledDotProductAttention(split(p.query), split(p.key), split(p.value), { causal: options.causal ?? false }) as AnyTensor;
      const merged = reshape(transpose(attended, [0, 2, 1, 3]), [b, t, e] as unknown as Shape);
      const y = dense(p.output)(merged as never) as AnyTensor;
      return dropoutIn(y, options.dropout ?? 0, mode, `${p.name}.dropout`) as unknown as Tensor<readonly [B, T, E], D>;
    },
  {
    init: <const E extends number, D extends FloatDType = "f32">(name: string, dim: E, heads: number, dtype?: D): MultiHeadAttentionParams<E, D> => {
      if (!Number.isInteger(heads) || heads < 1 || dim % heads !== 0) fail("multiHeadAttention", `heads ${heads} must be a positive integer dividing the dim ${dim}`);
      const proj = (n: string): DenseParams<E, E, D> => dense.init(`${name}.${n}`, dim, dim, dtype === undefined ? {} : { dtype }) as DenseParams<E, E, D>;
      return { name, heads, query: proj("query"), key: proj("key"), value: proj("value"), output: proj("output") };
    },
  },
);

/** Dropout at a named site in training mode (identity otherwise or at rate 0). */
const dropoutIn = (x: AnyTensor, rate: number, mode: Mode, site: string): AnyTensor => {
  if (!mode.training || rate === 0) return x;
  if (mode.key === undefined) return fail("dropout", `training mode with dropout ${rate} at '${site}' needs a key (mode.key)`);
  return dropoutOp(x, rate, { training: true, key: mode.key, stream: streamOf(site) });
};

export interface TransformerBlockParams<E extends number, D extends FloatDType = "f32"> {
  readonly name: string;
  readonly norm1: LayerNormParams<E, D>;
  readonly attention: MultiHeadAttentionParams<E, D>;
  readonly norm2: LayerNormParams<E, D>;
  readonly hidden: DenseParams<E, number, D>;
  readonly out: DenseParams<number, E, D>;
}

/**
 * A pre-norm Transformer block with residual connections:
 * `x + dropout(attention(norm1(x)))`, then `h + dropout(W2·gelu(W1·norm2(h)))`.
 * @example
 * const p = layers.transformerBlock.init("block0", 64, { heads: 4 });
 * const h = layers.transformerBlock(p, { training: true, key }, { causal: true, dropout: 0.1 })(x); // [B, T, 64]
 */
export const transformerBlock = Object.assign(
  <E extends number, D extends FloatDType>(p: TransformerBlockParams<E, D>, mode: Mode, options: AttentionLayerOptions = {}) =>
    <B extends Dim, T extends Dim>(x: Tensor<readonly [B, T, E], D>): Tensor<readonly [B, T, E], D> => {
      const attended = multiHeadAttention(p.attention, mode, options)(layerNorm(p.norm1)(x));
      const h = add(x as AnyTensor, attended as AnyTensor);
      const inner = dense(p.hidden, gelu)(layerNorm(p.norm2)(h as Tensor<Shape, D>) as never) as AnyTensor;
      const mlpOut = dropoutIn(dense(p.out)(inner as never) as AnyTensor, options.dropout ?? 0, mode, `${p.name}.mlp.dropout`);
      return add(h, mlpOut) as unknown as Tensor<readonly [B, T, E], D>;
    },
  {
    init: <const E extends number, D extends FloatDType = "f32">(
      name: string,
      dim: E,
      options: { readonly heads: number; readonly hidden?: number; readonly dtype?: D },
    ): TransformerBlockParams<E, D> => {
      const dtype = options.dtype;
      const hidden = options.hidden ?? 4 * dim;
      const dt = dtype === undefined ? {} : { dtype };
      return {
        name,
        norm1: layerNorm.init(`${name}.norm1`, dim, dtype),
        attention: multiHeadAttention.init(`${name}.attention`, dim, options.heads, dtype),
        norm2: layerNorm.init(`${name}.norm2`, dim, dtype),
        hidden: dense.init(`${name}.hidden`, dim, hidden, dt) as DenseParams<E, number, D>,
        out: dense.init(`${name}.out`, hidden, dim, dt) as DenseParams<number, E, D>,
      };
    },
  },
);
