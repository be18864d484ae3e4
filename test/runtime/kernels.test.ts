/**
 * Kernel tests driven by the op-spec table: every row in f64 and f32 (and i32 / bool
 * wherever the shape rules accept the row retyped), on seeded random inputs from the
 * row's domains, against the naive references of test/support/naive.ts. Plus
 * broadcasting and reduction edge cases, numerically hard inputs and the documented
 * semantics of cast, oneHot, argmax, mulNoNan and integer wrap-around.
 */
import { describe, expect, it } from "vitest";
import * as E from "fp-ts/lib/Either.js";
import * as tg from "../../src/index.js";
import { Op, type DType } from "../../src/ops.js";
import { makeNode, type Node } from "../../src/graph/node.js";
import { inferShape } from "../../compiler/rules/shape.js";
import { kernels, runNodeKernel } from "../../runtime/kernels/index.js";
import { evaluate, topologicalOrder } from "../../runtime/interpret.js";
import { allocate, tensorValue, type TensorValue } from "../../runtime/value.js";
import { opSpecTable, type Domain, type OpSpecRow } from "../support/opspec.js";
import { mismatches, naiveEvaluate } from "../support/naive.js";

const TOLERANCE: Readonly<Record<DType, number>> = { f64: 1e-12, f32: 1e-5, i32: 0, bool: 0 };

/** mulberry32: a small seeded generator, so failures reproduce. */
const seeded = (seed: number): (() => number) => {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** `n` values from a domain; i32 versions of float domains are small integers (ties allowed). */
const sample = (domain: Domain, n: number, dtype: DType, rand: () => number): number[] => {
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  if (dtype === "bool") return Array.from({ length: n }, () => int(0, 1));
  switch (domain.kind) {
    case "index":
      return Array.from({ length: n }, () => int(0, domain.size - 1));
    case "bool":
      return Array.from({ length: n }, () => int(0, 1));
    case "real":
      return Array.from({ length: n }, () => (dtype === "i32" ? int(-6, 6) : domain.lo + rand() * (domain.hi - domain.lo)));
    case "awayFromZero":
      return Array.from({ length: n }, () => (rand() < 0.5 ? -1 : 1) * (dtype === "i32" ? int(1, 6) : domain.lo + rand() * (domain.hi - domain.lo)));
    case "distinct": {
      if (dtype === "i32") return Array.from({ length: n }, () => int(-4, 4));
      // Spread n slots of width `gap` over [-hi, hi] and shuffle them.
      const slots = Array.from({ length: n }, (_, i) => -domain.hi + ((i + 0.5 + (rand() - 0.5) * 0.5) * 2 * domain.hi) / n);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [slots[i], slots[j]] = [slots[j]!, slots[i]!];
      }
      return slots;
    }
  }
};

/** Rebuilds a graph with every f64 (leaf, constant, cast and oneHot target) as `to`; undefined if a rule rejects it. */
const retype = (root: Node, to: DType): Node | undefined => {
  const memo = new Map<Node, Node | undefined>();
  const visit = (n: Node): Node | undefined => {
    if (memo.has(n)) return memo.get(n);
    const inputs = n.inputs.map(visit);
    let result: Node | undefined;
    if (inputs.every((i): i is Node => i !== undefined)) {
      const p = n.params as { readonly dtype?: DType };
      const params = p.dtype === "f64" ? { ...n.params, dtype: to } : n.params;
      const rule = inferShape(n.op, inputs, params as never);
      result = E.isRight(rule) ? makeNode({ op: n.op, params: params as never, inputs, shape: rule.right.shape, dtype: rule.right.dtype, loc: n.loc }) : undefined;
    }
    memo.set(n, result);
    return result;
  };
  return visit(root);
};

const leavesOf = (root: Node): Extract<Node, { op: "input" | "param" }>[] =>
  topologicalOrder([root]).filter((n): n is Extract<Node, { op: "input" | "param" }> => n.op === Op.Input || n.op === Op.Param);

/** Random feeds for a row's graph: `in<i>` leaves from the row's domains, other leaves from [-2, 2]. */
const feedsFor = (row: OpSpecRow, root: Node, rand: () => number): Record<string, TensorValue> => {
  const feeds: Record<string, TensorValue> = {};
  for (const leaf of leavesOf(root)) {
    const shape = leaf.shape as readonly number[];
    const spec = /^in(\d+)$/.exec(leaf.params.name);
    const domain: Domain = spec === null ? { kind: "real", lo: -2, hi: 2 } : row.inputs[Number(spec[1])]!.domain;
    feeds[leaf.params.name] = tensorValue(leaf.dtype, shape, sample(domain, shape.reduce((a, b) => a * b, 1), leaf.dtype, rand));
  }
  return feeds;
};

const buildRow = (row: OpSpecRow): Node => row.build(row.inputs.map((s, i) => tg.input(`in${i}`, s.shape, s.dtype))).node;

/** The row's graph in `dtype`, or undefined when the rules do not accept it in that dtype. */
const variant = (row: OpSpecRow, dtype: DType): Node | undefined => {
  const root = buildRow(row);
  return dtype === "f64" ? root : retype(root, dtype);
};

/** Evaluates `root` with the interpreter and the naive reference, and compares. */
const checkAgainstNaive = (root: Node, feeds: Record<string, TensorValue>): string[] => {
  const [actual] = evaluate([root], feeds);
  const [expected] = naiveEvaluate([root], feeds);
  return mismatches(actual!, expected!, TOLERANCE[root.dtype]);
};

/** Runs a node's kernel straight into an output prefilled with garbage (as a reused arena slice would be). */
const runIntoDirtyOutput = (node: Node, inputs: readonly TensorValue[], shape: readonly number[]): TensorValue => {
  const data = allocate(node.dtype, shape.reduce((a, b) => a * b, 1));
  data.fill(node.dtype === "bool" ? 1 : 7);
  const out: TensorValue = { dtype: node.dtype, shape, data };
  runNodeKernel(node, inputs, out);
  return out;
};

const DTYPES: readonly DType[] = ["f64", "f32", "i32", "bool"];
const cases = opSpecTable.flatMap((row) => DTYPES.map((dtype) => [`${row.name} (${dtype})`, row, dtype] as const));

describe("kernels vs naive references, driven by the op-spec table", () => {
  it("covers every row in f64 and f32, and i32 / bool where the rules accept them", () => {
    for (const row of opSpecTable) {
      expect(variant(row, "f64"), row.name).toBeDefined();
      expect(variant(row, "f32"), row.name).toBeDefined();
    }
    const i32Rows = opSpecTable.filter((r) => variant(r, "i32") !== undefined).map((r) => r.op);
    for (const op of [Op.Add, Op.Mul, Op.Neg, Op.Abs, Op.Square, Op.Maximum, Op.Sum, Op.Max, Op.ArgMax, Op.Where, Op.Gather, Op.ScatterAdd, Op.Less])
      expect(i32Rows, op).toContain(op);
    const boolRows = opSpecTable.filter((r) => variant(r, "bool") !== undefined).map((r) => r.op);
    for (const op of [Op.Equal, Op.Where, Op.Transpose, Op.Concat, Op.Slice, Op.Pad, Op.Gather]) expect(boolRows, op).toContain(op);
  });

  it.each(cases)("%s", (_, row, dtype) => {
    const root = variant(row, dtype);
    if (root === undefined) return; // the rules reject this dtype for this row (checked above for f32/f64)
    const rand = seeded(row.name.length * 7919 + DTYPES.indexOf(dtype));
    for (let trial = 0; trial < 4; trial++) {
      const feeds = feedsFor(row, root, rand);
      expect(checkAgainstNaive(root, feeds), `${row.name} ${dtype} trial ${trial}`).toEqual([]);
      // Every node's kernel, run alone into a dirty output, gives what the interpreter gave.
      const values = new Map<Node, TensorValue>();
      evaluate([root], feeds, { onNode: (n, v) => values.set(n, v) });
      for (const [node, value] of values) {
        expect(value.shape).toEqual(node.shape.map((d) => (typeof d === "number" ? d : -1)));
        const inputs = node.op === Op.Input || node.op === Op.Param ? [feeds[node.params.name]!] : node.inputs.map((i) => values.get(i)!);
        expect(Array.from(runIntoDirtyOutput(node, inputs, value.shape).data), node.op).toEqual(Array.from(value.data));
      }
    }
  });
});

/** Interpreter value of `f` applied to inputs fed with the given values, checked against naive. */
const checkBuilt = (specs: readonly { shape: readonly number[]; dtype: DType; values: readonly number[] }[], f: (xs: tg.AnyTensor[]) => tg.AnyTensor): TensorValue => {
  const xs = specs.map((s, i) => tg.input(`x${i}`, s.shape, s.dtype));
  const root = f(xs).node;
  const feeds = Object.fromEntries(specs.map((s, i) => [`x${i}`, tensorValue(s.dtype, s.shape, s.values)]));
  expect(checkAgainstNaive(root, feeds)).toEqual([]);
  return evaluate([root], feeds)[0]!;
};

const ramp = (shape: readonly number[], scale = 0.37, offset = -1): number[] =>
  Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => offset + ((i * scale) % 3));

describe("broadcasting edge cases", () => {
  const pairs: readonly (readonly [readonly number[], readonly number[], readonly number[]])[] = [
    [[], [], []],
    [[1], [], [1]],
    [[], [4], [4]],
    [[3, 1], [1, 4], [3, 4]],
    [[2, 3], [1, 1], [2, 3]],
    [[1, 1, 1], [2], [1, 1, 2]],
    [[5, 1, 4], [3, 1], [5, 3, 4]],
    [[2, 1, 3, 1], [4, 1, 2], [2, 4, 3, 2]],
    [[0, 3], [3], [0, 3]],
    [[2, 0], [2, 1], [2, 0]],
    [[0], [], [0]],
  ];
  for (const dtype of ["f64", "f32", "i32"] as const) {
    it.each(pairs.map(([a, b, out]) => [`[${a}] op [${b}] -> [${out}]`, a, b, out] as const))(`${dtype} %s`, (_, a, b, out) => {
      const specs = [
        { shape: a, dtype, values: dtype === "i32" ? ramp(a, 3, -4).map(Math.round) : ramp(a) },
        { shape: b, dtype, values: dtype === "i32" ? ramp(b, 5, -2).map(Math.round) : ramp(b, 0.71, -0.5) },
      ];
      for (const op of [tg.add, tg.sub, tg.mul, tg.maximum, tg.minimum]) expect(checkBuilt(specs, ([x, y]) => op(x!, y!)).shape).toEqual(out);
      expect(checkBuilt(specs, ([x, y]) => tg.less(x!, y!)).data).toBeInstanceOf(Uint8Array);
      const mask = { shape: a, dtype: "bool" as const, values: ramp(a, 1, 0).map((v) => Math.round(v) % 2) };
      checkBuilt([mask, specs[0]!, specs[1]!], ([m, x, y]) => tg.where(m as tg.Tensor<tg.Shape, "bool">, x!, y!));
      checkBuilt([specs[1]!], ([y]) => tg.broadcastTo(y!, out));
    });
  }
});

describe("reductions", () => {
  const subsets = (rank: number): number[][] =>
    Array.from({ length: 1 << rank }, (_, bits) => Array.from({ length: rank }, (_, i) => i).filter((i) => bits & (1 << i)));
  const reducers = [tg.sum, tg.mean, tg.max, tg.min, tg.logsumexp] as const;

  it.each(["f64", "f32"] as const)("every subset of axes of [2, 3, 4], with and without keepdims (%s)", (dtype) => {
    const x = { shape: [2, 3, 4], dtype, values: ramp([2, 3, 4], 0.93, -1.4) };
    for (const axes of subsets(3))
      for (const keepdims of [false, true])
        for (const r of reducers) checkBuilt([x], ([t]) => r(t!, axes, { keepdims }));
  });

  it("over the empty axes set is the identity", () => {
    const values = ramp([2, 3]);
    for (const r of reducers) expect(Array.from(checkBuilt([{ shape: [2, 3], dtype: "f64", values }], ([t]) => r(t!, [])).data)).toEqual(values);
  });

  it("over zero elements gives the identity of each reduction", () => {
    const empty = (dtype: DType) => [{ shape: [2, 0], dtype, values: [] }];
    const one = (r: (typeof reducers)[number], dtype: DType = "f64") => Array.from(checkBuilt(empty(dtype), ([t]) => r(t!, 1)).data);
    expect(one(tg.sum)).toEqual([0, 0]);
    expect(one(tg.mean)).toEqual([NaN, NaN]);
    expect(one(tg.max)).toEqual([-Infinity, -Infinity]);
    expect(one(tg.min)).toEqual([Infinity, Infinity]);
    expect(one(tg.logsumexp)).toEqual([-Infinity, -Infinity]);
    expect(one(tg.max, "i32")).toEqual([-(2 ** 31), -(2 ** 31)]);
    expect(one(tg.min, "i32")).toEqual([2 ** 31 - 1, 2 ** 31 - 1]);
    expect(Array.from(checkBuilt([{ shape: [0, 3], dtype: "f64", values: [] }], ([t]) => tg.sum(t!, 0)).data)).toEqual([0, 0, 0]);
  });

  it("propagate NaN through max, min and logsumexp", () => {
    const x = [{ shape: [4], dtype: "f64" as const, values: [1, NaN, 3, -Infinity] }];
    for (const r of [tg.max, tg.min, tg.logsumexp, tg.sum]) expect(checkBuilt(x, ([t]) => r(t!)).data[0]).toBeNaN();
  });

  it("argmax picks the first maximum on ties, and the first NaN", () => {
    const x = (values: number[]) => [{ shape: [2, 4], dtype: "f64" as const, values }];
    expect(Array.from(checkBuilt(x([1, 3, 3, 2, 5, 5, 5, 5]), ([t]) => tg.argmax(t!, 1)).data)).toEqual([1, 0]);
    expect(Array.from(checkBuilt(x([1, NaN, 9, NaN, 0, 0, 0, 1]), ([t]) => tg.argmax(t!, 1)).data)).toEqual([1, 3]);
    expect(Array.from(checkBuilt(x([1, 3, 3, 2, 1, 5, 0, 2]), ([t]) => tg.argmax(t!, 0, { keepdims: true })).data)).toEqual([0, 1, 0, 0]);
    const ints = [{ shape: [3], dtype: "i32" as const, values: [4, 7, 7] }];
    expect(Array.from(checkBuilt(ints, ([t]) => tg.argmax(t!)).data)).toEqual([1]);
  });

  it("argmax over an empty axis is a RangeError", () => {
    const x = tg.input("x", [2, 0], "f64");
    expect(() => evaluate([tg.argmax(x, 1).node], { x: tensorValue("f64", [2, 0], []) })).toThrow(/argmax over axis 1 of size 0/);
  });

  it("softmax, logSoftmax and reductions along any axis of rank 3", () => {
    const x = { shape: [2, 3, 4], dtype: "f64" as const, values: ramp([2, 3, 4], 1.3, -2) };
    for (const axis of [0, 1, 2]) {
      checkBuilt([x], ([t]) => tg.softmax(t!, axis));
      checkBuilt([x], ([t]) => tg.logSoftmax(t!, axis));
      checkBuilt([x], ([t]) => tg.argmax(t!, axis));
    }
  });
});

describe("numerically hard inputs", () => {
  const run = (dtype: "f32" | "f64", values: number[], f: (x: tg.AnyTensor) => tg.AnyTensor): number[] => {
    const x = tg.input("x", [values.length], dtype);
    return Array.from(evaluate([f(x).node], { x: tensorValue(dtype, [values.length], values) })[0]!.data);
  };

  it.each(["f32", "f64"] as const)("softmax family stays finite and exact at logits ±1000 (%s)", (dtype) => {
    const logits = [1000, -1000, 999, 1000];
    const e1 = Math.exp(-1);
    const z = 2 + e1;
    const tol = dtype === "f32" ? 2e-7 : 1e-15;
    const close = (got: number[], want: number[]) =>
      got.forEach((g, i) => expect(Math.abs(g - want[i]!), `${g} vs ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]!))));
    close(run(dtype, logits, (x) => tg.softmax(x)), [1 / z, 0, e1 / z, 1 / z]);
    close(run(dtype, logits, (x) => tg.logSoftmax(x)), [-Math.log(z), -2000 - Math.log(z), -1 - Math.log(z), -Math.log(z)]);
    close(run(dtype, logits, (x) => tg.logsumexp(x)), [1000 + Math.log(z)]);
    close(run(dtype, [-1000, -1000], (x) => tg.logsumexp(x)), [-1000 + Math.LN2]);
    close(run(dtype, [-1000, -1000], (x) => tg.softmax(x)), [0.5, 0.5]);
    close(run(dtype, [-1000, -Infinity], (x) => tg.logSoftmax(x)).slice(0, 1), [0]);
    expect(run(dtype, [-1000, -Infinity], (x) => tg.logSoftmax(x))[1]).toBe(-Infinity);
  });

  it.each(["f32", "f64"] as const)("sigmoid, softplus and gelu at large |x| (%s)", (dtype) => {
    const xs = [-1000, -40, 40, 1000];
    expect(run(dtype, xs, tg.sigmoid)).toEqual([0, dtype === "f32" ? Math.fround(Math.exp(-40)) : Math.exp(-40) / (1 + Math.exp(-40)), 1, 1]);
    const sp = run(dtype, xs, tg.softplus);
    expect(sp[0]).toBe(0);
    expect(sp[1]).toBeCloseTo(Math.exp(-40), 20);
    expect(sp.slice(2)).toEqual([40, 1000]);
    const g = run(dtype, xs, tg.gelu);
    expect(g.every(Number.isFinite)).toBe(true);
    expect(g.slice(2)).toEqual([40, 1000]);
    expect(Math.abs(g[0]!)).toBe(0);
  });

  it("erf and erfc (through gelu) match high-precision values to ~1e-15 relative in f64", () => {
    // Reference values to 19 digits (Abramowitz & Stegun / mpmath).
    const erfTable: readonly [number, number][] = [
      [1e-10, 1.1283791670955126e-10],
      [0.1, 0.1124629160182848922],
      [0.46875, 0.4926134732179379],
      [0.5, 0.5204998778130465377],
      [1, 0.8427007929497148693],
      [2, 0.9953222650189527342],
      [3.5, 0.9999992569016276586],
      [-1, -0.8427007929497148693],
    ];
    const erfs = run("f64", erfTable.map(([x]) => x), tg.erf);
    erfTable.forEach(([x, want], i) => expect(Math.abs(erfs[i]! - want) / Math.abs(want), `erf(${x})`).toBeLessThan(2e-15));
    // gelu(x) = x Φ(x); Φ(-10) = 7.6198530241605260659e-24, Φ(-5) = 2.8665157187919391167e-7, Φ(-1) = 0.15865525393145705142.
    const geluTable: readonly [number, number][] = [
      [-10, -10 * 7.6198530241605260659e-24],
      [-5, -5 * 2.8665157187919391167e-7],
      [-1, -0.15865525393145705142],
      [1, 1 - 0.15865525393145705142],
    ];
    const gelus = run("f64", geluTable.map(([x]) => x), tg.gelu);
    geluTable.forEach(([x, want], i) => expect(Math.abs(gelus[i]! - want) / Math.abs(want), `gelu(${x})`).toBeLessThan(4e-15));
    const grid = Array.from({ length: 601 }, (_, i) => -6 + i * 0.02);
    const fromKernel = run("f64", grid, tg.erf);
    const naive = naiveEvaluate([tg.erf(tg.input("g", [grid.length], "f64")).node], { g: tensorValue("f64", [grid.length], grid) })[0]!.values;
    grid.forEach((x, i) => expect(Math.abs(fromKernel[i]! - naive[i]!), `erf(${x})`).toBeLessThanOrEqual(2e-14 * Math.abs(naive[i]!)));
  });
});

describe("documented semantics", () => {
  const values = (dtype: DType, shape: readonly number[], xs: number[], f: (x: tg.AnyTensor) => tg.AnyTensor): number[] =>
    Array.from(checkBuilt([{ shape, dtype, values: xs }], ([x]) => f(x!)).data);

  it("mulNoNan is 0 wherever a is 0, even when b is inf or NaN", () => {
    const specs = [
      { shape: [4], dtype: "f64" as const, values: [0, 0, -0, 2] },
      { shape: [4], dtype: "f64" as const, values: [Infinity, NaN, -Infinity, Infinity] },
    ];
    expect(Array.from(checkBuilt(specs, ([a, b]) => tg.mulNoNan(a!, b!)).data)).toEqual([0, 0, 0, Infinity]);
    expect(Array.from(checkBuilt(specs, ([a, b]) => tg.mul(a!, b!)).data).slice(0, 3).every(Number.isNaN)).toBe(true);
  });

  it("cast: float to i32 truncates toward zero and saturates, NaN to 0; to bool is x != 0", () => {
    const xs = [1.9, -1.9, NaN, 1e10, -1e10, Infinity, -0.5, 2147483647.5];
    expect(values("f64", [8], xs, (x) => tg.cast(x, "i32"))).toEqual([1, -1, 0, 2147483647, -2147483648, 2147483647, 0, 2147483647]);
    expect(values("f64", [5], [0, -0, NaN, 0.1, -3], (x) => tg.cast(x, "bool"))).toEqual([0, 0, 1, 1, 1]);
    expect(values("f64", [2], [0.1, 1 / 3], (x) => tg.cast(x, "f32"))).toEqual([Math.fround(0.1), Math.fround(1 / 3)]);
    expect(values("bool", [2], [1, 0], (x) => tg.cast(x, "f64"))).toEqual([1, 0]);
    expect(values("i32", [2], [-7, 2 ** 31 - 1], (x) => tg.cast(x, "f32"))).toEqual([-7, 2 ** 31]);
  });

  it("oneHot gives a zero row for a label outside [0, depth)", () => {
    expect(values("i32", [4], [-1, 4, 2, 0], (x) => tg.oneHot(x as tg.Tensor<tg.Shape, "i32">, 4, "f32"))).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0,
    ]);
  });

  it("comparisons write 0/1 bytes, NaN compares unequal", () => {
    const specs = [
      { shape: [3], dtype: "f64" as const, values: [1, NaN, 2] },
      { shape: [3], dtype: "f64" as const, values: [1, NaN, 3] },
    ];
    expect(Array.from(checkBuilt(specs, ([a, b]) => tg.equal(a!, b!)).data)).toEqual([1, 0, 0]);
    expect(Array.from(checkBuilt(specs, ([a, b]) => tg.notEqual(a!, b!)).data)).toEqual([0, 1, 1]);
    expect(Array.from(checkBuilt(specs, ([a, b]) => tg.lessEqual(a!, b!)).data)).toEqual([1, 0, 1]);
  });

  it("i32 arithmetic wraps like int32", () => {
    const big = 2 ** 31 - 1;
    const specs = [
      { shape: [3], dtype: "i32" as const, values: [big, 65536, -(2 ** 31)] },
      { shape: [3], dtype: "i32" as const, values: [1, 65536, 46341] },
    ];
    expect(Array.from(checkBuilt(specs, ([a, b]) => tg.add(a!, b!)).data)).toEqual([-(2 ** 31), 131072, -(2 ** 31) + 46341]);
    expect(Array.from(checkBuilt(specs, ([a, b]) => tg.mul(a!, b!)).data)).toEqual([big, 0, -(2 ** 31)]);
    expect(values("i32", [2], [-(2 ** 31), 46341], tg.neg)).toEqual([-(2 ** 31), -46341]);
    expect(values("i32", [2], [46341, -3], tg.square)).toEqual([-2147479015, 9]);
    expect(values("i32", [2], [big, big], (x) => tg.sum(x))).toEqual([-2]);
  });

  it("NaN propagates through maximum, minimum and relu", () => {
    const specs = [
      { shape: [2], dtype: "f64" as const, values: [NaN, 1] },
      { shape: [2], dtype: "f64" as const, values: [0, NaN] },
    ];
    expect(Array.from(checkBuilt(specs, ([a, b]) => tg.maximum(a!, b!)).data).every(Number.isNaN)).toBe(true);
    expect(Array.from(checkBuilt(specs, ([a, b]) => tg.minimum(a!, b!)).data).every(Number.isNaN)).toBe(true);
    expect(values("f64", [2], [NaN, -1], tg.relu)).toEqual([NaN, 0]);
  });
});

describe("structural kernels beyond the table", () => {
  const x = (shape: readonly number[], dtype: DType = "f64") => ({ shape, dtype, values: ramp(shape, 1, 0) });

  it("matmul: transposes, broadcast batch dims, k = 0", () => {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a = x(ta ? [2, 1, 4, 3] : [2, 1, 3, 4]);
      const b = x(tb ? [5, 2, 4] : [5, 4, 2]);
      for (const dtype of ["f64", "f32"] as const)
        expect(checkBuilt([{ ...a, dtype }, { ...b, dtype }], ([p, q]) => tg.matmul(p!, q!, { transposeA: ta, transposeB: tb })).shape).toEqual([2, 5, 3, 2]);
    }
    expect(Array.from(checkBuilt([x([2, 0]), x([0, 3])], ([p, q]) => tg.matmul(p!, q!)).data)).toEqual([0, 0, 0, 0, 0, 0]);
    checkBuilt([x([7, 13]), x([13, 9])], ([p, q]) => tg.matmul(p!, q!));
  });

  it("slice with steps, pad, concat with an empty part, transpose of rank 4", () => {
    checkBuilt([x([6, 7])], ([t]) => tg.slice(t!, [[1, 6, 2], [0, 7, 3]]));
    checkBuilt([x([6, 7])], ([t]) => tg.slice(t!, [null, [2, 2]]));
    checkBuilt([x([2, 3], "i32")], ([t]) => tg.pad(t!, [[0, 2], [3, 0]]));
    checkBuilt([x([2, 0]), x([2, 3]), x([2, 1])], (ts) => tg.concat(ts, 1));
    checkBuilt([x([2, 3, 4, 5])], ([t]) => tg.transpose(t!, [3, 1, 0, 2]));
    checkBuilt([x([3]), x([])], ([t, s]) => tg.concat([t!, tg.expandDims(s!, 0)], 0));
  });

  it("gather / scatterAdd with multi-dimensional indices in the middle axis", () => {
    const idx = { shape: [2, 2], dtype: "i32" as const, values: [2, 0, 2, 1] };
    checkBuilt([x([2, 3, 4]), idx], ([t, i]) => tg.gather(t!, i as tg.Tensor<tg.Shape, "i32">, 1));
    checkBuilt([x([2, 2, 2, 4]), idx], ([t, i]) => tg.scatterAdd(t!, i as tg.Tensor<tg.Shape, "i32">, 1, [2, 3, 4]));
  });

  it("gather and scatterAdd name the bad index, the axis and its size", () => {
    const out: TensorValue = { dtype: "f64", shape: [2, 3], data: new Float64Array(6) };
    const table = tensorValue("f64", [4, 3], ramp([4, 3]));
    expect(() => kernels.gather([table, tensorValue("i32", [2], [1, 4])], { axis: 0 }, out)).toThrow(
      new RangeError("gather: index 4 (at position 1 of the indices [2]) is out of range for axis 0 of size 4"),
    );
    expect(() => kernels.gather([table, tensorValue("i32", [2], [-1, 0])], { axis: 0 }, out)).toThrow(/index -1 .* axis 0 of size 4/);
    const target: TensorValue = { dtype: "f64", shape: [4, 3], data: new Float64Array(12) };
    expect(() => kernels.scatterAdd([tensorValue("f64", [2, 3], ramp([2, 3])), tensorValue("i32", [2], [0, 9])], { axis: 0, shape: [4, 3] }, target)).toThrow(
      /scatterAdd: index 9 .* axis 0 of size 4/,
    );
  });

  it("leaf kernels copy the bound value and refuse to run unbound", () => {
    const out: TensorValue = { dtype: "f32", shape: [2], data: new Float32Array(2) };
    const params = { name: "x", shape: [2], dtype: "f32" as const };
    kernels.input([tensorValue("f32", [2], [1.5, -2])], params, out);
    expect(Array.from(out.data)).toEqual([1.5, -2]);
    expect(() => kernels.input([], params, out)).toThrow(/x: leaf kernels copy the bound value/);
  });
});

describe("max-pool backprop", () => {
  it("with disjoint windows (stride ≥ kernel, padding, ties, NaN; the 2x2 / 2 fast path) equals the general forms", async () => {
    const { maxPool2dKernel, maxPool2dSelectKernel, maxPool2dBackpropKernel, maxPool2dBackpropAccumulating } = await import("../../runtime/kernels/pool.js");
    const rand = seeded(77);
    const cases = [
      { x: [2, 3, 8, 8], y: [2, 3, 4, 4], kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] },
      { x: [1, 2, 7, 9], y: [1, 2, 3, 3], kernel: [2, 3], strides: [3, 3], pads: [1, 0, 0, 1] },
      { x: [2, 1, 5, 5], y: [2, 1, 3, 3], kernel: [2, 2], strides: [2, 2], pads: [1, 0, 1, 0] },
    ];
    for (const dtype of ["f32", "f64"] as const) {
      for (const c of cases) {
        const n = c.x.reduce((a, b) => a * b, 1);
        // Values from a small set, so windows have tied maxima; one NaN.
        const xs = Array.from({ length: n }, () => Math.floor(rand() * 4));
        xs[5] = Number.NaN;
        const x = tensorValue(dtype, c.x, xs);
        const dy = tensorValue(dtype, c.y, Array.from({ length: c.y.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1));
        const params = { kernel: c.kernel, strides: c.strides, pads: c.pads };
        const fast = tensorValue(dtype, c.x, new Array(n).fill(7));
        const general = tensorValue(dtype, c.x, new Array(n).fill(7));
        maxPool2dBackpropKernel([x, dy], params, fast);
        maxPool2dBackpropAccumulating([x, dy], params, general);
        expect([...fast.data], `${dtype} ${JSON.stringify(c)}`).toEqual([...general.data]);
        expect([...fast.data].some((v) => v !== 0)).toBe(true);
        // The forward pass (a 2x2 / 2 fast path for the first case) against maxPool2dSelect(x, x), which is the same maximum.
        const ny = c.y.reduce((a, b) => a * b, 1);
        const [pooled, selected] = [tensorValue(dtype, c.y, new Array(ny).fill(7)), tensorValue(dtype, c.y, new Array(ny).fill(7))];
        maxPool2dKernel([x], params, pooled);
        maxPool2dSelectKernel([x, x], params, selected);
        expect([...pooled.data], `forward ${dtype} ${JSON.stringify(c)}`).toEqual([...selected.data]);
      }
    }
  });
});
