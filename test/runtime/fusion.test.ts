/**
 * Elementwise fusion tests: which nodes `fuseElementwise` groups (chains, diamonds,
 * shared values, outputs, shape changes, i32, the size cap, invariants on random graphs),
 * how the generated loop reads each input (full, scalar, rows, literal), and that fused
 * loops give the reference kernels' values bit for bit in f32 and f64 under every kind
 * of broadcasting.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import * as E from "fp-ts/lib/Either.js";
import * as tg from "../../src/index.js";
import type { Node } from "../../src/graph/node.js";
import type { Graph } from "../../src/graph/graph.js";
import { fuseElementwise, MAX_GROUP_MEMBERS, type FusionPlan } from "../../compiler/passes/fuseElementwise.js";
import { bindFusedLoop, compileFusedLoop, emitFusedLoop, numberLiteral } from "../../runtime/codegen/elementwise.js";
import { compile } from "../../runtime/program.js";
import { evaluate } from "../../runtime/interpret.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import { buildRandomGraph, randomGraph } from "../support/randomGraph.js";

const plan = (g: Graph): FusionPlan => {
  const r = fuseElementwise(g);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const ops = (nodes: readonly Node[]): string[] => nodes.map((n) => n.op);
const ramp = (n: number, scale = 0.37, offset = -1.3): number[] => Array.from({ length: n }, (_, i) => offset + ((i * 7) % 11) * scale);
const feed = (dtype: "f32" | "f64", shape: readonly number[], scale = 0.37, offset = -1.3): TensorValue =>
  tensorValue(dtype, shape, ramp(shape.reduce((a, b) => a * b, 1), scale, offset));

describe("fuseElementwise: grouping", () => {
  const x = tg.input("x", [tg.sym("batch"), 4], "f32");
  const W = tg.param("W", [4, 3], "f32");
  const b = tg.param("b", [3], "f32");

  it("a dense layer's bias add and activation become one group reading the matmul and the bias", () => {
    const g = tg.buildGraph(tg.tanh(tg.add(tg.matmul(x, W), b)));
    const { groups } = plan(g);
    expect(groups).toHaveLength(1);
    expect(ops(groups[0]!.members)).toEqual(["add", "tanh"]);
    expect(ops(groups[0]!.inputs)).toEqual(["matmul", "param"]);
  });

  it("a diamond is fused whole: a value used twice inside the group is still an intermediate", () => {
    const h = tg.tanh(tg.matmul(x, W));
    const g = tg.buildGraph(tg.add(tg.exp(h), tg.sin(h)));
    const { groups } = plan(g);
    expect(groups).toHaveLength(1);
    expect(ops(groups[0]!.members).sort()).toEqual(["add", "exp", "sin", "tanh"]);
    expect(groups[0]!.members[groups[0]!.members.length - 1]!.op).toBe("add");
  });

  it("a value also read by a reduction, or requested as an output, is a group root of its own", () => {
    const h = tg.tanh(tg.matmul(x, W));
    const shared = tg.buildGraph(tg.add(tg.exp(h), tg.sum(h)));
    expect(plan(shared).groups.map((gr) => ops(gr.members))).toEqual([["tanh"], ["exp", "add"]]);
    const asOutput = tg.buildGraph({ h, y: tg.exp(h) });
    expect(plan(asOutput).groups.map((gr) => ops(gr.members))).toEqual([["tanh"], ["exp"]]);
  });

  it("members share the root's shape: a smaller operand is computed once, not per broadcast element", () => {
    const col = tg.input("col", [3, 1], "f64");
    const row = tg.input("row", [1, 4], "f64");
    const g = tg.buildGraph(tg.mul(tg.exp(col), tg.neg(row)));
    const groups = plan(g).groups;
    expect(groups.map((gr) => ops(gr.members))).toEqual([["exp"], ["neg"], ["mul"]]);
  });

  it("i32 results are not fused (int32 wrap-around happens on store); bool and cast to float are", () => {
    const i = tg.input("i", [4], "i32");
    const f = tg.input("f", [4], "f32");
    const g = tg.buildGraph(tg.where(tg.greater(tg.cast(tg.add(i, i), "f32"), f), f, tg.neg(f)));
    const p = plan(g);
    expect(p.groupOf.has(g.nodes.find((n) => n.op === "add")!)).toBe(false);
    expect(p.groups.map((gr) => ops(gr.members))).toEqual([["cast", "greater", "neg", "where"]]);
  });

  it(`caps a group at ${MAX_GROUP_MEMBERS} members; the rest forms further groups`, () => {
    let y: tg.AnyTensor = tg.input("y", [2], "f64");
    for (let k = 0; k < MAX_GROUP_MEMBERS + 10; k++) y = tg.mul(tg.add(y, 1), 0.5);
    const groups = plan(tg.buildGraph(y)).groups;
    expect(Math.max(...groups.map((gr) => gr.members.length))).toBe(MAX_GROUP_MEMBERS);
    expect(groups.reduce((a, gr) => a + gr.members.length, 0)).toBe(2 * (MAX_GROUP_MEMBERS + 10));
  });

  it("on random graphs: every fusible node is in one group, only roots escape, members have the root's shape", () => {
    fc.assert(
      fc.property(randomGraph(), (rg) => {
        const g = tg.buildGraph(buildRandomGraph(rg).outputs);
        const p = plan(g);
        const outputs = new Set(g.outputs);
        const consumers = tg.consumersOf(g);
        const seen = new Set<Node>();
        for (const group of p.groups) {
          const inside = new Set<Node>(group.members);
          expect(group.members[group.members.length - 1]).toBe(group.root);
          for (const [k, m] of group.members.entries()) {
            expect(seen.has(m)).toBe(false);
            seen.add(m);
            expect(p.groupOf.get(m)).toBe(group);
            expect(m.shape).toEqual(group.root.shape);
            // topological inside the group
            for (const inp of m.inputs) if (inside.has(inp)) expect((group.members as readonly Node[]).indexOf(inp)).toBeLessThan(k);
            if (m === group.root) continue;
            expect(outputs.has(m)).toBe(false);
            for (const c of consumers.get(m)!) expect(inside.has(c)).toBe(true);
          }
          for (const inp of group.inputs) expect(inside.has(inp)).toBe(false);
        }
        for (const n of g.nodes) expect(seen.has(n)).toBe(p.groupOf.has(n));
      }),
      { numRuns: 80 },
    );
  });
});

describe("generated loops", () => {
  it("classifies inputs from symbolic shapes: full, scalar, rows (stride 1 or 0) and inlined literals", () => {
    const h = tg.input("h", [tg.sym("batch"), 8], "f32");
    const bias = tg.input("bias", [8], "f32");
    const col = tg.input("col", [tg.sym("batch"), 1], "f32");
    const s = tg.input("s", [], "f32");
    const same = tg.input("same", [tg.sym("batch"), 8], "f32");
    const y = tg.mul(tg.sub(tg.add(tg.add(h, bias), col), tg.mul(s, same)), 0.5);
    const g = tg.buildGraph(y);
    const [group] = plan(g).groups;
    const emitted = emitFusedLoop(group!);
    const kinds = Object.fromEntries(emitted.inputs.map((i) => [i.node.op === "input" ? i.node.params.name : i.node.op, i.access]));
    expect(kinds).toEqual({
      h: { kind: "full" },
      bias: { kind: "rows", innerStride: 1 },
      col: { kind: "rows", innerStride: 0 },
      s: { kind: "scalar" },
      same: { kind: "full" },
      constant: { kind: "literal", value: 0.5 },
    });
    expect(emitted.byRows).toBe(true);
    expect(emitted.source).toContain("* 0.5)");
    expect(emitted.arrays).toHaveLength(5);
  });

  it("without broadcast inputs the loop is one flat loop", () => {
    const a = tg.input("a", [3, 4], "f64");
    const [group] = plan(tg.buildGraph(tg.exp(tg.mul(a, tg.scalar(2, "f64"))))).groups;
    const emitted = emitFusedLoop(group!);
    expect(emitted.byRows).toBe(false);
    expect(emitted.source).toContain("for (let i = 0; i < n; i++)");
  });

  it("writes exact literals: NaN, infinities, -0, and f32 constants rounded as the constant kernel stores them", () => {
    expect([NaN, Infinity, -Infinity, -0, 0, -2.5, 1e-300].map(numberLiteral)).toEqual(["NaN", "Infinity", "(-Infinity)", "(-0)", "0", "(-2.5)", "1e-300"]);
    for (const v of [NaN, Infinity, -0, 0.1, -1e-300]) expect(Object.is(new Function(`return ${numberLiteral(v)};`)(), v)).toBe(true);
    const a = tg.input("a", [3], "f32");
    const [group] = plan(tg.buildGraph(tg.add(a, 0.1))).groups;
    const lit = emitFusedLoop(group!).inputs.find((i) => i.access.kind === "literal")!.access;
    expect(lit).toEqual({ kind: "literal", value: Math.fround(0.1) });
  });

  it("binds row tables per concrete shape and skips empty outputs", () => {
    const a = tg.input("a", [2, 1, 3], "f64");
    const b = tg.input("b", [4, 1], "f64");
    const [group] = plan(tg.buildGraph(tg.sub(a, b))).groups;
    const emitted = emitFusedLoop(group!);
    const loop = compileFusedLoop(emitted);
    const out = new Float64Array(24);
    const [av, bv] = [feed("f64", [2, 1, 3]), feed("f64", [4, 1], 1, 0)];
    bindFusedLoop(emitted, loop, [2, 4, 3], [[2, 1, 3], [4, 1]]).run(out, [av.data, bv.data]);
    expect(Array.from(out)).toEqual(Array.from(evaluate(tg.buildGraph(tg.sub(a, b)).outputs, { a: av, b: bv })[0]!.data));
    const empty = bindFusedLoop(emitted, loop, [2, 0, 3], [[2, 1, 3], [0, 1]]);
    expect(empty.size).toBe(0);
    empty.run(new Float64Array(0), [av.data, new Float64Array(0)]);
  });
});

describe("fused loops agree with the reference kernels bit for bit", () => {
  const chains: [string, (a: tg.AnyTensor, b: tg.AnyTensor) => tg.AnyTensor][] = [
    ["unary math", (a, b) => tg.add(tg.erf(tg.softplus(tg.gelu(tg.sigmoid(tg.tanh(tg.sqrt(tg.abs(tg.cos(tg.sin(tg.exp(tg.neg(a))))))))))), b)],
    ["relu, sign, square, log", (a, b) => tg.log(tg.add(tg.square(tg.sign(tg.relu(tg.sub(a, b)))), 1.5))],
    ["binary arithmetic", (a, b) => tg.pow(tg.abs(tg.div(tg.sub(tg.mul(a, b), tg.add(a, b)), b)), tg.minimum(tg.maximum(a, 0.5), 2))],
    ["mulNoNan with zeros and infinities", (a, b) => tg.mulNoNan(tg.relu(a), tg.div(1, tg.sub(b, b)))],
    ["comparisons feeding where", (a, b) => tg.where(tg.less(a, b), tg.where(tg.greaterEqual(a, 0), a, b), tg.where(tg.notEqual(a, b), tg.neg(a), 0))],
    ["equal, lessEqual, greater as casts", (a, b) => tg.add(tg.cast(tg.equal(a, a), a.node.dtype), tg.mul(tg.cast(tg.lessEqual(a, b), a.node.dtype), tg.cast(tg.greater(b, 0), a.node.dtype)))],
    ["casts between floats", (a, b) => tg.add(tg.cast(tg.mul(tg.cast(a, "f64"), 1 / 3), a.node.dtype), tg.cast(tg.cast(b, "f32"), a.node.dtype))],
  ];
  const shapes: [string, number[], number[]][] = [
    ["same shape", [3, 5], [3, 5]],
    ["scalar operand", [3, 5], []],
    ["row broadcast (bias)", [4, 5], [5]],
    ["column broadcast", [4, 5], [4, 1]],
    ["general broadcast", [2, 1, 5], [3, 1]],
    ["rank 0", [], []],
  ];
  for (const dtype of ["f32", "f64"] as const)
    for (const [label, f] of chains)
      it.each(shapes)(`${dtype} ${label}: %s`, (_name, as, bs) => {
        const a = tg.input("a", as, dtype);
        const b = tg.input("b", bs, dtype);
        const g = tg.buildGraph(f(a, b));
        const feeds = { a: feed(dtype, as), b: feed(dtype, bs, 0.29, -0.9) };
        const program = compile(g, { optimize: false });
        expect(program.fusedSources.length).toBeGreaterThan(0);
        const [got] = program.run(feeds);
        const [want] = evaluate(g.outputs, feeds);
        expect(got!.shape).toEqual(want!.shape);
        expect(Array.from(got!.data)).toEqual(Array.from(want!.data));
      });
});
