/**
 * The params codec of every op, for the graph JSON document.
 *
 * One entry per op (a mapped type over `Op`, so a new op does not compile until it has
 * one). Each entry is a closed record: it accepts exactly the fields of `OpParams[K]`,
 * range-checks numbers and shapes, and leaves relations between params and input shapes
 * (axes in range, permutations, slice bounds) to the op's shape rule, which runs next.
 */
import { DTYPES, Op, type DType, type InitSpec, type OpParams, type Pool2dParams, type ReduceParams } from "../ops.js";
import {
  GRAPH_JSON_LIMITS,
  boolean,
  boundedArray,
  boundedString,
  closedRecord,
  float,
  int32,
  integer,
  literal,
  oneOf,
  optional,
  shape,
  taggedUnion,
  type Codec,
} from "./jsonCodecs.js";

export const dtype: Codec<DType> = oneOf("dtype", DTYPES);

/** Input and param names: non-empty strings. */
export const leafName = boundedString("a name");

const axes = boundedArray("a list of axes", int32, GRAPH_JSON_LIMITS.maxRank);
const int32s = boundedArray("a list of integers", int32, GRAPH_JSON_LIMITS.maxRank);

const initSpec: Codec<InitSpec> = taggedUnion<InitSpec, "kind">("an initializer", "kind", {
  zeros: closedRecord("a zeros initializer", { kind: literal("zeros") }),
  ones: closedRecord("a ones initializer", { kind: literal("ones") }),
  constant: closedRecord("a constant initializer", { kind: literal("constant"), value: float }),
  normal: closedRecord("a normal initializer", { kind: literal("normal"), mean: float, std: float }),
  uniform: closedRecord("a uniform initializer", { kind: literal("uniform"), low: float, high: float }),
  glorotUniform: closedRecord("a glorotUniform initializer", { kind: literal("glorotUniform") }),
  glorotNormal: closedRecord("a glorotNormal initializer", { kind: literal("glorotNormal") }),
  heNormal: closedRecord("a heNormal initializer", { kind: literal("heNormal") }),
  heUniform: closedRecord("a heUniform initializer", { kind: literal("heUniform") }),
});

type NoParams = Readonly<Record<never, never>>;
const none = (op: Op): Codec<NoParams> => closedRecord<NoParams>(`${op} params`, {});

const reduce = (op: Op): Codec<ReduceParams> => closedRecord<ReduceParams>(`${op} params`, { axes, keepdims: boolean });

const axisOnly = (op: Op): Codec<{ readonly axis: number }> => closedRecord(`${op} params`, { axis: int32 });

// Window geometry: sizes are checked against each other and the shapes by the shape rules.
const pair = boundedArray("a [height, width] pair", integer(0, GRAPH_JSON_LIMITS.maxDim), 2);
const pads = boundedArray("padding [top, bottom, left, right]", integer(0, GRAPH_JSON_LIMITS.maxDim), 4);
const convFields = { strides: pair, dilations: pair, pads, groups: integer(1, GRAPH_JSON_LIMITS.maxDim) };
const poolFields = { kernel: pair, strides: pair, pads };
const pool = (op: Op): Codec<Pool2dParams> => closedRecord<Pool2dParams>(`${op} params`, poolFields);

/** The params codec of each op. */
export const paramsCodecs: { readonly [K in Op]: Codec<OpParams[K]> } = {
  [Op.Input]: closedRecord("input params", { name: leafName, shape, dtype }),
  [Op.Param]: closedRecord<OpParams["param"]>("param params", { name: leafName, shape, dtype, init: optional(initSpec) }),
  // Element count against values is checked with the node (it needs the shape).
  [Op.Constant]: closedRecord("constant params", {
    values: boundedArray("a list of values", float, GRAPH_JSON_LIMITS.maxElements),
    shape,
    dtype,
  }),
  [Op.Neg]: none(Op.Neg),
  [Op.Abs]: none(Op.Abs),
  [Op.Sign]: none(Op.Sign),
  [Op.Exp]: none(Op.Exp),
  [Op.Log]: none(Op.Log),
  [Op.Sqrt]: none(Op.Sqrt),
  [Op.Square]: none(Op.Square),
  [Op.Tanh]: none(Op.Tanh),
  [Op.Sigmoid]: none(Op.Sigmoid),
  [Op.Relu]: none(Op.Relu),
  [Op.Gelu]: none(Op.Gelu),
  [Op.Softplus]: none(Op.Softplus),
  [Op.Sin]: none(Op.Sin),
  [Op.Cos]: none(Op.Cos),
  [Op.Erf]: none(Op.Erf),
  [Op.Add]: none(Op.Add),
  [Op.Sub]: none(Op.Sub),
  [Op.Mul]: none(Op.Mul),
  [Op.Div]: none(Op.Div),
  [Op.Pow]: none(Op.Pow),
  [Op.Maximum]: none(Op.Maximum),
  [Op.Minimum]: none(Op.Minimum),
  [Op.MulNoNan]: none(Op.MulNoNan),
  [Op.Less]: none(Op.Less),
  [Op.LessEqual]: none(Op.LessEqual),
  [Op.Greater]: none(Op.Greater),
  [Op.GreaterEqual]: none(Op.GreaterEqual),
  [Op.Equal]: none(Op.Equal),
  [Op.NotEqual]: none(Op.NotEqual),
  [Op.Where]: none(Op.Where),
  [Op.Sum]: reduce(Op.Sum),
  [Op.Mean]: reduce(Op.Mean),
  [Op.Max]: reduce(Op.Max),
  [Op.Min]: reduce(Op.Min),
  [Op.LogSumExp]: reduce(Op.LogSumExp),
  [Op.ArgMax]: closedRecord("argmax params", { axis: int32, keepdims: boolean }),
  [Op.Reshape]: closedRecord("reshape params", { shape }),
  [Op.Transpose]: closedRecord("transpose params", { perm: axes }),
  [Op.BroadcastTo]: closedRecord("broadcastTo params", { shape }),
  [Op.ExpandDims]: axisOnly(Op.ExpandDims),
  [Op.Squeeze]: closedRecord("squeeze params", { axes }),
  [Op.Concat]: axisOnly(Op.Concat),
  [Op.Slice]: closedRecord("slice params", { axes, starts: int32s, ends: int32s, steps: int32s }),
  [Op.Pad]: closedRecord("pad params", { before: int32s, after: int32s }),
  [Op.Gather]: axisOnly(Op.Gather),
  [Op.ScatterAdd]: closedRecord("scatterAdd params", { axis: int32, shape }),
  [Op.MatMul]: closedRecord("matmul params", { transposeA: boolean, transposeB: boolean }),
  [Op.Softmax]: axisOnly(Op.Softmax),
  [Op.LogSoftmax]: axisOnly(Op.LogSoftmax),
  [Op.OneHot]: closedRecord("oneHot params", { depth: integer(1, GRAPH_JSON_LIMITS.maxDim), dtype }),
  [Op.Cast]: closedRecord("cast params", { dtype }),
  [Op.StopGradient]: none(Op.StopGradient),
  [Op.Conv2d]: closedRecord<OpParams["conv2d"]>("conv2d params", convFields),
  [Op.Conv2dBackpropInput]: closedRecord<OpParams["conv2dBackpropInput"]>("conv2dBackpropInput params", { ...convFields, inputSize: pair }),
  [Op.Conv2dBackpropFilter]: closedRecord<OpParams["conv2dBackpropFilter"]>("conv2dBackpropFilter params", { ...convFields, kernelSize: pair }),
  [Op.MaxPool2d]: pool(Op.MaxPool2d),
  [Op.MaxPool2dBackprop]: pool(Op.MaxPool2dBackprop),
  [Op.MaxPool2dSelect]: pool(Op.MaxPool2dSelect),
  [Op.AvgPool2d]: pool(Op.AvgPool2d),
  [Op.AvgPool2dBackprop]: closedRecord<OpParams["avgPool2dBackprop"]>("avgPool2dBackprop params", { ...poolFields, inputSize: pair }),
  [Op.RandomUniform]: closedRecord<OpParams["randomUniform"]>("randomUniform params", { shape, dtype, stream: int32 }),
};
