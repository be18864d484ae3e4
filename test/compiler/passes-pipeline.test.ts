/**
 * foldConstants and the optimizeGraph pipeline: folding with its element limit, uniform
 * literals, kept locations, evaluation errors, and the pipeline's per-pass node counts,
 * fixed point and input verification.
 */
import { describe, expect, it } from "vitest";
import * as E from "fp-ts/lib/Either.js";
import * as tg from "../../src/index.js";
import { Op } from "../../src/ops.js";
import { buildGraph, type Graph } from "../../src/graph/graph.js";
import { makeNode } from "../../src/graph/node.js";
import { graphToText } from "../../src/graph/text.js";
import type { AnyTensor } from "../../src/tensor.js";
import { CompileFailure, orThrow } from "../../compiler/errors.js";
import { foldConstants, foldConstantsWith } from "../../compiler/passes/foldConstants.js";
import { eliminateDeadNodes } from "../../compiler/passes/eliminateDeadNodes.js";
import { verifyGraph } from "../../compiler/passes/verifyGraph.js";
import { formatPassStats, optimizeGraph } from "../../compiler/pipeline.js";

const text = (g: Graph): string => graphToText(g, { locations: false });
const build = (outs: AnyTensor | readonly AnyTensor[]): Graph => buildGraph(outs as AnyTensor, "g");
const folded = (g: Graph, pass = foldConstants): Graph => {
  const out = orThrow(pass(g));
  orThrow(verifyGraph(out));
  return orThrow(eliminateDeadNodes(out));
};

const x = tg.input("x", [2, 3], "f64");
const f64 = (v: number): AnyTensor => tg.scalar(v, "f64");

describe("foldConstants", () => {
  it("evaluates constant subgraphs bottom-up and replaces them by constants", () => {
    const g = build(tg.add(x, tg.exp(tg.mul(f64(2), tg.log(f64(3))))));
    expect(text(g)).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3]) {
        %1: f64[] = constant 2
        %2: f64[] = constant 3
        %3: f64[] = log %2
        %4: f64[] = mul %1 %3
        %5: f64[] = exp %4
        %6: f64[2,3] = add x %5
        return %6
      }"
    `);
    expect(text(folded(g))).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3]) {
        %1: f64[] = constant 8.999999999999998
        %2: f64[2,3] = add x %1
        return %2
      }"
    `);
  });

  it("folds every dtype: comparisons to bool, casts to i32, shape ops", () => {
    const c = tg.constant([1, -2, 3, -4, 5, -6], [2, 3], "f64");
    const outs = [tg.less(c, f64(0)), tg.cast(c, "i32"), tg.transpose(c), tg.sum(c, 1), tg.where(tg.greater(c, f64(0)), x, f64(0))];
    expect(text(folded(build(outs)))).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3]) {
        %0: bool[2,3] = constant [0, 1, 0, 1, 0, 1]
        %1: i32[2,3] = constant [1, -2, 3, -4, 5, -6]
        %2: f64[3,2] = constant [1, -4, -2, 5, 3, -6]
        %3: f64[2] = constant [2, -5]
        %4: bool[2,3] = constant [1, 0, 1, 0, 1, 0]
        %6: f64[] = constant 0
        %7: f64[2,3] = where %4 x %6
        return out0=%0, out1=%1, out2=%2, out3=%3, out4=%7
      }"
    `);
  });

  it("stores a uniform result once", () => {
    const g = folded(build(tg.add(x, tg.neg(tg.full([2, 3], 3, "f64")))));
    const k = g.nodes.find((n) => n.op === Op.Constant);
    expect(k?.op === Op.Constant ? k.params.values : undefined).toEqual([-3]);
  });

  it("leaves results above the element limit computed: a large broadcast of a scalar stays broadcastTo", () => {
    const big = tg.input("big", [100, 100], "f64");
    const g = build(tg.mul(big, tg.broadcastTo(tg.add(f64(1), f64(2)), [100, 100])));
    expect(text(folded(g))).toMatchInlineSnapshot(`
      "graph g(big: f64[100,100]) {
        %1: f64[] = constant 3
        %2: f64[100,100] = broadcastTo[shape=[100,100]] %1
        %3: f64[100,100] = mul big %2
        return %3
      }"
    `);
    const small = build(tg.neg(tg.constant([1, 2, 3], [3], "f64")));
    expect(folded(small, foldConstantsWith({ maxElements: 2 })).nodes.map((n) => n.op)).toEqual([Op.Constant, Op.Neg]);
  });

  it("keeps the location (and origin) of the node it replaces", () => {
    const g = build(tg.neg(f64(2)));
    const out = folded(g);
    expect(out.outputs[0]!.op).toBe(Op.Constant);
    expect(out.outputs[0]!.loc).toEqual(g.outputs[0]!.loc);
    expect(out.outputs[0]!.loc?.file).toBe("test/compiler/passes-pipeline.test.ts");
  });

  it("does not fold inputs, params or nodes that depend on them", () => {
    const p = tg.param("p", [3], "f64");
    const g = build([tg.exp(p), tg.add(x, p)]);
    expect(text(folded(g))).toBe(text(g));
  });

  it("reports a failed evaluation as an error naming the node and its source line", () => {
    const g = build(tg.gather(tg.constant([1, 2, 3], [3], "f64"), tg.constant([5], [1], "i32")));
    const r = foldConstants(g);
    expect(E.isLeft(r) && r.left.kind).toBe("evaluation");
    expect(E.isLeft(r) ? r.left.message : "").toMatch(/^foldConstants: %2 gather f64\[1\] \(inputs %0: f64\[3\], %1: i32\[1\]\) at test\/compiler\/passes-pipeline\.test\.ts:\d+: evaluating it over constants failed: /);
    expect(() => orThrow(r)).toThrow(CompileFailure);
  });
});

describe("optimizeGraph", () => {
  it("runs verify, then CSE, fold, simplify, CSE, DCE in rounds to a fixed point, counting nodes per pass", () => {
    const y = tg.transpose(tg.transpose(tg.neg(tg.neg(tg.mul(x, f64(1))))));
    const g = build([tg.add(y, tg.mul(f64(2), f64(3))), tg.add(tg.mul(f64(3), f64(2)), x)]);
    const { graph, stats } = orThrow(optimizeGraph(g, { verify: true }));
    expect(text(g)).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3]) {
        %1: f64[] = constant 1
        %2: f64[] = constant 2
        %3: f64[] = constant 3
        %4: f64[2,3] = mul x %1
        %5: f64[2,3] = neg %4
        %6: f64[2,3] = neg %5
        %7: f64[3,2] = transpose[perm=[1,0]] %6
        %8: f64[2,3] = transpose[perm=[1,0]] %7
        %9: f64[] = mul %2 %3
        %10: f64[2,3] = add %8 %9
        %11: f64[] = mul %3 %2
        %12: f64[2,3] = add %11 x
        return out0=%10, out1=%12
      }"
    `);
    expect(text(graph)).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3]) {
        %1: f64[] = constant 6
        %2: f64[2,3] = add x %1
        return out0=%2, out1=%2
      }"
    `);
    expect(formatPassStats(stats)).toMatchInlineSnapshot(`
      "| round | pass | nodes before | nodes after | reachable after |
      | ---: | --- | ---: | ---: | ---: |
      | 1 | eliminateCommonSubexpressions | 13 | 12 | 12 |
      | 1 | foldConstants | 12 | 12 | 10 |
      | 1 | simplifyAlgebra | 12 | 9 | 4 |
      | 1 | eliminateCommonSubexpressions | 9 | 8 | 3 |
      | 1 | eliminateDeadNodes | 8 | 3 | 3 |
      | 2 | eliminateCommonSubexpressions | 3 | 3 | 3 |
      | 2 | foldConstants | 3 | 3 | 3 |
      | 2 | simplifyAlgebra | 3 | 3 | 3 |
      | 2 | eliminateCommonSubexpressions | 3 | 3 | 3 |
      | 2 | eliminateDeadNodes | 3 | 3 | 3 |"
    `);
    const last = stats.filter((s) => s.round === stats[stats.length - 1]!.round);
    expect(last.every((s) => s.nodesBefore === s.nodesAfter)).toBe(true);
  });

  it("stops after maxRounds", () => {
    const g = build(tg.neg(tg.neg(tg.neg(tg.neg(x)))));
    const { stats } = orThrow(optimizeGraph(g, { maxRounds: 1 }));
    expect(new Set(stats.map((s) => s.round))).toEqual(new Set([1]));
    expect(stats.map((s) => s.pass)).toEqual(["eliminateCommonSubexpressions", "foldConstants", "simplifyAlgebra", "eliminateCommonSubexpressions", "eliminateDeadNodes"]);
  });

  it("rejects an invalid graph before optimizing it", () => {
    const bad = makeNode({ op: Op.Exp, params: {}, inputs: [x.node], shape: [3], dtype: "f64", loc: { file: "model.ts", line: 5, column: 1 } });
    const g: Graph = { name: "bad", nodes: [x.node, bad], outputs: [bad], outputNames: ["out"], ids: new Map([[x.node, 0], [bad, 1]]) };
    const r = optimizeGraph(g);
    expect(E.isLeft(r) ? r.left.message : "").toMatchInlineSnapshot(`"verifyGraph: %1 exp f64[3] (inputs x: f64[2,3]) at model.ts:5: node says f64[3] but the exp rule gives f64[2, 3]"`);
  });
});
