/**
 * Runtime shape and dtype rules, one per op.
 *
 * Takes the inputs' shapes/dtypes and the op's params; returns the output shape and
 * dtype, or a message that prints the user's shapes (symbolic dims by name). The same
 * rules run when the DSL builds a node, when a JSON graph is loaded, and when a program
 * binds symbolic dims to sizes at run time.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op, isFloat, type DType, type OpParams, type ReduceParams, type RuntimeDim, type RuntimeShape } from "../../src/ops.js";
import {
  broadcastShapes,
  formatShape,
  normalizeAxis,
  symbolicSize,
} from "../../src/graph/shapes.js";
import {
  avgPool2dBackpropShape, conv2dBackpropFilterShape, conv2dBackpropInputShape, conv2dShape, maxPool2dBackpropShape, maxPool2dSelectShape, pool2dShape,
  randomUniformShape,
} from "./shapeWindow.js";

export interface ArgInfo {
  readonly shape: RuntimeShape;
  readonly dtype: DType;
}
export type ShapeRule<K extends Op> = (inputs: readonly ArgInfo[], params: OpParams[K]) => E.Either<string, ArgInfo>;

const ok = (shape: RuntimeShape, dtype: DType): E.Either<string, ArgInfo> => E.right({ shape, dtype });
const fail = (msg: string): E.Either<string, ArgInfo> => E.left(msg);

type DTypeClass = "float" | "numeric" | "any";
const dtypeOk = (d: DType, c: DTypeClass): boolean =>
  c === "any" ? true : c === "float" ? isFloat(d) : d !== "bool";
const classText = (c: DTypeClass): string => (c === "float" ? "f32 or f64" : c === "numeric" ? "f32, f64 or i32" : "any dtype");

const arity = (inputs: readonly ArgInfo[], n: number): string | undefined =>
  inputs.length === n ? undefined : `expects ${n} input${n === 1 ? "" : "s"}, got ${inputs.length}`;

const validDim = (d: RuntimeDim): boolean =>
  typeof d === "number" ? Number.isSafeInteger(d) && d >= 0 : typeof d === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(d);

/** Dims must be non-negative integers or identifier names. */
export const checkShapeWellFormed = (s: unknown): string | undefined => {
  if (!Array.isArray(s)) return "shape must be an array of dims";
  const bad = s.findIndex((d) => !validDim(d as RuntimeDim));
  return bad < 0 ? undefined : `dim ${bad} of ${formatShape(s as RuntimeShape)} is ${JSON.stringify(s[bad])}: dims are non-negative integers or symbolic names`;
};

const leaf = (p: { readonly shape: RuntimeShape; readonly dtype: DType }, inputs: readonly ArgInfo[]): E.Either<string, ArgInfo> => {
  const a = arity(inputs, 0);
  if (a !== undefined) return fail(a);
  const bad = checkShapeWellFormed(p.shape);
  return bad === undefined ? ok(p.shape, p.dtype) : fail(bad);
};

const unary =
  (c: DTypeClass, outDtype?: DType): ShapeRule<Op> =>
  (inputs) => {
    const a = arity(inputs, 1);
    if (a !== undefined) return fail(a);
    const x = inputs[0]!;
    if (!dtypeOk(x.dtype, c)) return fail(`needs ${classText(c)}, got ${x.dtype} ${formatShape(x.shape)}`);
    return ok(x.shape, outDtype ?? x.dtype);
  };

const broadcastPair = (x: ArgInfo, y: ArgInfo, lhs = "lhs", rhs = "rhs"): E.Either<string, RuntimeShape> => {
  const b = broadcastShapes(x.shape, y.shape);
  return b.ok
    ? E.right(b.shape)
    : E.left(`cannot broadcast ${formatShape(x.shape)} (${lhs}) with ${formatShape(y.shape)} (${rhs}): ${String(b.da)} vs ${String(b.db)}`);
};

const binary =
  (c: DTypeClass, outDtype?: DType): ShapeRule<Op> =>
  (inputs) => {
    const a = arity(inputs, 2);
    if (a !== undefined) return fail(a);
    const [x, y] = [inputs[0]!, inputs[1]!];
    if (x.dtype !== y.dtype) return fail(`dtypes differ: ${x.dtype} (lhs ${formatShape(x.shape)}) vs ${y.dtype} (rhs ${formatShape(y.shape)})`);
    if (!dtypeOk(x.dtype, c)) return fail(`needs ${classText(c)}, got ${x.dtype}`);
    return E.map((s: RuntimeShape) => ({ shape: s, dtype: outDtype ?? x.dtype }))(broadcastPair(x, y));
  };

const checkAxes = (axes: readonly number[], rank: number, shape: RuntimeShape): string | undefined => {
  for (const ax of axes) {
    if (normalizeAxis(ax, rank) !== ax) return `axis ${ax} out of range for rank ${rank} (${formatShape(shape)})`;
  }
  return new Set(axes).size === axes.length ? undefined : `axes ${JSON.stringify(axes)} repeat an axis`;
};

const reduce =
  (c: DTypeClass) =>
  (inputs: readonly ArgInfo[], p: ReduceParams): E.Either<string, ArgInfo> => {
    const a = arity(inputs, 1);
    if (a !== undefined) return fail(a);
    const x = inputs[0]!;
    if (!dtypeOk(x.dtype, c)) return fail(`needs ${classText(c)}, got ${x.dtype}`);
    const bad = checkAxes(p.axes, x.shape.length, x.shape);
    if (bad !== undefined) return fail(bad);
    const shape = p.keepdims ? x.shape.map((d, i) => (p.axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !p.axes.includes(i));
    return ok(shape, x.dtype);
  };

const axisRule =
  (c: DTypeClass) =>
  (inputs: readonly ArgInfo[], p: { readonly axis: number }): E.Either<string, ArgInfo> => {
    const a = arity(inputs, 1);
    if (a !== undefined) return fail(a);
    const x = inputs[0]!;
    if (!dtypeOk(x.dtype, c)) return fail(`needs ${classText(c)}, got ${x.dtype}`);
    if (normalizeAxis(p.axis, x.shape.length) !== p.axis) return fail(`axis ${p.axis} out of range for rank ${x.shape.length} (${formatShape(x.shape)})`);
    return ok(x.shape, x.dtype);
  };

const sumDims = (dims: readonly RuntimeDim[]): RuntimeDim | undefined => {
  let n = 0;
  for (const d of dims) {
    if (typeof d !== "number") return dims.length === 1 ? d : undefined;
    n += d;
  }
  return n;
};

const matmulRule: ShapeRule<typeof Op.MatMul> = (inputs, p) => {
  const a = arity(inputs, 2);
  if (a !== undefined) return fail(a);
  const [x, y] = [inputs[0]!, inputs[1]!];
  if (x.dtype !== y.dtype) return fail(`dtypes differ: ${x.dtype} (lhs ${formatShape(x.shape)}) vs ${y.dtype} (rhs ${formatShape(y.shape)})`);
  if (!isFloat(x.dtype)) return fail(`needs f32 or f64, got ${x.dtype}`);
  if (x.shape.length < 2) return fail(`lhs must have rank >= 2, got ${formatShape(x.shape)}`);
  if (y.shape.length < 2) return fail(`rhs must have rank >= 2, got ${formatShape(y.shape)}`);
  const xr = x.shape.length;
  const yr = y.shape.length;
  const m = p.transposeA ? x.shape[xr - 1]! : x.shape[xr - 2]!;
  const k1 = p.transposeA ? x.shape[xr - 2]! : x.shape[xr - 1]!;
  const k2 = p.transposeB ? y.shape[yr - 1]! : y.shape[yr - 2]!;
  const n = p.transposeB ? y.shape[yr - 2]! : y.shape[yr - 1]!;
  if (k1 !== k2) return fail(`inner dims differ: ${String(k1)} (lhs ${formatShape(x.shape)}) vs ${String(k2)} (rhs ${formatShape(y.shape)})`);
  const batch = broadcastShapes(x.shape.slice(0, -2), y.shape.slice(0, -2));
  if (!batch.ok) return fail(`batch dims do not broadcast: ${formatShape(x.shape)} (lhs) vs ${formatShape(y.shape)} (rhs)`);
  return ok([...batch.shape, m, n], x.dtype);
};

const isPermutation = (perm: readonly number[], rank: number): boolean =>
  perm.length === rank && perm.every((v) => Number.isInteger(v) && v >= 0 && v < rank) && new Set(perm).size === rank;

export const shapeRules: { readonly [K in Op]: ShapeRule<K> } = {
  [Op.Input]: (inputs, p) => leaf(p, inputs),
  [Op.Param]: (inputs, p) => leaf(p, inputs),
  [Op.Constant]: (inputs, p) => {
    const r = leaf(p, inputs);
    if (E.isLeft(r)) return r;
    const s = symbolicSize(p.shape);
    if (s.syms !== "") return fail(`constant shape ${formatShape(p.shape)} must be concrete`);
    if (p.values.length !== 1 && p.values.length !== s.n) return fail(`constant of shape ${formatShape(p.shape)} needs ${s.n} values (or 1), got ${p.values.length}`);
    return r;
  },
  [Op.Neg]: unary("numeric"),
  [Op.Abs]: unary("numeric"),
  [Op.Sign]: unary("numeric"),
  [Op.Exp]: unary("float"),
  [Op.Log]: unary("float"),
  [Op.Sqrt]: unary("float"),
  [Op.Square]: unary("numeric"),
  [Op.Tanh]: unary("float"),
  [Op.Sigmoid]: unary("float"),
  [Op.Relu]: unary("numeric"),
  [Op.Gelu]: unary("float"),
  [Op.Softplus]: unary("float"),
  [Op.Sin]: unary("float"),
  [Op.Cos]: unary("float"),
  [Op.Erf]: unary("float"),
  [Op.Add]: binary("numeric"),
  [Op.Sub]: binary("numeric"),
  [Op.Mul]: binary("numeric"),
  [Op.Div]: binary("float"),
  [Op.Pow]: binary("float"),
  [Op.Maximum]: binary("numeric"),
  [Op.Minimum]: binary("numeric"),
  [Op.MulNoNan]: binary("float"),
  [Op.Less]: binary("numeric", "bool"),
  [Op.LessEqual]: binary("numeric", "bool"),
  [Op.Greater]: binary("numeric", "bool"),
  [Op.GreaterEqual]: binary("numeric", "bool"),
  [Op.Equal]: binary("any", "bool"),
  [Op.NotEqual]: binary("any", "bool"),
  [Op.Where]: (inputs) => {
    const a = arity(inputs, 3);
    if (a !== undefined) return fail(a);
    const [m, x, y] = [inputs[0]!, inputs[1]!, inputs[2]!];
    if (m.dtype !== "bool") return fail(`mask must be bool, got ${m.dtype} ${formatShape(m.shape)}`);
    if (x.dtype !== y.dtype) return fail(`branch dtypes differ: ${x.dtype} (then ${formatShape(x.shape)}) vs ${y.dtype} (else ${formatShape(y.shape)})`);
    const xy = broadcastPair(x, y, "then", "else");
    if (E.isLeft(xy)) return xy;
    return E.map((s: RuntimeShape) => ({ shape: s, dtype: x.dtype }))(broadcastPair(m, { shape: xy.right, dtype: x.dtype }, "mask", "branches"));
  },
  [Op.Sum]: reduce("numeric"),
  [Op.Mean]: reduce("float"),
  [Op.Max]: reduce("numeric"),
  [Op.Min]: reduce("numeric"),
  [Op.LogSumExp]: reduce("float"),
  [Op.ArgMax]: (inputs, p) => {
    const r = reduce("numeric")(inputs, { axes: [p.axis], keepdims: p.keepdims });
    return E.map((o: ArgInfo): ArgInfo => ({ shape: o.shape, dtype: "i32" }))(r);
  },
  [Op.Reshape]: (inputs, p) => {
    const a = arity(inputs, 1);
    if (a !== undefined) return fail(a);
    const x = inputs[0]!;
    const bad = checkShapeWellFormed(p.shape);
    if (bad !== undefined) return fail(bad);
    const from = symbolicSize(x.shape);
    const to = symbolicSize(p.shape);
    if (from.n !== to.n || from.syms !== to.syms)
      return fail(`element count changes: ${formatShape(x.shape)} has ${sizeText(from)}, ${formatShape(p.shape)} has ${sizeText(to)}`);
    return ok(p.shape, x.dtype);
  },
  [Op.Transpose]: (inputs, p) => {
    const a = arity(inputs, 1);
    if (a !== undefined) return fail(a);
    const x = inputs[0]!;
    if (!isPermutation(p.perm, x.shape.length)) return fail(`perm ${JSON.stringify(p.perm)} is not a permutation of the ${x.shape.length} axes of ${formatShape(x.shape)}`);
    return ok(p.perm.map((i) => x.shape[i]!), x.dtype);
  },
  [Op.BroadcastTo]: (inputs, p) => {
    const a = arity(inputs, 1);
    if (a !== undefined) return fail(a);
    const x = inputs[0]!;
    const bad = checkShapeWellFormed(p.shape);
    if (bad !== undefined) return fail(bad);
    const fits =
      x.shape.length <= p.shape.length &&
      x.shape.every((d, i) => d === 1 || d === p.shape[p.shape.length - x.shape.length + i]);
    return fits ? ok(p.shape, x.dtype) : fail(`cannot broadcast ${formatShape(x.shape)} to ${formatShape(p.shape)}`);
  },
  [Op.ExpandDims]: (inputs, p) => {
    const a = arity(inputs, 1);
    if (a !== undefined) return fail(a);
    const x = inputs[0]!;
    const r = x.shape.length + 1;
    if (normalizeAxis(p.axis, r) !== p.axis) return fail(`axis ${p.axis} out of range for inserting into ${formatShape(x.shape)}`);
    return ok([...x.shape.slice(0, p.axis), 1, ...x.shape.slice(p.axis)], x.dtype);
  },
  [Op.Squeeze]: (inputs, p) => {
    const a = arity(inputs, 1);
    if (a !== undefined) return fail(a);
    const x = inputs[0]!;
    const bad = checkAxes(p.axes, x.shape.length, x.shape);
    if (bad !== undefined) return fail(bad);
    const notOne = p.axes.find((ax) => x.shape[ax] !== 1);
    if (notOne !== undefined) return fail(`axis ${notOne} of ${formatShape(x.shape)} has size ${String(x.shape[notOne])}, not 1`);
    return ok(x.shape.filter((_, i) => !p.axes.includes(i)), x.dtype);
  },
  [Op.Concat]: (inputs, p) => {
    if (inputs.length === 0) return fail("needs at least one input");
    const first = inputs[0]!;
    const rank = first.shape.length;
    if (normalizeAxis(p.axis, rank) !== p.axis) return fail(`axis ${p.axis} out of range for rank ${rank} (${formatShape(first.shape)})`);
    for (const [i, x] of inputs.entries()) {
      if (x.dtype !== first.dtype) return fail(`dtypes differ: ${first.dtype} (input 0) vs ${x.dtype} (input ${i})`);
      if (x.shape.length !== rank) return fail(`ranks differ: ${formatShape(first.shape)} (input 0) vs ${formatShape(x.shape)} (input ${i})`);
      const off = x.shape.findIndex((d, ax) => ax !== p.axis && d !== first.shape[ax]);
      if (off >= 0) return fail(`dim ${off} differs: ${formatShape(first.shape)} (input 0) vs ${formatShape(x.shape)} (input ${i})`);
    }
    const total = sumDims(inputs.map((x) => x.shape[p.axis]!));
    if (total === undefined) return fail(`cannot concatenate along symbolic dims: ${inputs.map((x) => formatShape(x.shape)).join(", ")}`);
    return ok(first.shape.map((d, ax) => (ax === p.axis ? total : d)), first.dtype);
  },
  [Op.Slice]: (inputs, p) => {
    const a = arity(inputs, 1);
    if (a !== undefined) return fail(a);
    const x = inputs[0]!;
    const n = p.axes.length;
    if (p.starts.length !== n || p.ends.length !== n || p.steps.length !== n) return fail("axes, starts, ends and steps must have the same length");
    const bad = checkAxes(p.axes, x.shape.length, x.shape);
    if (bad !== undefined) return fail(bad);
    const out = [...x.shape];
    for (let i = 0; i < n; i++) {
      const ax = p.axes[i]!;
      const d = x.shape[ax]!;
      const [s, e, st] = [p.starts[i]!, p.ends[i]!, p.steps[i]!];
      if (typeof d !== "number") return fail(`cannot slice symbolic dim ${d} (axis ${ax} of ${formatShape(x.shape)})`);
      if (!Number.isInteger(st) || st < 1) return fail(`step ${st} on axis ${ax} must be a positive integer`);
      if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > d || s > e)
        return fail(`range ${s}:${e} is outside axis ${ax} of ${formatShape(x.shape)}`);
      out[ax] = Math.ceil((e - s) / st);
    }
    return ok(out, x.dtype);
  },
  [Op.Pad]: (inputs, p) => {
    const a = arity(inputs, 1);
    if (a !== undefined) return fail(a);
    const x = inputs[0]!;
    const r = x.shape.length;
    if (p.before.length !== r || p.after.length !== r) return fail(`padding needs ${r} entries before and after for ${formatShape(x.shape)}`);
    const out: RuntimeDim[] = [];
    for (let ax = 0; ax < r; ax++) {
      const [b, e, d] = [p.before[ax]!, p.after[ax]!, x.shape[ax]!];
      if (!Number.isInteger(b) || !Number.isInteger(e) || b < 0 || e < 0) return fail(`padding on axis ${ax} must be non-negative integers, got ${b}, ${e}`);
      if (typeof d !== "number") {
        if (b !== 0 || e !== 0) return fail(`cannot pad symbolic dim ${d} (axis ${ax} of ${formatShape(x.shape)})`);
        out.push(d);
      } else out.push(d + b + e);
    }
    return ok(out, x.dtype);
  },
  [Op.Gather]: (inputs, p) => {
    const a = arity(inputs, 2);
    if (a !== undefined) return fail(a);
    const [x, idx] = [inputs[0]!, inputs[1]!];
    if (idx.dtype !== "i32") return fail(`indices must be i32, got ${idx.dtype} ${formatShape(idx.shape)}`);
    if (normalizeAxis(p.axis, x.shape.length) !== p.axis) return fail(`axis ${p.axis} out of range for rank ${x.shape.length} (${formatShape(x.shape)})`);
    return ok([...x.shape.slice(0, p.axis), ...idx.shape, ...x.shape.slice(p.axis + 1)], x.dtype);
  },
  [Op.ScatterAdd]: (inputs, p) => {
    const a = arity(inputs, 2);
    if (a !== undefined) return fail(a);
    const [u, idx] = [inputs[0]!, inputs[1]!];
    if (idx.dtype !== "i32") return fail(`indices must be i32, got ${idx.dtype} ${formatShape(idx.shape)}`);
    if (!dtypeOk(u.dtype, "numeric")) return fail(`needs f32, f64 or i32 updates, got ${u.dtype}`);
    const bad = checkShapeWellFormed(p.shape);
    if (bad !== undefined) return fail(bad);
    if (normalizeAxis(p.axis, p.shape.length) !== p.axis) return fail(`axis ${p.axis} out of range for rank ${p.shape.length} (${formatShape(p.shape)})`);
    const expect = [...p.shape.slice(0, p.axis), ...idx.shape, ...p.shape.slice(p.axis + 1)];
    if (expect.length !== u.shape.length || expect.some((d, i) => d !== u.shape[i]))
      return fail(`updates ${formatShape(u.shape)} do not match ${formatShape(expect)} (target ${formatShape(p.shape)}, indices ${formatShape(idx.shape)})`);
    return ok(p.shape, u.dtype);
  },
  [Op.MatMul]: matmulRule,
  [Op.Softmax]: axisRule("float"),
  [Op.LogSoftmax]: axisRule("float"),
  [Op.OneHot]: (inputs, p) => {
    const a = arity(inputs, 1);
    if (a !== undefined) return fail(a);
    const x = inputs[0]!;
    if (x.dtype !== "i32") return fail(`labels must be i32, got ${x.dtype} ${formatShape(x.shape)}`);
    if (!Number.isSafeInteger(p.depth) || p.depth < 1) return fail(`depth must be a positive integer, got ${p.depth}`);
    return ok([...x.shape, p.depth], p.dtype);
  },
  [Op.Cast]: (inputs, p) => {
    const a = arity(inputs, 1);
    return a !== undefined ? fail(a) : ok(inputs[0]!.shape, p.dtype);
  },
  [Op.StopGradient]: unary("any"),
  [Op.Conv2d]: conv2dShape,
  [Op.Conv2dBackpropInput]: conv2dBackpropInputShape,
  [Op.Conv2dBackpropFilter]: conv2dBackpropFilterShape,
  [Op.MaxPool2d]: pool2dShape,
  [Op.MaxPool2dBackprop]: maxPool2dBackpropShape,
  [Op.MaxPool2dSelect]: maxPool2dSelectShape,
  [Op.AvgPool2d]: pool2dShape,
  [Op.AvgPool2dBackprop]: avgPool2dBackpropShape,
  [Op.RandomUniform]: randomUniformShape,
};

function sizeText(s: { n: number; syms: string }): string {
  return s.syms === "" ? `${s.n} elements` : s.n === 1 ? `${s.syms} elements` : `${s.syms}*${s.n} elements`;
}

/** Applies the rule of `op`; the message does not yet name the op or location. */
export const inferShape = <K extends Op>(op: K, inputs: readonly ArgInfo[], params: OpParams[K]): E.Either<string, ArgInfo> =>
  (shapeRules[op] as ShapeRule<K>)(inputs, params);
