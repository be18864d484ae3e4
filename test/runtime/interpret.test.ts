/**
 * Interpreter tests: evaluation order and memoization, symbolic dims bound from feeds
 * (one graph at two batch sizes), feed validation messages, shape-rule failures after
 * binding, kernel index errors with the source line, and deep graphs.
 */
import { describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import { Op } from "../../src/ops.js";
import { makeNode, type Node } from "../../src/graph/node.js";
import { formatLoc } from "../../src/graph/location.js";
import { ShapeError, ValidationError } from "../../src/errors.js";
import { evaluate, evaluateTensors, topologicalOrder } from "../../runtime/interpret.js";
import { FeedError, bindFeeds } from "../../runtime/bind.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import { mismatches, naiveEvaluate } from "../support/naive.js";

const f64 = (shape: readonly number[], values: readonly number[]): TensorValue => tensorValue("f64", shape, values);
const iota = (n: number, scale = 0.1): number[] => Array.from({ length: n }, (_, i) => Math.sin(i + 1) * scale * 10);
const where = (t: tg.AnyTensor): string => formatLoc(t.node.loc);

/** The error thrown by `f` (fails the test when nothing is thrown). */
const thrown = (f: () => unknown): Error => {
  try {
    f();
  } catch (e) {
    if (e instanceof Error) return e;
    throw new Error(`threw a non-Error: ${String(e)}`);
  }
  throw new Error("expected an error, nothing was thrown");
};

describe("evaluation", () => {
  it("visits each node once, inputs first, even when shared", () => {
    const x = tg.input("x", [3], "f64");
    const shared = tg.exp(x);
    const y = tg.add(tg.mul(shared, shared), tg.sum(shared));
    const seen: Node[] = [];
    const [out] = evaluate([y.node, shared.node], { x: f64([3], [0, 1, 2]) }, { onNode: (n) => seen.push(n) });
    expect(seen.length).toBe(new Set(seen).size);
    expect(seen.filter((n) => n === shared.node)).toHaveLength(1);
    for (const [i, n] of seen.entries()) for (const inp of n.inputs) expect(seen.indexOf(inp)).toBeLessThan(i);
    const e = [0, 1, 2].map(Math.exp);
    const total = e[0]! + e[1]! + e[2]!;
    expect(Array.from(out!.data)).toEqual(e.map((v) => v * v + total));
  });

  it("returns one value per requested output, repeats included, and never aliases a feed", () => {
    const x = tg.input("x", [2], "f64");
    const feed = f64([2], [1, 2]);
    const [a, b, c] = evaluate([x.node, tg.neg(x).node, x.node], { x: feed });
    expect(a).toBe(c);
    expect(a!.data).not.toBe(feed.data);
    (a!.data as Float64Array)[0] = 99;
    expect(Array.from(feed.data)).toEqual([1, 2]);
    expect(Array.from(b!.data)).toEqual([-1, -2]);
  });

  it("evaluateTensors is evaluate over the tensors' nodes; params are fed like inputs", () => {
    const x = tg.input("x", [2, 3], "f32");
    const W = tg.param("W", [3, 2], "f32");
    const y = tg.tanh(tg.matmul(x, W));
    const feeds = { x: tensorValue("f32", [2, 3], iota(6)), W: tensorValue("f32", [3, 2], iota(6, 0.05)) };
    expect(evaluateTensors([y], feeds)).toEqual(evaluate([y.node], feeds));
    expect(mismatches(evaluateTensors([y], feeds)[0]!, naiveEvaluate([y.node], feeds)[0]!, 1e-6)).toEqual([]);
  });

  it("handles chains far deeper than the call stack", () => {
    // Built with makeNode: the DSL's source-location capture would dominate the time.
    const x = tg.input("x", [], "f64").node;
    let y: Node = x;
    for (let i = 0; i < 50000; i++) y = makeNode({ op: Op.Add, params: {}, inputs: [y, x], shape: [], dtype: "f64" });
    expect(topologicalOrder([y])).toHaveLength(50001);
    expect(Array.from(evaluate([y], { x: f64([], [0.5]) })[0]!.data)).toEqual([25000.5]);
  });
});

describe("symbolic dims", () => {
  const x = tg.input("x", [tg.sym("batch"), 2, 3], "f64");
  const W = tg.param("W", [6, 4], "f64");
  const b = tg.param("b", [4], "f64");
  const labels = tg.input("labels", [tg.sym("batch")], "i32");
  const flat = tg.reshape(x, [tg.sym("batch"), 6]);
  const logits = tg.add(tg.matmul(flat, W), b);
  const loss = tg.mean(tg.neg(tg.sum(tg.mul(tg.logSoftmax(logits), tg.oneHot(labels, 4, "f64")), 1)));
  const grads = tg.broadcastTo(tg.expandDims(tg.softmax(logits), 0), [2, tg.sym("batch"), 4]);

  it.each([1, 5])("one graph evaluates at batch %i, matching the naive reference", (batch) => {
    const feeds = {
      x: f64([batch, 2, 3], iota(batch * 6)),
      W: f64([6, 4], iota(24, 0.03)),
      b: f64([4], [0.1, -0.2, 0.3, 0]),
      labels: tensorValue("i32", [batch], Array.from({ length: batch }, (_, i) => i % 4)),
    };
    const outs = evaluate([loss.node, logits.node, grads.node], feeds);
    expect(outs.map((o) => o.shape)).toEqual([[], [batch, 4], [2, batch, 4]]);
    const naive = naiveEvaluate([loss.node, logits.node, grads.node], feeds);
    outs.forEach((o, i) => expect(mismatches(o, naive[i]!, 1e-12)).toEqual([]));
  });

  it("binds each symbolic dim from the feeds", () => {
    const r = bindFeeds(topologicalOrder([loss.node]), { x: f64([3, 2, 3], iota(18)), labels: tensorValue("i32", [3], [0, 1, 2]), W: f64([6, 4], iota(24)), b: f64([4], iota(4)) });
    expect(r).toEqual({ _tag: "Right", right: new Map([["batch", 3]]) });
  });
});

describe("feed errors", () => {
  const x = tg.input("x", [tg.sym("batch"), 3], "f32");
  const y = tg.input("y", [tg.sym("batch")], "f32");
  const W = tg.param("W", [3, 2], "f32");
  const out = tg.add(tg.sum(tg.matmul(x, W), 1), y);
  const good = { x: tensorValue("f32", [2, 3], iota(6)), y: tensorValue("f32", [2], [1, 2]), W: tensorValue("f32", [3, 2], iota(6)) };
  const run = (feeds: Record<string, TensorValue>): Error => thrown(() => evaluate([out.node], feeds));

  it("accepts good feeds", () => {
    expect(evaluate([out.node], good)[0]!.shape).toEqual([2]);
  });

  it("missing feed: names the input, its declared shape, its line and what was fed", () => {
    const { y: _, ...rest } = good;
    const e = run(rest);
    expect(e).toBeInstanceOf(FeedError);
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as FeedError).problem).toBe("missing");
    expect(e.message).toContain("feeds.y: missing feed for input 'y' (declared f32[batch]");
    expect(e.message).toContain(`at ${where(y)}`);
    expect(where(y)).toMatch(/^test\/runtime\/interpret\.test\.ts:\d+$/);
    expect(e.message).toContain("fed: 'W', 'x'");
  });

  it("extra feed name: names it and lists the graph's leaves, unless allowed", () => {
    const e = run({ ...good, z: tensorValue("f32", [1], [0]) });
    expect(e.message).toBe("feeds.z: feed 'z' names no input or param of the graph (its leaves are 'W', 'x', 'y')");
    expect(evaluate([out.node], { ...good, z: tensorValue("f32", [1], [0]) }, { allowExtraFeeds: true })[0]!.shape).toEqual([2]);
  });

  it("wrong rank, wrong dtype, wrong concrete dim", () => {
    const rank = run({ ...good, x: tensorValue("f32", [6], iota(6)) });
    expect(rank.message).toContain(`input 'x' (declared f32[batch, 3] at ${where(x)}) was fed f32[6]: rank must be 2, got 1`);
    const dtype = run({ ...good, W: tensorValue("f64", [3, 2], iota(6)) });
    expect(dtype.message).toContain(`param 'W' (declared f32[3, 2] at ${where(W)}) was fed f64[3, 2]: dtype must be f32`);
    const dim = run({ ...good, x: tensorValue("f32", [2, 4], iota(8)) });
    expect(dim.message).toContain("input 'x' (declared f32[batch, 3]");
    expect(dim.message).toContain("was fed f32[2, 4]: dim 1 must be 3, got 4");
  });

  it("a symbolic dim bound to two sizes names both inputs and both sizes", () => {
    const e = run({ ...good, y: tensorValue("f32", [5], iota(5)) });
    expect((e as FeedError).problem).toBe("conflict");
    expect(e.message).toBe(
      `feeds.y: symbolic dim 'batch' is bound to 2 by input 'x' (declared f32[batch, 3] at ${where(x)}), fed f32[2, 3], ` +
        `and to 5 by input 'y' (declared f32[batch] at ${where(y)}), fed f32[5]`,
    );
  });

  it("malformed values: wrong typed array, wrong length, bad shape", () => {
    const array = run({ ...good, y: { dtype: "f32", shape: [2], data: new Float64Array(2) } });
    expect(array.message).toContain("the feed for input 'y'");
    expect(array.message).toContain("holds a Float64Array for dtype f32, which needs a Float32Array");
    const length = run({ ...good, y: { dtype: "f32", shape: [2], data: new Float32Array(3) } });
    expect(length.message).toContain("holds 3 elements but its shape [2] needs 2");
    const shape = run({ ...good, y: { dtype: "f32", shape: [-2], data: new Float32Array(0) } });
    expect(shape.message).toContain("has shape [-2]: a shape is an array of non-negative integers");
  });
});

describe("checks after binding", () => {
  /** Nodes made directly (as a loaded graph would be), skipping the DSL's symbolic checks. */
  const unchecked = (op: typeof Op.Add, inputs: readonly Node[], shape: readonly (number | string)[]): Node =>
    makeNode({ op, params: {}, inputs, shape, dtype: "f64", loc: { file: "model.ts", line: 42, column: 3 } });

  it("a shape rule that fails once dims are bound names the op, the shapes, the bindings and the line", () => {
    const a = tg.input("a", [tg.sym("n"), 3], "f64");
    const b = tg.input("b", [tg.sym("m"), 3], "f64");
    const sum = unchecked(Op.Add, [a.node, b.node], ["n", 3]);
    expect(Array.from(evaluate([sum], { a: f64([2, 3], iota(6)), b: f64([1, 3], [1, 1, 1]) })[0]!.data)).toHaveLength(6);
    const e = thrown(() => evaluate([sum], { a: f64([2, 3], iota(6)), b: f64([5, 3], iota(15)) }));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe(
      "add: cannot broadcast [2, 3] (lhs) with [5, 3] (rhs): 2 vs 5 (inputs f64[2, 3] (declared [n, 3]), f64[5, 3] (declared [m, 3]); with n=2, m=5) (at model.ts:42)",
    );
  });

  it("a node whose declared shape disagrees with its inputs is reported", () => {
    const a = tg.input("a", [2, 3], "f64");
    const bad = unchecked(Op.Add, [a.node, a.node], [3, 2]);
    expect(thrown(() => evaluate([bad], { a: f64([2, 3], iota(6)) })).message).toBe(
      "add: declared f64[3, 2] = f64[3, 2] but its inputs f64[2, 3], f64[2, 3] give f64[2, 3] (with no symbolic dims) (at model.ts:42)",
    );
  });

  it("a symbolic dim that no feed binds is reported", () => {
    const a = tg.input("a", [2], "f64");
    const node = makeNode({ op: Op.Reshape, params: { shape: ["k"] }, inputs: [a.node], shape: ["k"], dtype: "f64", loc: undefined });
    expect(thrown(() => evaluate([node], { a: f64([2], [1, 2]) })).message).toContain("reshape: symbolic dim 'k' in its params is not bound by any feed");
  });

  it("an index out of range names the op, the index, the axis, its size and the line", () => {
    const table = tg.input("table", [4, 2], "f64");
    const ids = tg.input("ids", [tg.sym("n")], "i32");
    const rows = tg.gather(table, ids, 0);
    const e = thrown(() => evaluate([rows.node], { table: f64([4, 2], iota(8)), ids: tensorValue("i32", [3], [0, 5, 1]) }));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe(`gather at ${where(rows)}: gather: index 5 (at position 1 of the indices [3]) is out of range for axis 0 of size 4`);
  });
});

describe("checked mode feeds", () => {
  it("rejects a NaN or Infinity feed, naming the input, its declared shape, the element and the source line", () => {
    const x = tg.input("x", [tg.sym("batch"), 2], "f32");
    const out = tg.sum(x);
    const feeds = { x: tensorValue("f32", [2, 2], [1, 2, Number.NaN, 4]) };
    expect(() => evaluate([out.node], feeds, { checkFinite: true })).toThrow(
      /input 'x' \(declared f32\[batch, 2\] at test\/runtime\/interpret\.test\.ts:\d+\) was fed .* holding NaN at \[1, 0\]/,
    );
    expect(Number.isNaN(evaluate([out.node], feeds)[0]!.data[0])).toBe(true);
  });
});
