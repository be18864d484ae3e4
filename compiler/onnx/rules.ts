/**
 * The ONNX mapping: one rule per typegrad op, each turning a node into one or more ONNX
 * nodes (opset 18) that compute the same values as the reference kernels.
 *
 * Takes a node whose inputs are already named ONNX values; returns the name of the ONNX
 * value holding the node's result. Guarantees, for the graphs the exporter accepts: the
 * result has the node's dtype and shape; compositions replace ops whose ONNX form differs
 * from typegrad's semantics (softplus and log1p stay accurate at large |x|, mulNoNan is 0
 * where a == 0 even for inf/NaN b, oneHot gives a zero row for labels outside [0, depth),
 * float-to-i32 casts truncate and saturate with NaN -> 0, casts to bool test x != 0).
 * Gradient and optimizer ops are ordinary ops, so training steps map through the same
 * table. Leaves are handled by the exporter (graph inputs and initializers).
 */
import { Op, type DType } from "../../src/ops.js";
import type { NodeOf } from "../../src/graph/node.js";
import { ONNX_DTYPE, tensorOf, type OnnxEmitter } from "./emit.js";
import { erfcF64, erfF64 } from "./erf.js";
import { windowOnnxRules } from "./rulesWindow.js";

/** What a rule sees: the node, the ONNX names of its inputs, and the emitter. */
export interface RuleContext<K extends Op> {
  readonly node: NodeOf<K>;
  readonly inputs: readonly string[];
  readonly emit: OnnxEmitter;
}

/** Emits the ONNX nodes of one typegrad node and returns the name of its result. */
export type OnnxRule<K extends Op> = (ctx: RuleContext<K>) => string;
export type OnnxRuleTable = { readonly [K in Op]: OnnxRule<K> };

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;

const first = (inputs: readonly string[]): string => inputs[0]!;

/** A one-to-one ONNX op on the node's inputs. */
const direct =
  <K extends Op>(opType: string, attributes: (node: NodeOf<K>) => Readonly<Record<string, number>> = () => ({})): OnnxRule<K> =>
  ({ node, inputs, emit }) =>
    emit.op(opType, inputs, attributes(node));

/** A leaf: its value is the graph input or initializer of the same name. */
const leaf = <K extends typeof Op.Input | typeof Op.Param>(): OnnxRule<K> => ({ node }) => node.params.name;

/**
 * log(1 + t) for t >= 0 without the cancellation of Log(1 + t) at small t
 * (Goldberg: log(u)·t/(u - 1) with u = 1 + t, and t itself where u rounds to 1).
 */
const log1p = (emit: OnnxEmitter, t: string, dtype: DType): string => {
  const one = emit.scalar(1, dtype);
  const u = emit.op("Add", [one, t]);
  const ratio = emit.op("Div", [t, emit.op("Sub", [u, one])]);
  const accurate = emit.op("Mul", [emit.op("Log", [u]), ratio]);
  return emit.op("Where", [emit.op("Equal", [u, one]), t, accurate]);
};

/** Reductions over listed axes (opset 18: axes are an input); no axes copies the input. */
const reduce =
  <K extends typeof Op.Sum | typeof Op.Mean | typeof Op.Max | typeof Op.Min | typeof Op.LogSumExp>(opType: string): OnnxRule<K> =>
  ({ node, inputs, emit }) =>
    node.params.axes.length === 0
      ? emit.op("Identity", inputs)
      : emit.op(opType, [first(inputs), emit.int64s(node.params.axes)], { keepdims: node.params.keepdims ? 1 : 0 });

/**
 * ReduceMax/ReduceMin skip NaN in ONNX Runtime; the kernels propagate it. Adding the sum
 * of the NaN elements (0 when there are none) makes the result NaN exactly when one is.
 */
const reduceExtremum =
  <K extends typeof Op.Max | typeof Op.Min>(opType: string): OnnxRule<K> =>
  (ctx) => {
    const { node, inputs, emit } = ctx;
    const plain = reduce<K>(opType)(ctx);
    if (node.dtype === "i32" || node.params.axes.length === 0) return plain;
    const x = first(inputs);
    const nans = emit.op("Where", [emit.op("IsNaN", [x]), x, emit.scalar(0, node.dtype)]);
    const nanSum = emit.op("ReduceSum", [nans, emit.int64s(node.params.axes)], { keepdims: node.params.keepdims ? 1 : 0 });
    return emit.op("Add", [plain, nanSum]);
  };

/** argmax: the first largest element, where (as in the kernel) the first NaN counts as largest. */
const argmax: OnnxRule<typeof Op.ArgMax> = ({ node, inputs, emit }) => {
  const attributes = { axis: node.params.axis, keepdims: node.params.keepdims ? 1 : 0, select_last_index: 0 };
  const x = first(inputs);
  const plain = emit.op("ArgMax", [x], attributes);
  const toI32 = (v: string): string => emit.op("Cast", [v], { to: ONNX_DTYPE.i32 });
  if (node.inputs[0]!.dtype === "i32") return toI32(plain);
  const isNaN = toI32(emit.op("IsNaN", [x]));
  const firstNaN = emit.op("ArgMax", [isNaN], attributes);
  const anyNaN = emit.op("ReduceMax", [isNaN, emit.int64s([node.params.axis])], { keepdims: attributes.keepdims });
  return toI32(emit.op("Where", [emit.op("Greater", [anyNaN, emit.scalar(0, "i32")]), firstNaN, plain]));
};

/** Math.pow: unlike C's pow, 1^NaN and (±1)^±inf are NaN. */
const pow: OnnxRule<typeof Op.Pow> = ({ node, inputs, emit }) => {
  const [a, b] = [inputs[0]!, inputs[1]!];
  const unit = emit.op("Equal", [emit.op("Abs", [a]), emit.scalar(1, node.dtype)]);
  const undefinedExponent = emit.op("Or", [emit.op("IsNaN", [b]), emit.op("IsInf", [b])]);
  return emit.op("Where", [emit.op("And", [unit, undefinedExponent]), emit.scalar(NaN, node.dtype), emit.op("Pow", [a, b])]);
};

/** Swaps the last two axes of a value of rank `rank`. */
const swapLastTwo = (emit: OnnxEmitter, x: string, rank: number): string =>
  emit.op("Transpose", [x], { perm: [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2] });

const matmul: OnnxRule<typeof Op.MatMul> = ({ node, inputs, emit }) => {
  const [a, b] = [node.inputs[0]!, node.inputs[1]!];
  const { transposeA, transposeB } = node.params;
  if (a.shape.length === 2 && b.shape.length === 2)
    return emit.op("Gemm", inputs, { ...(transposeA ? { transA: 1 } : {}), ...(transposeB ? { transB: 1 } : {}) });
  const lhs = transposeA ? swapLastTwo(emit, inputs[0]!, a.shape.length) : inputs[0]!;
  const rhs = transposeB ? swapLastTwo(emit, inputs[1]!, b.shape.length) : inputs[1]!;
  return emit.op("MatMul", [lhs, rhs]);
};

/**
 * scatterAdd as ScatterElements(reduction "add") on zeros: the indices are flattened to one
 * axis, placed at `axis` and expanded to the updates' shape.
 */
const scatterAdd: OnnxRule<typeof Op.ScatterAdd> = ({ node, inputs, emit }) => {
  const [updates, indices] = [node.inputs[0]!, node.inputs[1]!];
  const { axis, shape: target } = node.params;
  const pre = target.slice(0, axis);
  const post = target.slice(axis + 1);
  let u = inputs[0]!;
  let idx = inputs[1]!;
  if (indices.shape.length !== 1) {
    const count = indices.shape.every((d): d is number => typeof d === "number")
      ? emit.int64s([indices.shape.reduce((p, d) => p * d, 1)])
      : emit.op("Reshape", [emit.op("Size", [idx]), emit.int64s([1])]);
    idx = emit.op("Reshape", [idx, count], { allowzero: 1 });
    const pieces = [...(pre.length > 0 ? [emit.shape(pre)] : []), count, ...(post.length > 0 ? [emit.shape(post)] : [])];
    u = emit.op("Reshape", [u, pieces.length === 1 ? count : emit.op("Concat", pieces, { axis: 0 })], { allowzero: 1 });
  }
  const around = [...Array.from({ length: axis }, (_, i) => i), ...Array.from({ length: post.length }, (_, i) => axis + 1 + i)];
  const placed = around.length === 0 ? idx : emit.op("Unsqueeze", [idx, emit.int64s(around)]);
  const expanded = emit.op("Expand", [placed, emit.op("Shape", [u])]);
  const zeros = emit.op("ConstantOfShape", [emit.shape(target)], { value: tensorOf("", [0], [1], updates.dtype) });
  return emit.op("ScatterElements", [zeros, expanded, u], { axis, reduction: "add" });
};

/** Float to i32 the way the runtime does it: truncate toward zero, saturate, NaN -> 0. */
const floatToI32 = (emit: OnnxEmitter, x: string, from: DType): string => {
  const wide = from === "f64" ? x : emit.op("Cast", [x], { to: ONNX_DTYPE.f64 });
  const clipped = emit.op("Clip", [wide, emit.scalar(I32_MIN, "f64"), emit.scalar(I32_MAX, "f64")]);
  const finite = emit.op("Where", [emit.op("IsNaN", [wide]), emit.scalar(0, "f64"), clipped]);
  return emit.op("Cast", [finite], { to: ONNX_DTYPE.i32 });
};

const cast: OnnxRule<typeof Op.Cast> = ({ node, inputs, emit }) => {
  const from = node.inputs[0]!.dtype;
  const to = node.params.dtype;
  const x = first(inputs);
  if (from === to) return emit.op("Identity", [x]);
  if (to === "bool") return emit.op("Not", [emit.op("Equal", [x, emit.scalar(0, from)])]);
  if (to === "i32" && from !== "bool") return floatToI32(emit, x, from);
  return emit.op("Cast", [x], { to: ONNX_DTYPE[to] });
};

/**
 * The mapping table, complete by construction.
 * @example
 * const name = onnxRules[node.op](ctx); // appends ONNX nodes through ctx.emit
 */
export const onnxRules: OnnxRuleTable = {
  [Op.Input]: leaf(),
  [Op.Param]: leaf(),
  [Op.Constant]: ({ node, emit }) =>
    emit.op("Constant", [], {
      value: tensorOf(
        "",
        node.params.values.length === 1 ? new Array<number>((node.shape as readonly number[]).reduce((p, d) => p * d, 1)).fill(node.params.values[0]!) : node.params.values,
        node.shape as readonly number[],
        node.dtype,
      ),
    }),
  [Op.Neg]: direct("Neg"),
  [Op.Abs]: direct("Abs"),
  [Op.Sign]: direct("Sign"),
  [Op.Exp]: direct("Exp"),
  [Op.Log]: direct("Log"),
  [Op.Sqrt]: direct("Sqrt"),
  [Op.Square]: ({ inputs, emit }) => emit.op("Mul", [first(inputs), first(inputs)]),
  [Op.Tanh]: direct("Tanh"),
  [Op.Sigmoid]: direct("Sigmoid"),
  // Relu has no int32 kernel in every runtime; max(x, 0) is the same function.
  [Op.Relu]: ({ node, inputs, emit }) => (node.dtype === "i32" ? emit.op("Max", [first(inputs), emit.scalar(0, "i32")]) : emit.op("Relu", inputs)),
  // ONNX has Gelu only from opset 20. f64: 0.5·x·erfc(-x/√2) as the kernel computes it;
  // f32: 0.5·x·(1 + erf(x/√2)), the form ONNX Runtime fuses into its Gelu kernel.
  [Op.Gelu]: ({ node, inputs, emit }) => {
    const x = first(inputs);
    if (node.dtype === "f64") {
      const tail = erfcF64(emit, emit.op("Mul", [emit.op("Neg", [x]), emit.scalar(Math.SQRT1_2, "f64")]));
      return emit.op("Mul", [emit.op("Mul", [emit.scalar(0.5, "f64"), x]), tail]);
    }
    const e = emit.op("Erf", [emit.op("Mul", [x, emit.scalar(Math.SQRT1_2, node.dtype)])]);
    const half = emit.op("Mul", [x, emit.scalar(0.5, node.dtype)]);
    return emit.op("Mul", [half, emit.op("Add", [e, emit.scalar(1, node.dtype)])]);
  },
  // max(x, 0) + log1p(exp(-|x|)): finite and accurate for any finite x.
  [Op.Softplus]: ({ node, inputs, emit }) => {
    const x = first(inputs);
    const t = emit.op("Exp", [emit.op("Neg", [emit.op("Abs", [x])])]);
    return emit.op("Add", [emit.op("Relu", [x]), log1p(emit, t, node.dtype)]);
  },
  [Op.Sin]: direct("Sin"),
  [Op.Cos]: direct("Cos"),
  // ONNX Runtime has no double Erf kernel (and a float one would lose f64 accuracy).
  [Op.Erf]: ({ node, inputs, emit }) => (node.dtype === "f64" ? erfF64(emit, first(inputs)) : emit.op("Erf", inputs)),
  [Op.Add]: direct("Add"),
  [Op.Sub]: direct("Sub"),
  [Op.Mul]: direct("Mul"),
  [Op.Div]: direct("Div"),
  [Op.Pow]: pow,
  [Op.Maximum]: direct("Max"),
  [Op.Minimum]: direct("Min"),
  [Op.MulNoNan]: ({ node, inputs, emit }) => {
    const zero = emit.scalar(0, node.dtype);
    return emit.op("Where", [emit.op("Equal", [inputs[0]!, zero]), zero, emit.op("Mul", inputs)]);
  },
  [Op.Less]: direct("Less"),
  [Op.LessEqual]: direct("LessOrEqual"),
  [Op.Greater]: direct("Greater"),
  [Op.GreaterEqual]: direct("GreaterOrEqual"),
  [Op.Equal]: direct("Equal"),
  [Op.NotEqual]: ({ inputs, emit }) => emit.op("Not", [emit.op("Equal", inputs)]),
  // Where has no bool kernel in ONNX Runtime: (m and a) or (not m and b) is the same.
  [Op.Where]: ({ node, inputs, emit }) => {
    if (node.dtype !== "bool") return emit.op("Where", inputs);
    const [m, a, b] = [inputs[0]!, inputs[1]!, inputs[2]!];
    return emit.op("Or", [emit.op("And", [m, a]), emit.op("And", [emit.op("Not", [m]), b])]);
  },
  [Op.Sum]: reduce("ReduceSum"),
  [Op.Mean]: reduce("ReduceMean"),
  [Op.Max]: reduceExtremum("ReduceMax"),
  [Op.Min]: reduceExtremum("ReduceMin"),
  [Op.LogSumExp]: reduce("ReduceLogSumExp"),
  [Op.ArgMax]: argmax,
  // allowzero: a 0 in the target shape is an empty dim, not "copy the input's dim".
  [Op.Reshape]: ({ node, inputs, emit }) => emit.op("Reshape", [first(inputs), emit.shape(node.params.shape)], { allowzero: 1 }),
  [Op.Transpose]: ({ node, inputs, emit }) => emit.op("Transpose", inputs, { perm: node.params.perm }),
  [Op.BroadcastTo]: ({ node, inputs, emit }) => emit.op("Expand", [first(inputs), emit.shape(node.params.shape)]),
  [Op.ExpandDims]: ({ node, inputs, emit }) => emit.op("Unsqueeze", [first(inputs), emit.int64s([node.params.axis])]),
  [Op.Squeeze]: ({ node, inputs, emit }) =>
    node.params.axes.length === 0 ? emit.op("Identity", inputs) : emit.op("Squeeze", [first(inputs), emit.int64s(node.params.axes)]),
  [Op.Concat]: direct("Concat", (node) => ({ axis: node.params.axis })),
  [Op.Slice]: ({ node, inputs, emit }) => {
    const p = node.params;
    if (p.axes.length === 0) return emit.op("Identity", inputs);
    return emit.op("Slice", [first(inputs), emit.int64s(p.starts), emit.int64s(p.ends), emit.int64s(p.axes), emit.int64s(p.steps)]);
  },
  [Op.Pad]: ({ node, inputs, emit }) =>
    emit.op("Pad", [first(inputs), emit.int64s([...node.params.before, ...node.params.after]), emit.scalar(0, node.dtype)], { mode: "constant" }),
  [Op.Gather]: direct("Gather", (node) => ({ axis: node.params.axis })),
  [Op.ScatterAdd]: scatterAdd,
  [Op.MatMul]: matmul,
  [Op.Softmax]: direct("Softmax", (node) => ({ axis: node.params.axis })),
  [Op.LogSoftmax]: direct("LogSoftmax", (node) => ({ axis: node.params.axis })),
  // labels[..., None] == [0, 1, ..., depth-1]: a label outside [0, depth) matches nothing.
  [Op.OneHot]: ({ node, inputs, emit }) => {
    const depth = node.params.depth;
    const range = emit.tensor(Array.from({ length: depth }, (_, i) => i), [depth], "i32");
    const hits = emit.op("Equal", [emit.op("Unsqueeze", [first(inputs), emit.int64s([-1])]), range]);
    return node.dtype === "bool" ? hits : emit.op("Cast", [hits], { to: ONNX_DTYPE[node.dtype] });
  },
  [Op.Cast]: cast,
  [Op.StopGradient]: direct("Identity"),
  ...windowOnnxRules,
};
