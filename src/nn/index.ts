/**
 * The layers library, exported from the package as the `layers` namespace (so layer
 * names such as `layers.conv2d` do not clash with the ops `conv2d`, `batchNorm`, ...).
 * Every layer is `layer(params, ...options)(x)` over a typed param record made by
 * `layer.init(name, ...sizes)`; layers with state return `{ y, updates }`.
 *
 * @example
 * import { layers } from "typegrad";
 * const block = layers.residualBlock.init("block1", 16, 32, { stride: 2 });
 * const { y, updates } = layers.residualBlock(block, { training: true })(h);
 */
export { dense, mlp, type DenseParams, type DenseOptions, type MlpParams, type Activation } from "./layers.js";
export { conv2d, batchNorm, residualBlock, type Conv2dLayerParams, type Conv2dLayerInit, type Conv2dLayerOptions, type BatchNormLayerParams, type ResidualBlockParams } from "./conv.js";
export {
  embedding, layerNorm, multiHeadAttention, transformerBlock, type EmbeddingParams, type LayerNormParams, type MultiHeadAttentionParams, type AttentionLayerOptions,
  type TransformerBlockParams,
} from "./transformer.js";
export { streamOf, collectUpdates, stepKey, STEP_KEY_INPUT, type Mode, type StateUpdate, type WithUpdates } from "./state.js";
