/**
 * The public autodiff API and the differentiate pass: result structure and static types,
 * vjp with cotangents, errors (values inside, GradError outside, messages naming the
 * tensor, its type and source line), zeros for unused wrt tensors (symbolic shapes too),
 * higher order, origin/loc stamping, hash-consing, matmul gradients without transposes.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import * as E from "fp-ts/lib/Either.js";
import * as tg from "../../src/index.js";
import { ALL_OPS, Op } from "../../src/ops.js";
import { makeNode, type Node } from "../../src/graph/node.js";
import { wrap, type AnyTensor } from "../../src/tensor.js";
import { differentiate } from "../../compiler/passes/differentiate.js";
import { vjpRules } from "../../compiler/rules/grad.js";

type Feeds = Record<string, tg.TensorValue>;
const values = (ts: readonly AnyTensor[], feeds: Feeds): number[][] =>
  tg.evaluateTensors(ts, feeds, { allowExtraFeeds: true }).map((v) => Array.from(v.data));
const f64 = (shape: readonly number[], data: readonly number[]): tg.TensorValue => tg.tensorValue("f64", shape, data);
const thrown = (f: () => unknown): Error => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
};

const x = tg.input("x", [2, 3], "f64");
const W = tg.param("W", [3, 2], "f64");
const loss = tg.sum(tg.square(tg.matmul(x, W)));
const feeds: Feeds = { x: f64([2, 3], [1, 2, 3, -1, 0, 2]), W: f64([3, 2], [0.5, -1, 2, 0, 1, 1]) };

describe("grad, valueAndGrad, vjp: structure and types", () => {
  it("a tensor gives a tensor, a tuple a tuple, a record a record, each typed like its wrt tensor", () => {
    const dW = tg.grad(loss, W);
    expectTypeOf(dW).toEqualTypeOf<tg.Tensor<readonly [3, 2], "f64">>();
    const pair = tg.grad(loss, [x, W]);
    expectTypeOf(pair).toEqualTypeOf<readonly [typeof x, typeof W]>();
    const rec = tg.grad(loss, { W, x });
    expectTypeOf(rec).toEqualTypeOf<{ readonly W: typeof W; readonly x: tg.Tensor<readonly [2, 3], "f64"> }>();
    expectTypeOf(rec.W).not.toEqualTypeOf<typeof x>();
    expect(Object.keys(rec)).toEqual(["W", "x"]);
    expect(rec.W.node.shape).toEqual([3, 2]);
    expect(pair[0].node.hash).toBe(rec.x.node.hash);
    expect(dW.node.hash).toBe(pair[1].node.hash);
  });

  it("gives 2·xᵀ(xW) for W and 2·(xW)Wᵀ for x", () => {
    const [dx, dW] = values(tg.grad(loss, [x, W]), feeds);
    // xW = [[7.5, 2], [1.5, 3]]
    expect(dW).toEqual([12, -2, 30, 8, 51, 24]);
    expect(dx).toEqual([3.5, 30, 19, -4.5, 6, 9]);
  });

  it("valueAndGrad returns the loss itself and the gradients", () => {
    const { value, grads } = tg.valueAndGrad(loss, { W });
    expect(value).toBe(loss);
    expect(values([value, grads.W], feeds)).toEqual([[71.5], [12, -2, 30, 8, 51, 24]]);
  });

  it("vjp weights each output by its cotangent and adds the contributions", () => {
    const v = tg.input("v", [3], "f64");
    const y1 = tg.square(v);
    const y2 = tg.sum(tg.exp(v));
    const u = tg.constant([1, 10, 100], [3], "f64");
    const [dv] = tg.vjp([y1, y2], [v], [u, tg.scalar(2, "f64")]);
    const got = values([dv!], { v: f64([3], [1, 0, -1]) })[0]!;
    [2 * 1 + 2 * Math.E, 0 + 2, -200 + 2 / Math.E].forEach((e, i) => expect(got[i]).toBeCloseTo(e, 12));
    expect(values(tg.vjp(y1, [v], u), { v: f64([3], [1, 0, -1]) })[0]).toEqual([2, 0, -200]);
  });

  it("differentiates with respect to intermediate values and params, accumulating repeated uses", () => {
    const h = tg.matmul(x, W);
    const dh = tg.grad(tg.sum(tg.tanh(h)), h);
    const hv = values([h, dh], feeds);
    hv[1]!.forEach((g, i) => expect(g).toBeCloseTo(1 - Math.tanh(hv[0]![i]!) ** 2, 14));
    const p = tg.param("p", [2], "f64");
    const dp = tg.grad(tg.sum(tg.add(tg.mul(p, p), tg.mul(p, 3))), p);
    expect(values([dp], { p: f64([2], [1, -2]) })[0]).toEqual([5, -1]);
  });

  it("uses symbolic dims: mean over the batch divides by the bound batch size", () => {
    const xb = tg.input("xb", [tg.sym("batch"), 3], "f64");
    const dW = tg.grad(tg.mean(tg.square(tg.matmul(xb, W))), W);
    expect(dW.node.shape).toEqual([3, 2]);
    const one = values([dW], { xb: f64([2, 3], [1, 2, 3, -1, 0, 2]), W: feeds.W! })[0]!;
    expect(one).toEqual([12, -2, 30, 8, 51, 24].map((v) => v / 4));
    const twice = values([dW], { xb: f64([4, 3], [1, 2, 3, -1, 0, 2, 1, 2, 3, -1, 0, 2]), W: feeds.W! })[0]!;
    expect(twice).toEqual(one);
  });
});

describe("errors", () => {
  const at = /at test\/compiler\/grad-api\.test\.ts:\d+/;

  it("refuses i32/bool wrt tensors, naming the tensor and its line", () => {
    const labels = tg.input("labels", [4], "i32");
    const e = thrown(() => tg.grad(tg.sum(tg.cast(labels, "f64")), [x, labels]));
    expect(e).toBeInstanceOf(tg.GradError);
    expect(e.message).toContain("differentiate: cannot differentiate with respect to wrt[1], input 'labels' i32[4] at test/compiler/grad-api.test.ts:");
    expect(e.message).toContain("only f32 and f64 tensors have gradients");
  });

  it("needs a scalar loss or a cotangent", () => {
    const e = thrown(() => tg.grad(tg.mul(x, 2), [x]));
    expect(e.message).toMatch(at);
    expect(e.message).toContain("output 0, mul f64[2,3]");
    expect(e.message).toContain("is not a scalar: grad needs a loss of shape [] (reduce it with sum or mean), or give a cotangent of shape [2,3] to vjp");
    expect(() => tg.grad(tg.sum(x, 1, { keepdims: true }), x)).toThrow("is not a scalar");
    expect(values([tg.grad(tg.reshape(tg.sum(x), [1, 1]), x)], feeds)[0]).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it("checks cotangent shapes, dtypes and count", () => {
    const y = tg.mul(x, 2);
    expect(() => tg.vjp(y, [x], tg.constant(1, [3], "f64"))).toThrow("cotangent 0 is f64[3] but output 0, mul f64[2,3] at test/compiler/grad-api.test.ts:");
    expect(() => tg.vjp(y, [x], tg.constant(1, [2, 3], "f32"))).toThrow("cotangent 0 is f32[2,3] but output 0");
    expect(() => tg.vjp([y, y], [x], [tg.constant(1, [2, 3], "f64")])).toThrow("1 cotangents for 2 outputs");
  });

  it("refuses integer outputs", () => {
    expect(() => tg.grad(tg.sum(tg.cast(x, "i32")), x)).toThrow("output 0, sum i32[] at test/compiler/grad-api.test.ts:");
  });

  it("is a value inside the compiler: differentiate returns Left with kind and pass", () => {
    const r = differentiate({ outputs: [tg.mul(x, 2).node], wrt: [x.node] });
    expect(E.isLeft(r) && r.left.pass === "differentiate" && r.left.kind === "shape").toBe(true);
  });

  it("reports a failing rule as an internal error naming the node", () => {
    // A hand-made node whose declared shape disagrees with its params: the sum rule cannot reshape back.
    const bad = makeNode({ op: Op.Sum, params: { axes: [1], keepdims: false }, inputs: [x.node], shape: [7], dtype: "f64" });
    const r = differentiate({ outputs: [tg.sum(wrap(bad)).node], wrt: [x.node] });
    expect(E.isLeft(r) && r.left.kind).toBe("internal");
    expect(E.isLeft(r) && r.left.message).toContain("the gradient rule of sum f64[7]");
  });
});

describe("unused wrt tensors get zeros of their shape", () => {
  it("concrete and symbolic shapes", () => {
    const unused = tg.input("unused", [tg.sym("n"), 2], "f64");
    const [dUnused, dW] = tg.grad(tg.sum(tg.square(W)), [unused, W]);
    expect(dUnused.node.shape).toEqual(["n", 2]);
    const out = values([dUnused, dW, tg.grad(tg.sum(x), W)], { unused: f64([3, 2], [1, 2, 3, 4, 5, 6]), ...feeds });
    expect(out[0]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(out[2]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("including tensors reached only through stopGradient or integer casts", () => {
    const loss2 = tg.add(tg.sum(tg.stopGradient(W)), tg.sum(tg.cast(tg.cast(W, "i32"), "f64")));
    expect(values([tg.grad(loss2, W)], feeds)[0]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe("large graphs", () => {
  it("a chain of 450 ops differentiates into a gradient graph linear in its length", () => {
    const z = tg.input("z", [2], "f64");
    let h: AnyTensor = z;
    for (let i = 0; i < 300; i++) h = i % 2 === 0 ? tg.mul(h, 1.001) : tg.sin(tg.mul(h, 0.5));
    const dz = tg.grad(tg.sum(h), z);
    const g = tg.buildGraph(dz);
    expect(g.nodes.length).toBeLessThan(4 * 450 + 50);
    const [got] = values([dz], { z: f64([2], [0.3, -0.2]) });
    expect(got!.every(Number.isFinite)).toBe(true);
  });
});

describe("higher order", () => {
  const v = tg.input("v", [3], "f64");
  const p = tg.input("p", [3], "f64");
  const vf: Feeds = { p: f64([3], [1, -2, 0.5]), v: f64([3], [1, 2, 3]) };

  it("Hessian-vector product grad(sum(grad(f, p) * v), p) of sum(p³) is 6·p·v", () => {
    const g = tg.grad(tg.sum(tg.pow(p, 3)), p);
    const hvp = tg.grad(tg.sum(tg.mul(g, v)), p);
    values([hvp], vf)[0]!.forEach((h, i) => expect(h).toBeCloseTo([6, -24, 9][i]!, 12));
  });

  it("third derivative of sum(p⁴) is 24·p, and gradient nodes of gradient nodes record their origin", () => {
    const d1 = tg.grad(tg.sum(tg.mul(tg.square(p), tg.square(p))), p);
    const d2 = tg.grad(tg.sum(d1), p);
    const d3 = tg.grad(tg.sum(d2), p);
    values([d3], vf)[0]!.forEach((h, i) => expect(h).toBeCloseTo(24 * [1, -2, 0.5][i]!, 10));
    expect(tg.buildGraph(d3).nodes.some((n) => n.origin?.origin !== undefined)).toBe(true);
  });
});

describe("gradient graphs", () => {
  const forward = new Set(tg.buildGraph(loss).nodes);
  const gradGraph = tg.buildGraph(tg.grad(loss, { x, W }), "grads");
  const fresh = gradGraph.nodes.filter((n) => !forward.has(n));

  it("stamp each gradient node with the forward node it came from and that node's source line", () => {
    expect(fresh.length).toBeGreaterThan(0);
    const originals = new Set<Node>(fresh.map((n) => n.origin!));
    for (const n of fresh) {
      expect(n.origin, `${n.op} has an origin`).toBeDefined();
      expect(n.loc).toEqual(n.origin!.loc);
    }
    for (const o of originals) expect([...tg.buildGraph(loss).nodes].some((m) => m.hash === o.hash)).toBe(true);
  });

  it("are hash-consed like any graph: the same gradient twice has the same nodes", () => {
    const again = tg.buildGraph(tg.grad(loss, { x, W }), "grads");
    expect(again.nodes.map((n) => n.hash)).toEqual(gradGraph.nodes.map((n) => n.hash));
  });

  it("differentiate matmul with transpose flags, never transpose nodes, and reduce broadcast batch dims", () => {
    expect(gradGraph.nodes.some((n) => n.op === Op.Transpose)).toBe(false);
    const a = tg.input("a", [4, 2, 3], "f64");
    const b = tg.input("b", [3, 5], "f64");
    const db = tg.grad(tg.sum(tg.matmul(a, b, { transposeA: false })), b);
    expect(db.node.shape).toEqual([3, 5]);
    expect(tg.buildGraph(db).nodes.filter((n) => n.op === Op.MatMul).map((n) => n.params)).toContainEqual({ transposeA: true, transposeB: false });
  });

  it("the rule table has a rule for every op, and integer inputs get 'none'", () => {
    expect(Object.keys(vjpRules).sort()).toEqual([...ALL_OPS].sort());
    const table = tg.input("table", [4, 2], "f64");
    const idx = tg.input("idx", [3], "i32");
    const out = tg.gather(table, idx, 0);
    const rule = vjpRules[Op.Gather];
    const res = rule({ node: out.node as Extract<Node, { op: "gather" }>, params: { axis: 0 }, inputs: [table, idx], out, cotangent: out });
    expect(res[1]).toBe("none");
    expect(typeof res[0] === "string" ? res[0] : res[0]!.node.op).toBe(Op.ScatterAdd);
  });
});
