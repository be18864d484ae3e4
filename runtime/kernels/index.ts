/**
 * The reference kernel table: one portable TypeScript kernel per op.
 *
 * Takes input values, params and a preallocated output (see `Kernel`); every op works
 * for f32 and f64 and, wherever `compiler/rules/shape.ts` accepts them, i32 and bool.
 * Leaves: `input` and `param` are bound by the executor, which passes the fed value as
 * the only input and the kernel copies it into `out`; `constant` fills from its params.
 * These kernels define the semantics the fast paths (fused loops, tiled matmul, WASM)
 * are tested against.
 */
import { Op } from "../../src/ops.js";
import type { Node } from "../../src/graph/node.js";
import type { TensorValue } from "../value.js";
import type { Kernel } from "./kernel.js";
import { elementwiseKernels } from "./elementwise.js";
import { reduceKernels } from "./reduce.js";
import { matmulKernel } from "./matmul.js";
import {
  broadcastToKernel,
  concatKernel,
  constantKernel,
  copyKernel,
  gatherKernel,
  leafKernel,
  oneHotKernel,
  padKernel,
  scatterAddKernel,
  sliceKernel,
  transposeKernel,
} from "./structure.js";
import { conv2dBackpropFilterKernel, conv2dBackpropInputKernel, conv2dKernel } from "./conv.js";
import { avgPool2dBackpropKernel, avgPool2dKernel, maxPool2dBackpropKernel, maxPool2dKernel, maxPool2dSelectKernel } from "./pool.js";
import { randomUniformKernel } from "./random.js";

export type { Kernel } from "./kernel.js";

/**
 * The reference kernel of every op.
 * @example
 * const out = { dtype: "f64", shape: [2], data: new Float64Array(2) } as const;
 * kernels.add([tensorValue("f64", [2], [1, 2]), tensorValue("f64", [], [10])], {}, out); // out.data = [11, 12]
 */
export const kernels: { readonly [K in Op]: Kernel<K> } = {
  [Op.Input]: leafKernel(),
  [Op.Param]: leafKernel(),
  [Op.Constant]: constantKernel,
  ...elementwiseKernels,
  ...reduceKernels,
  [Op.Reshape]: copyKernel(),
  [Op.Transpose]: transposeKernel,
  [Op.BroadcastTo]: broadcastToKernel,
  [Op.ExpandDims]: copyKernel(),
  [Op.Squeeze]: copyKernel(),
  [Op.Concat]: concatKernel,
  [Op.Slice]: sliceKernel,
  [Op.Pad]: padKernel,
  [Op.Gather]: gatherKernel,
  [Op.ScatterAdd]: scatterAddKernel,
  [Op.MatMul]: matmulKernel,
  [Op.OneHot]: oneHotKernel,
  [Op.StopGradient]: copyKernel(),
  [Op.Conv2d]: conv2dKernel,
  [Op.Conv2dBackpropInput]: conv2dBackpropInputKernel,
  [Op.Conv2dBackpropFilter]: conv2dBackpropFilterKernel,
  [Op.MaxPool2d]: maxPool2dKernel,
  [Op.MaxPool2dBackprop]: maxPool2dBackpropKernel,
  [Op.MaxPool2dSelect]: maxPool2dSelectKernel,
  [Op.AvgPool2d]: avgPool2dKernel,
  [Op.AvgPool2dBackprop]: avgPool2dBackpropKernel,
  [Op.RandomUniform]: randomUniformKernel,
};

/**
 * Runs the kernel of `node.op` on values for its inputs into `out`: the call an executor
 * makes for a node, without the cast that indexing `kernels` by a union op needs.
 * @example runNodeKernel(node, node.inputs.map((i) => values.get(i)!), out);
 */
export const runNodeKernel = (node: Node, inputs: readonly TensorValue[], out: TensorValue): void =>
  (kernels[node.op] as Kernel<Op>)(inputs, node.params, out);

/**
 * Runs the kernel of `op` (a typed call for code that holds the op as a variable).
 * @example runKernel(Op.Softmax, [logits], { axis: 1 }, out);
 */
export const runKernel = <K extends Op>(op: K, inputs: Parameters<Kernel<K>>[0], params: Parameters<Kernel<K>>[1], out: Parameters<Kernel<K>>[2]): void =>
  (kernels[op] as Kernel<K>)(inputs, params, out);
