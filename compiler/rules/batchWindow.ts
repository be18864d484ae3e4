/**
 * Batching rules of the windowed ops (convolution, pooling and their gradients) and of
 * the random op (see `batchSupport.ts` for the contract).
 *
 * These ops already have a leading example axis (NCHW): the batch dim is folded into it
 * (`[batch, n, C, H, W]` as `[batch·n, C, H, W]`, free when the per-example n is 1), the op
 * runs once, and the result is unfolded. Per-example filter gradients, where conv2d's
 * weight gradient sums over the examples, use the batch as extra channel groups instead,
 * which needs a concrete batch size. Weights that differ per example (computed from a
 * batched input) and per-example random keys are not batched: the rule says why.
 */
import * as E from "fp-ts/lib/Either.js";
import { pipe } from "fp-ts/lib/function.js";
import { Op, type Conv2dParams, type Op as OpName, type OpParams, type RuntimeDim } from "../../src/ops.js";
import type { AnyTensor } from "../../src/tensor.js";
import { applyOp, foldBatchIntoLeadingAxis, materialize, permuteAxes, reshapeTo, unfoldBatch, type BatchContext, type BatchRule } from "./batchSupport.js";

type WindowOp =
  | typeof Op.Conv2d
  | typeof Op.Conv2dBackpropInput
  | typeof Op.Conv2dBackpropFilter
  | typeof Op.MaxPool2d
  | typeof Op.MaxPool2dBackprop
  | typeof Op.MaxPool2dSelect
  | typeof Op.AvgPool2d
  | typeof Op.AvgPool2dBackprop
  | typeof Op.RandomUniform;

const sequence = E.sequenceArray;

/**
 * Rule for ops whose inputs at `activations` are NCHW tensors sharing the example axis and
 * whose other inputs (weights) must be the same for every example.
 */
const foldedRule =
  <K extends OpName>(activations: readonly number[]): BatchRule<K> =>
  (ctx: BatchContext<K>) => {
    const sharedBatched = ctx.inputs.findIndex((v, i) => v.batched && !activations.includes(i));
    if (sharedBatched >= 0) return E.left(`its weights (input ${sharedBatched}) differ per example: they depend on a batched input`);
    const n = ctx.node.shape[0]!;
    return pipe(
      sequence(ctx.inputs.map((v, i) => (activations.includes(i) ? foldBatchIntoLeadingAxis(materialize(v, ctx.batch)) : E.right(v.tensor)))),
      E.map((inputs: readonly AnyTensor[]) => unfoldBatch(applyOp(ctx.node.op, inputs, ctx.params as OpParams[K]), ctx.batch, n)),
    );
  };

/**
 * Per-example weight gradients: the batch becomes channel groups, `x [n, batch·C, H, W]`
 * and `dy [n, batch·O, OH, OW]` with `batch·groups` groups give `[batch·O, C/groups, kh, kw]`.
 */
const conv2dBackpropFilterRule: BatchRule<typeof Op.Conv2dBackpropFilter> = (ctx) => {
  const batch: RuntimeDim = ctx.batch;
  if (typeof batch !== "number")
    return E.left(`per-example conv2d filter gradients need a concrete batch size, got the symbolic dim '${batch}' (batch with a number)`);
  const [x, dy] = [materialize(ctx.inputs[0]!, batch), materialize(ctx.inputs[1]!, batch)];
  const asGroups = (t: AnyTensor): E.Either<string, AnyTensor> => {
    const [, n, c, h, w] = t.node.shape;
    if (typeof c !== "number") return E.left(`channel count ${String(c)} must be concrete`);
    return E.right(reshapeTo(permuteAxes(t, [1, 0, 2, 3, 4]), [n!, batch * c, h!, w!]));
  };
  const [o, ci, kh, kw] = ctx.node.shape as readonly number[];
  const params: OpParams[typeof Op.Conv2dBackpropFilter] = { ...ctx.params, groups: ctx.params.groups * batch } satisfies Conv2dParams & { kernelSize: readonly number[] };
  return pipe(
    sequence([asGroups(x), asGroups(dy)]),
    E.map(([xg, dyg]) => reshapeTo(applyOp(Op.Conv2dBackpropFilter, [xg!, dyg!], params), [batch, o!, ci!, kh!, kw!])),
  );
};

export const windowBatchRules: { readonly [K in WindowOp]: BatchRule<K> } = {
  [Op.Conv2d]: foldedRule([0]),
  [Op.Conv2dBackpropInput]: foldedRule([0]),
  [Op.Conv2dBackpropFilter]: conv2dBackpropFilterRule,
  [Op.MaxPool2d]: foldedRule([0]),
  [Op.MaxPool2dBackprop]: foldedRule([0, 1]),
  [Op.MaxPool2dSelect]: foldedRule([0, 1]),
  [Op.AvgPool2d]: foldedRule([0]),
  [Op.AvgPool2dBackprop]: foldedRule([0]),
  [Op.RandomUniform]: () => E.left("its random key differs per example (it depends on a batched input)"),
};
