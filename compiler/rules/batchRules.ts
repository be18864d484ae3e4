/**
 * Batching rules, one per op: how the `batchExamples` pass (a graph-level vmap) computes
 * a node of a per-example graph for a whole batch at once.
 *
 * Takes the node, its params, its inputs after batching (batched ones carry a new leading
 * dim, unbatched ones are shared by every example) and the batch dim; returns the node's
 * value for every example, shaped `[batch, ...node.shape]`, as new graph nodes, or the
 * reason the op cannot be batched (the pass turns it into a CompileError naming the node
 * and the user's source line). Rules are only called when some input is batched.
 *
 * Most ops batch as themselves with their axes shifted by one; broadcasting operands are
 * first given equal per-example rank so the batch dim never meets a per-example dim.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op, type Op as OpName, type OpParams, type ReduceOp, type ReduceParams } from "../../src/ops.js";
import {
  applyOp, batchedInput, materialize, shiftAxes, withExampleRank, type BatchContext, type BatchRule,
} from "./batchSupport.js";
import type { AnyTensor } from "../../src/tensor.js";
import { gatherBatchRule, scatterAddBatchRule } from "./batchIndexing.js";
import { windowBatchRules } from "./batchWindow.js";

export type { BatchContext, BatchRule, BatchValue } from "./batchSupport.js";

/** Leaves have no inputs, so the pass handles them itself and never calls their rule. */
const leafRule =
  <K extends OpName>(): BatchRule<K> =>
  (ctx) =>
    E.left(`${ctx.node.op} is a leaf: the pass batches leaves itself`);

/**
 * Elementwise ops with NumPy broadcasting (also unary ops, casts and where): batched
 * operands get the output's per-example rank, then the op applies as it is.
 */
const broadcasting =
  <K extends OpName>(): BatchRule<K> =>
  (ctx: BatchContext<K>) => {
    const rank = ctx.node.shape.length;
    return E.right(applyOp(ctx.node.op, ctx.inputs.map((v) => withExampleRank(v, rank)), ctx.params as OpParams[K]));
  };

/** Single-input ops whose params change only by shifting axes (or prepending the batch dim). */
const reparameterized =
  <K extends OpName>(shift: (params: OpParams[K], ctx: BatchContext<K>) => OpParams[K]): BatchRule<K> =>
  (ctx: BatchContext<K>) =>
    E.right(applyOp(ctx.node.op, [batchedInput(ctx as BatchContext<OpName>)], shift(ctx.params, ctx)));

const reduction = <K extends ReduceOp>(): BatchRule<K> =>
  reparameterized<K>((p: ReduceParams) => ({ ...p, axes: shiftAxes(p.axes) }));

const onAxis = <K extends typeof Op.ArgMax | typeof Op.Softmax | typeof Op.LogSoftmax | typeof Op.ExpandDims>(): BatchRule<K> =>
  reparameterized<K>((p) => ({ ...p, axis: p.axis + 1 }));

/** Matmul broadcasts its leading (batch) dims like an elementwise op; the last two are the matrix. */
const matmulRule: BatchRule<typeof Op.MatMul> = (ctx) => {
  const rank = ctx.node.shape.length;
  return E.right(applyOp(Op.MatMul, ctx.inputs.map((v) => withExampleRank(v, rank)), ctx.params));
};

const broadcastToRule: BatchRule<typeof Op.BroadcastTo> = (ctx) => {
  const target = ctx.params.shape;
  const x = withExampleRank(ctx.inputs[0]!, target.length);
  return E.right(applyOp(Op.BroadcastTo, [x], { shape: [ctx.batch, ...target] }));
};

const concatRule: BatchRule<typeof Op.Concat> = (ctx) =>
  E.right(applyOp(Op.Concat, ctx.inputs.map((v) => materialize(v, ctx.batch)), { axis: ctx.params.axis + 1 }));

/**
 * The batching rule of every op.
 * @example
 * // sum over axis 0 of a per-example [3, 4] tensor is, batched, a sum over axis 1 of [batch, 3, 4]:
 * batchRules[Op.Sum]({ node, params: { axes: [0], keepdims: false }, inputs: [{ tensor: xb, batched: true }], batch: "batch" })
 */
export const batchRules: { readonly [K in OpName]: BatchRule<K> } = {
  [Op.Input]: leafRule(),
  [Op.Param]: leafRule(),
  [Op.Constant]: leafRule(),
  [Op.Neg]: broadcasting(),
  [Op.Abs]: broadcasting(),
  [Op.Sign]: broadcasting(),
  [Op.Exp]: broadcasting(),
  [Op.Log]: broadcasting(),
  [Op.Sqrt]: broadcasting(),
  [Op.Square]: broadcasting(),
  [Op.Tanh]: broadcasting(),
  [Op.Sigmoid]: broadcasting(),
  [Op.Relu]: broadcasting(),
  [Op.Gelu]: broadcasting(),
  [Op.Softplus]: broadcasting(),
  [Op.Sin]: broadcasting(),
  [Op.Cos]: broadcasting(),
  [Op.Erf]: broadcasting(),
  [Op.Add]: broadcasting(),
  [Op.Sub]: broadcasting(),
  [Op.Mul]: broadcasting(),
  [Op.Div]: broadcasting(),
  [Op.Pow]: broadcasting(),
  [Op.Maximum]: broadcasting(),
  [Op.Minimum]: broadcasting(),
  [Op.MulNoNan]: broadcasting(),
  [Op.Less]: broadcasting(),
  [Op.LessEqual]: broadcasting(),
  [Op.Greater]: broadcasting(),
  [Op.GreaterEqual]: broadcasting(),
  [Op.Equal]: broadcasting(),
  [Op.NotEqual]: broadcasting(),
  [Op.Where]: broadcasting(),
  [Op.Sum]: reduction(),
  [Op.Mean]: reduction(),
  [Op.Max]: reduction(),
  [Op.Min]: reduction(),
  [Op.LogSumExp]: reduction(),
  [Op.ArgMax]: onAxis(),
  [Op.Reshape]: reparameterized((p, ctx) => ({ shape: [ctx.batch, ...p.shape] })),
  [Op.Transpose]: reparameterized((p) => ({ perm: [0, ...shiftAxes(p.perm)] })),
  [Op.BroadcastTo]: broadcastToRule,
  [Op.ExpandDims]: onAxis(),
  [Op.Squeeze]: reparameterized((p) => ({ axes: shiftAxes(p.axes) })),
  [Op.Concat]: concatRule,
  [Op.Slice]: reparameterized((p) => ({ ...p, axes: shiftAxes(p.axes) })),
  [Op.Pad]: reparameterized((p) => ({ before: [0, ...p.before], after: [0, ...p.after] })),
  [Op.Gather]: gatherBatchRule,
  [Op.ScatterAdd]: scatterAddBatchRule,
  [Op.MatMul]: matmulRule,
  [Op.Softmax]: onAxis(),
  [Op.LogSoftmax]: onAxis(),
  [Op.OneHot]: reparameterized((p) => p),
  [Op.Cast]: broadcasting(),
  [Op.StopGradient]: broadcasting(),
  ...windowBatchRules,
};

/** Applies the rule of `ctx.node.op`. */
export const applyBatchRule = (ctx: BatchContext<OpName>): E.Either<string, AnyTensor> =>
  (batchRules[ctx.node.op] as BatchRule<OpName>)(ctx);
