/**
 * Floating-point operation counts per op, for model summaries.
 *
 * Takes a node and the concrete shapes of its inputs and output; returns how many
 * arithmetic operations its kernel does, by these rules (one table entry per op):
 * - matmul: 2·K per output element (a multiply and an add per inner-dim step), i.e.
 *   2·M·K·N for `[M, K] x [K, N]`, times the batch dims;
 * - elementwise ops (unary, binary, comparisons, where): 1 per output element, whatever
 *   the function (exp and tanh count like add);
 * - reductions (sum, mean, max, min, argmax): 1 per input element; logsumexp: 3 per input
 *   element (subtract the max, exp, add);
 * - softmax and logSoftmax: 5 per element (max, subtract, exp, sum, divide or log);
 * - scatterAdd: 1 per update element;
 * - leaves and data movement (reshape, transpose, broadcastTo, slice, pad, concat, gather,
 *   oneHot, cast, ...): 0.
 * Counts are exact under these rules and deterministic; they ignore memory traffic.
 */
import { Op } from "../ops.js";
import type { Node } from "../graph/node.js";
import { numel } from "../graph/shapes.js";

/** What a rule sees: the node (narrowed to its op) and concrete shapes. */
export interface FlopContext<K extends Op> {
  readonly node: Extract<Node, { op: K }>;
  readonly inputs: readonly (readonly number[])[];
  readonly output: readonly number[];
}

type FlopRule<K extends Op> = (c: FlopContext<K>) => number;

/** A rule that needs only shapes, so it fits every op's entry. */
type ShapeRule = (c: { readonly inputs: readonly (readonly number[])[]; readonly output: readonly number[] }) => number;

const none: ShapeRule = () => 0;
const perOutput =
  (k: number): ShapeRule =>
  (c) =>
    k * numel(c.output);
const perInput =
  (k: number): ShapeRule =>
  (c) =>
    k * numel(c.inputs[0] ?? []);

const matmulFlops: FlopRule<typeof Op.MatMul> = ({ node, inputs, output }) => {
  const lhs = inputs[0] ?? [];
  const r = lhs.length;
  const k = node.params.transposeA ? lhs[r - 2]! : lhs[r - 1]!;
  return 2 * k * numel(output);
};

/** Input channels per group times kernel taps, from OIHW weights [O, C/groups, kh, kw]. */
const windowTaps = (weights: readonly number[] | undefined): number => (weights ?? []).slice(1).reduce((p, d) => p * d, 1);
const poolTaps = (kernel: readonly number[]): number => kernel.reduce((p, d) => p * d, 1);

/** One FLOP rule per op (see the header for what each counts). */
export const FLOP_RULES: { readonly [K in Op]: FlopRule<K> } = {
  input: none,
  param: none,
  constant: none,
  neg: perOutput(1),
  abs: perOutput(1),
  sign: perOutput(1),
  exp: perOutput(1),
  log: perOutput(1),
  sqrt: perOutput(1),
  square: perOutput(1),
  tanh: perOutput(1),
  sigmoid: perOutput(1),
  relu: perOutput(1),
  gelu: perOutput(1),
  softplus: perOutput(1),
  sin: perOutput(1),
  cos: perOutput(1),
  erf: perOutput(1),
  add: perOutput(1),
  sub: perOutput(1),
  mul: perOutput(1),
  div: perOutput(1),
  pow: perOutput(1),
  maximum: perOutput(1),
  minimum: perOutput(1),
  mulNoNan: perOutput(1),
  less: perOutput(1),
  lessEqual: perOutput(1),
  greater: perOutput(1),
  greaterEqual: perOutput(1),
  equal: perOutput(1),
  notEqual: perOutput(1),
  where: perOutput(1),
  sum: perInput(1),
  mean: perInput(1),
  max: perInput(1),
  min: perInput(1),
  logsumexp: perInput(3),
  argmax: perInput(1),
  reshape: none,
  transpose: none,
  broadcastTo: none,
  expandDims: none,
  squeeze: none,
  concat: none,
  slice: none,
  pad: none,
  gather: none,
  scatterAdd: perInput(1),
  matmul: matmulFlops,
  softmax: perOutput(5),
  logSoftmax: perOutput(5),
  oneHot: none,
  cast: none,
  stopGradient: none,
  // windowed ops: 2 per tap per output element (a multiply and an add); pooling 1 per tap
  conv2d: ({ inputs, output }) => windowTaps(inputs[1]) * 2 * numel(output),
  conv2dBackpropInput: ({ inputs }) => windowTaps(inputs[1]) * 2 * numel(inputs[0] ?? []),
  conv2dBackpropFilter: ({ inputs, output }) => windowTaps(output) * 2 * numel(inputs[1] ?? []),
  maxPool2d: ({ node, output }) => poolTaps(node.params.kernel) * numel(output),
  maxPool2dBackprop: ({ node, inputs }) => 3 * poolTaps(node.params.kernel) * numel(inputs[1] ?? []),
  maxPool2dSelect: ({ node, output }) => 3 * poolTaps(node.params.kernel) * numel(output),
  avgPool2d: ({ node, output }) => poolTaps(node.params.kernel) * numel(output),
  avgPool2dBackprop: ({ node, inputs }) => poolTaps(node.params.kernel) * numel(inputs[0] ?? []),
  randomUniform: perOutput(10),
};

/**
 * FLOPs of one node given concrete shapes.
 * @example nodeFlops(matmulNode, [[1, 784], [784, 256]], [1, 256]) // 401408
 */
export const nodeFlops = (node: Node, inputs: readonly (readonly number[])[], output: readonly number[]): number =>
  (FLOP_RULES[node.op] as FlopRule<Op>)({ node, inputs, output } as FlopContext<Op>);
