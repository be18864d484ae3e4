/**
 * Deliberately naive reference semantics of every op, for testing the kernels.
 *
 * Written separately from `runtime/kernels` and sharing no code with it: values are
 * plain number arrays, every op walks its output by multi-index and computes the input
 * multi-index it reads (reductions scan the whole input for each output), shapes are
 * recomputed here from the op's semantics, and the special functions use different
 * formulas (erf by a positive-term series, softmax by 1 / Σ exp(x_j - x_i)). Slow and
 * simple on purpose; fine for the small tensors of the op-spec table.
 *
 * naiveEvaluate(outputs, feeds)   the values of `outputs`, feeds keyed by leaf name.
 */
import { Op, type DType, type RuntimeShape } from "../../src/ops.js";
import type { Node } from "../../src/graph/node.js";
import type { TensorValue } from "../../runtime/value.js";
import { naiveWindowNode } from "./naiveWindow.js";

export interface NaiveValue {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly values: readonly number[];
}

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Multi-index of flat position `flat` in row-major order. */
const unravel = (shape: readonly number[], flat: number): number[] => {
  const idx = new Array<number>(shape.length).fill(0);
  for (let ax = shape.length - 1; ax >= 0; ax--) {
    idx[ax] = flat % shape[ax]!;
    flat = Math.floor(flat / shape[ax]!);
  }
  return idx;
};

/** Flat position of a multi-index in row-major order. */
const ravel = (shape: readonly number[], idx: readonly number[]): number => {
  let flat = 0;
  for (let ax = 0; ax < shape.length; ax++) flat = flat * shape[ax]! + idx[ax]!;
  return flat;
};

const at = (v: NaiveValue, idx: readonly number[]): number => v.values[ravel(v.shape, idx)]!;

/** Wraps an exact integer to int32 with BigInt arithmetic (independent of Math.imul / |0). */
const wrap32 = (x: bigint): number => Number(BigInt.asIntN(32, x));

/** The value stored in a tensor of `dtype`. */
const store = (dtype: DType, x: number): number => {
  switch (dtype) {
    case "f64":
      return x;
    case "f32":
      return Math.fround(x);
    case "i32":
      return wrap32(BigInt(Math.trunc(x)));
    case "bool":
      return x !== 0 ? 1 : 0;
  }
};

const make = (dtype: DType, shape: readonly number[], f: (idx: number[]) => number): NaiveValue => ({
  dtype,
  shape,
  values: Array.from({ length: count(shape) }, (_, i) => store(dtype, f(unravel(shape, i)))),
});

/** erf(x) = 2/√π · e^(-x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)): all terms positive for x > 0. */
export const naiveErf = (x: number): number => {
  if (x < 0) return -naiveErf(-x);
  if (x > 6) return 1;
  let term = x;
  let sum = x;
  for (let n = 1; n < 500 && term > 1e-18 * sum; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
};

const nanMax = (a: number, b: number): number => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a > b ? a : b === 0 && a === 0 ? (Object.is(a, -0) ? b : a) : b);
const nanMin = (a: number, b: number): number => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a < b ? a : b === 0 && a === 0 ? (Object.is(a, -0) ? a : b) : b);

const unaryFns: Record<string, (x: number, dtype: DType) => number> = {
  [Op.Neg]: (x, d) => (d === "i32" ? wrap32(-BigInt(x)) : -x),
  [Op.Abs]: (x, d) => (d === "i32" ? wrap32(BigInt(x < 0 ? -x : x)) : x < 0 ? -x : x === 0 ? 0 : x),
  [Op.Sign]: (x) => (Number.isNaN(x) ? NaN : x > 0 ? 1 : x < 0 ? -1 : x),
  [Op.Exp]: (x) => Math.exp(x),
  [Op.Log]: (x) => Math.log(x),
  [Op.Sqrt]: (x) => Math.sqrt(x),
  [Op.Square]: (x, d) => (d === "i32" ? wrap32(BigInt(x) * BigInt(x)) : x * x),
  [Op.Tanh]: (x) => Math.tanh(x),
  [Op.Sigmoid]: (x) => 1 / (1 + Math.exp(-x)),
  [Op.Relu]: (x) => (Number.isNaN(x) ? x : x > 0 ? x : 0),
  [Op.Gelu]: (x) => 0.5 * x * (1 + naiveErf(x / Math.SQRT2)),
  [Op.Softplus]: (x) => Math.log(1 + Math.exp(x)),
  [Op.Sin]: (x) => Math.sin(x),
  [Op.Cos]: (x) => Math.cos(x),
  [Op.Erf]: (x) => naiveErf(x),
};

const binaryFns: Record<string, (a: number, b: number, dtype: DType) => number> = {
  [Op.Add]: (a, b, d) => (d === "i32" ? wrap32(BigInt(a) + BigInt(b)) : a + b),
  [Op.Sub]: (a, b, d) => (d === "i32" ? wrap32(BigInt(a) - BigInt(b)) : a - b),
  [Op.Mul]: (a, b, d) => (d === "i32" ? wrap32(BigInt(a) * BigInt(b)) : a * b),
  [Op.Div]: (a, b) => a / b,
  [Op.Pow]: (a, b) => a ** b,
  [Op.Maximum]: nanMax,
  [Op.Minimum]: nanMin,
  [Op.MulNoNan]: (a, b) => (a === 0 ? 0 : a * b),
  [Op.Less]: (a, b) => (a < b ? 1 : 0),
  [Op.LessEqual]: (a, b) => (a <= b ? 1 : 0),
  [Op.Greater]: (a, b) => (a > b ? 1 : 0),
  [Op.GreaterEqual]: (a, b) => (a >= b ? 1 : 0),
  [Op.Equal]: (a, b) => (a === b ? 1 : 0),
  [Op.NotEqual]: (a, b) => (a !== b ? 1 : 0),
};

const broadcastShape = (shapes: readonly (readonly number[])[]): number[] => {
  const rank = Math.max(...shapes.map((s) => s.length));
  // A dim is the one size other than 1 among the operands (size 0 included), else 1.
  return Array.from({ length: rank }, (_, i) => shapes.map((s) => s[s.length - rank + i] ?? 1).find((d) => d !== 1) ?? 1);
};

/** Reads `v` at the output multi-index `idx` under broadcasting. */
const readBroadcast = (v: NaiveValue, idx: readonly number[]): number => {
  const lead = idx.length - v.shape.length;
  return at(v, v.shape.map((d, i) => (d === 1 ? 0 : idx[lead + i]!)));
};

/** The input multi-indices that reduce into output multi-index `kept` (over the kept axes). */
const membersOf = (x: NaiveValue, axes: readonly number[], keptIdx: readonly number[]): number[] => {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const members: number[] = [];
  for (let f = 0; f < x.values.length; f++) {
    const idx = unravel(x.shape, f);
    if (kept.every((ax, j) => idx[ax] === keptIdx[j])) members.push(x.values[f]!);
  }
  return members;
};

const reduceValue = (op: Op, xs: readonly number[], dtype: DType): number => {
  switch (op) {
    case Op.Sum:
      return dtype === "i32" ? wrap32(xs.reduce((a, b) => a + BigInt(b), 0n)) : xs.reduce((a, b) => a + b, 0);
    case Op.Mean:
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    case Op.Max:
      return xs.reduce(nanMax, dtype === "i32" ? -(2 ** 31) : -Infinity);
    case Op.Min:
      return xs.reduce(nanMin, dtype === "i32" ? 2 ** 31 - 1 : Infinity);
    case Op.LogSumExp:
      return Math.log(xs.reduce((a, b) => a + Math.exp(b), 0));
    default:
      throw new Error(`not a reduction: ${op}`);
  }
};

const reduction = (op: Op, x: NaiveValue, axes: readonly number[], keepdims: boolean, dtype: DType): NaiveValue => {
  const shape = keepdims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  return make(dtype, shape, (idx) => {
    const keptIdx = keepdims ? idx.filter((_, i) => !axes.includes(i)) : idx;
    const xs = membersOf(x, axes, keptIdx);
    if (op === Op.ArgMax) {
      let best = 0;
      xs.forEach((v, j) => {
        if (!Number.isNaN(xs[best]!) && (v > xs[best]! || Number.isNaN(v))) best = j;
      });
      return best;
    }
    return reduceValue(op, xs, x.dtype);
  });
};

const feedValue = (name: string, feeds: Readonly<Record<string, TensorValue>>, dtype: DType): NaiveValue => {
  const v = feeds[name];
  if (v === undefined) throw new Error(`naive: no feed for '${name}'`);
  return { dtype, shape: [...v.shape], values: Array.from(v.data, (x) => store(dtype, x)) };
};

/** The naive value of one node from its inputs' values. */
const naiveNode = (
  node: Node,
  xs: readonly NaiveValue[],
  feeds: Readonly<Record<string, TensorValue>>,
  concrete: (shape: RuntimeShape) => number[],
): NaiveValue => {
  const dt = node.dtype;
  const x = xs[0]!;
  switch (node.op) {
    case Op.Input:
    case Op.Param:
      return feedValue(node.params.name, feeds, dt);
    case Op.Constant: {
      const vals = node.params.values;
      return make(dt, node.params.shape as number[], (idx) => vals[vals.length === 1 ? 0 : ravel(node.params.shape as number[], idx)]!);
    }
    case Op.Where: {
      const shape = broadcastShape(xs.map((v) => v.shape));
      return make(dt, shape, (idx) => (readBroadcast(xs[0]!, idx) !== 0 ? readBroadcast(xs[1]!, idx) : readBroadcast(xs[2]!, idx)));
    }
    case Op.Sum:
    case Op.Mean:
    case Op.Max:
    case Op.Min:
    case Op.LogSumExp:
      return reduction(node.op, x, node.params.axes, node.params.keepdims, dt);
    case Op.ArgMax:
      return reduction(Op.ArgMax, x, [node.params.axis], node.params.keepdims, dt);
    case Op.Reshape:
      return { dtype: dt, shape: concrete(node.params.shape), values: x.values };
    case Op.ExpandDims:
      return { dtype: dt, shape: [...x.shape.slice(0, node.params.axis), 1, ...x.shape.slice(node.params.axis)], values: x.values };
    case Op.Squeeze:
      return { dtype: dt, shape: x.shape.filter((_, i) => !node.params.axes.includes(i)), values: x.values };
    case Op.StopGradient:
      return x;
    case Op.Transpose: {
      const perm = node.params.perm;
      return make(dt, perm.map((p) => x.shape[p]!), (idx) => {
        const src = new Array<number>(perm.length);
        perm.forEach((p, i) => (src[p] = idx[i]!));
        return at(x, src);
      });
    }
    case Op.BroadcastTo:
      return make(dt, concrete(node.params.shape), (idx) => readBroadcast(x, idx));
    case Op.Concat: {
      const axis = node.params.axis;
      const shape = x.shape.map((d, i) => (i === axis ? xs.reduce((s, v) => s + v.shape[axis]!, 0) : d));
      return make(dt, shape, (idx) => {
        let c = idx[axis]!;
        for (const v of xs) {
          if (c < v.shape[axis]!) return at(v, idx.map((d, i) => (i === axis ? c : d)));
          c -= v.shape[axis]!;
        }
        throw new Error("naive concat: index past the end");
      });
    }
    case Op.Slice: {
      const p = node.params;
      const shape = x.shape.map((d, ax) => {
        const k = p.axes.indexOf(ax);
        return k < 0 ? d : Math.ceil((p.ends[k]! - p.starts[k]!) / p.steps[k]!);
      });
      return make(dt, shape, (idx) =>
        at(x, idx.map((i, ax) => {
          const k = p.axes.indexOf(ax);
          return k < 0 ? i : p.starts[k]! + i * p.steps[k]!;
        })),
      );
    }
    case Op.Pad: {
      const { before, after } = node.params;
      const shape = x.shape.map((d, ax) => d + before[ax]! + after[ax]!);
      return make(dt, shape, (idx) => {
        const src = idx.map((i, ax) => i - before[ax]!);
        return src.every((i, ax) => i >= 0 && i < x.shape[ax]!) ? at(x, src) : 0;
      });
    }
    case Op.Gather: {
      const [axis, ind] = [node.params.axis, xs[1]!];
      const shape = [...x.shape.slice(0, axis), ...ind.shape, ...x.shape.slice(axis + 1)];
      return make(dt, shape, (idx) => {
        const k = at(ind, idx.slice(axis, axis + ind.shape.length));
        if (k < 0 || k >= x.shape[axis]!) throw new RangeError(`naive gather: index ${k} out of range`);
        return at(x, [...idx.slice(0, axis), k, ...idx.slice(axis + ind.shape.length)]);
      });
    }
    case Op.ScatterAdd: {
      const [axis, ind] = [node.params.axis, xs[1]!];
      const shape = concrete(node.params.shape);
      const acc = new Array<number>(count(shape)).fill(0);
      for (let f = 0; f < x.values.length; f++) {
        const u = unravel(x.shape, f);
        const k = at(ind, u.slice(axis, axis + ind.shape.length));
        const target = ravel(shape, [...u.slice(0, axis), k, ...u.slice(axis + ind.shape.length)]);
        acc[target] = store(dt, acc[target]! + x.values[f]!);
      }
      return { dtype: dt, shape, values: acc };
    }
    case Op.MatMul: {
      const [a, b] = [xs[0]!, xs[1]!];
      const { transposeA, transposeB } = node.params;
      const ra = a.shape.length;
      const rb = b.shape.length;
      const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
      const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
      const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
      const batch = broadcastShape([a.shape.slice(0, -2), b.shape.slice(0, -2)]);
      const batchOf = (v: NaiveValue, bi: readonly number[]): number[] => {
        const vb = v.shape.slice(0, -2);
        return vb.map((d, i) => (d === 1 ? 0 : bi[bi.length - vb.length + i]!));
      };
      return make(dt, [...batch, m, n], (idx) => {
        const bi = idx.slice(0, -2);
        const [i, j] = [idx[idx.length - 2]!, idx[idx.length - 1]!];
        let s = 0;
        for (let p = 0; p < k; p++)
          s += at(a, [...batchOf(a, bi), ...(transposeA ? [p, i] : [i, p])]) * at(b, [...batchOf(b, bi), ...(transposeB ? [j, p] : [p, j])]);
        return s;
      });
    }
    case Op.Softmax:
    case Op.LogSoftmax: {
      const axis = node.params.axis;
      const logits = node.op === Op.LogSoftmax;
      return make(dt, x.shape, (idx) => {
        const line = Array.from({ length: x.shape[axis]! }, (_, j) => at(x, idx.map((d, ax) => (ax === axis ? j : d))));
        const xi = line[idx[axis]!]!;
        return logits ? xi - Math.log(line.reduce((s, v) => s + Math.exp(v), 0)) : 1 / line.reduce((s, v) => s + Math.exp(v - xi), 0);
      });
    }
    case Op.OneHot: {
      const depth = node.params.depth;
      return make(dt, [...x.shape, depth], (idx) => (at(x, idx.slice(0, -1)) === idx[idx.length - 1] ? 1 : 0));
    }
    case Op.Cast: {
      const to = node.params.dtype;
      const fromFloat = x.dtype === "f32" || x.dtype === "f64";
      return make(dt, x.shape, (idx) => {
        const v = at(x, idx);
        if (to === "bool") return v !== 0 ? 1 : 0;
        if (to === "i32" && fromFloat) return Number.isNaN(v) ? 0 : Math.min(2 ** 31 - 1, Math.max(-(2 ** 31), Math.trunc(v)));
        return v;
      });
    }
    default: {
      const op: string = node.op;
      const f1 = unaryFns[op];
      if (f1 !== undefined) return make(dt, x.shape, (idx) => f1(at(x, idx), dt));
      const f2 = binaryFns[op];
      if (f2 !== undefined) {
        const [a, b] = [xs[0]!, xs[1]!];
        return make(dt, broadcastShape([a.shape, b.shape]), (idx) => f2(readBroadcast(a, idx), readBroadcast(b, idx), a.dtype));
      }
      const windowed = naiveWindowNode(node, xs, concrete);
      if (windowed !== undefined) return { dtype: dt, shape: windowed.shape, values: windowed.values.map((v) => store(dt, v)) };
      throw new Error(`naive: no reference for op ${op}`);
    }
  }
};

/**
 * Evaluates `outputs` with the naive references (recursively, memoized by node).
 * @example naiveEvaluate([tg.add(x, y).node], { x: tensorValue("f64", [2], [1, 2]), y: tensorValue("f64", [], [3]) })
 */
export const naiveEvaluate = (outputs: readonly Node[], feeds: Readonly<Record<string, TensorValue>>): NaiveValue[] => {
  const memo = new Map<Node, NaiveValue>();
  const sizes = new Map<string, number>();
  const value = (n: Node): NaiveValue => {
    const known = memo.get(n);
    if (known !== undefined) return known;
    if (n.op === Op.Input || n.op === Op.Param) n.shape.forEach((d, ax) => typeof d === "string" && sizes.set(d, feeds[n.params.name]!.shape[ax]!));
    const v = naiveNode(n, n.inputs.map(value), feeds, (shape) => shape.map((d) => (typeof d === "number" ? d : sizes.get(d)!)));
    memo.set(n, v);
    return v;
  };
  return outputs.map(value);
};

/**
 * Differences between a computed value and the naive one: dtype, shape, then elements.
 * Floats match when |a - b| <= rtol · max(1, |b|) (NaN matches NaN, infinities match
 * exactly); i32 and bool must be equal. Returns at most `limit` messages.
 */
export const mismatches = (actual: TensorValue, expected: NaiveValue, rtol: number, limit = 5): string[] => {
  if (actual.dtype !== expected.dtype) return [`dtype ${actual.dtype}, expected ${expected.dtype}`];
  if (actual.shape.length !== expected.shape.length || actual.shape.some((d, i) => d !== expected.shape[i]))
    return [`shape [${actual.shape.join(", ")}], expected [${expected.shape.join(", ")}]`];
  if (actual.data.length !== expected.values.length) return [`${actual.data.length} elements, expected ${expected.values.length}`];
  const exact = actual.dtype === "i32" || actual.dtype === "bool";
  const out: string[] = [];
  for (let i = 0; i < expected.values.length && out.length < limit; i++) {
    const [a, b] = [actual.data[i]!, expected.values[i]!];
    const ok =
      (Number.isNaN(a) && Number.isNaN(b)) ||
      a === b ||
      (!exact && Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= rtol * Math.max(1, Math.abs(b)));
    if (!ok) out.push(`element ${i} [${unravel(expected.shape, i).join(", ")}]: got ${a}, expected ${b}`);
  }
  return out;
};
