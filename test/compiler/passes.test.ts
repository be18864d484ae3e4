/**
 * Targeted tests of each pass: every identity with before/after dumps, and verifyGraph on
 * hand-made bad graphs. Property tests over random graphs are in passes-properties.test.ts.
 */
import { describe, expect, it } from "vitest";
import * as E from "fp-ts/lib/Either.js";
import * as tg from "../../src/index.js";
import { Op } from "../../src/ops.js";
import { buildGraph, type Graph } from "../../src/graph/graph.js";
import { makeNode, type Node } from "../../src/graph/node.js";
import { graphToText } from "../../src/graph/text.js";
import type { AnyTensor } from "../../src/tensor.js";
import { orThrow, type CompileError } from "../../compiler/errors.js";
import { eliminateCommonSubexpressions } from "../../compiler/passes/eliminateCommonSubexpressions.js";
import { simplifyAlgebra } from "../../compiler/passes/simplifyAlgebra.js";
import { eliminateDeadNodes } from "../../compiler/passes/eliminateDeadNodes.js";
import { verifyGraph } from "../../compiler/passes/verifyGraph.js";

const text = (g: Graph): string => graphToText(g, { locations: false });
const build = (outs: AnyTensor | readonly AnyTensor[], name = "g"): Graph => buildGraph(outs as AnyTensor, name);
/** Runs a pass, then dead-node elimination (so dumps show only what outputs need), verifying both. */
const run = (pass: (g: Graph) => E.Either<CompileError, Graph>, g: Graph): Graph => {
  const out = orThrow(pass(g));
  orThrow(verifyGraph(out));
  return orThrow(eliminateDeadNodes(out));
};
const simplified = (outs: AnyTensor | readonly AnyTensor[]): string => text(run(simplifyAlgebra, build(outs)));

const x = tg.input("x", [2, 3], "f64");
const y = tg.input("y", [2, 3], "f64");
const v = tg.input("v", [3], "f64");

describe("eliminateCommonSubexpressions", () => {
  it("merges commuted operands of add, mul, maximum, minimum, equal and notEqual", () => {
    const g = build([tg.add(x, y), tg.add(y, x), tg.mul(y, x), tg.mul(x, y), tg.maximum(x, y), tg.maximum(y, x), tg.equal(y, x), tg.equal(x, y)]);
    expect(g.nodes.length).toBe(10);
    const out = run(eliminateCommonSubexpressions, g);
    expect(out.nodes.length).toBe(6);
    expect(out.outputs[0]).toBe(out.outputs[1]);
    expect(out.outputs[2]).toBe(out.outputs[3]);
    expect(out.outputs[4]).toBe(out.outputs[5]);
    expect(out.outputs[6]).toBe(out.outputs[7]);
    expect(out.outputNames).toEqual(g.outputNames);
  });

  it("keeps the user's operand order when there is no twin to merge with", () => {
    const g = build([tg.add(y, x), tg.greater(v, x)]);
    expect(text(run(eliminateCommonSubexpressions, g))).toBe(text(g));
  });

  it("merges a > b with b < a, and a >= b with b <= a", () => {
    const out = run(eliminateCommonSubexpressions, build([tg.greater(x, y), tg.less(y, x), tg.greaterEqual(x, v), tg.lessEqual(v, x)]));
    expect(text(out)).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3], y: f64[2,3], v: f64[3]) {
        %3: bool[2,3] = greater x y
        %4: bool[2,3] = greaterEqual x v
        return out0=%3, out1=%3, out2=%4, out3=%4
      }"
    `);
  });

  it("keeps the operand order of sub, div, pow and mulNoNan", () => {
    const g = build([tg.sub(x, y), tg.sub(y, x), tg.mulNoNan(x, y), tg.mulNoNan(y, x), tg.div(x, y), tg.div(y, x)]);
    expect(run(eliminateCommonSubexpressions, g).nodes.length).toBe(g.nodes.length);
  });

  it("merges equal constants written differently, but not 0 and -0", () => {
    const g = build([tg.mul(x, tg.constant([2, 2, 2], [3], "f64")), tg.mul(x, tg.full([3], 2, "f64")), tg.div(x, tg.scalar(0, "f64")), tg.div(x, tg.scalar(-0, "f64"))]);
    expect(text(run(eliminateCommonSubexpressions, g))).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3]) {
        %1: f64[3] = constant 2
        %2: f64[] = constant 0
        %3: f64[] = constant -0
        %4: f64[2,3] = mul x %1
        %5: f64[2,3] = div x %2
        %6: f64[2,3] = div x %3
        return out0=%4, out1=%4, out2=%5, out3=%6
      }"
    `);
  });

  it("canonicalizes inside deeper expressions, so whole subtrees merge", () => {
    const g = build([tg.tanh(tg.add(tg.mul(x, y), v)), tg.tanh(tg.add(v, tg.mul(y, x)))]);
    const out = run(eliminateCommonSubexpressions, g);
    expect(out.outputs[0]).toBe(out.outputs[1]);
    expect(out.nodes.length).toBe(6);
  });
});

describe("simplifyAlgebra", () => {
  it("drops multiplication and division by one, addition and subtraction of zero, and x^1", () => {
    const one = tg.scalar(1, "f64");
    const zero = tg.scalar(0, "f64");
    const outs = [tg.mul(x, one), tg.mul(one, y), tg.add(x, zero), tg.add(zero, y), tg.sub(x, zero), tg.div(y, one), tg.pow(x, one)];
    expect(text(build(outs))).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3], y: f64[2,3]) {
        %1: f64[] = constant 1
        %3: f64[] = constant 0
        %4: f64[2,3] = mul x %1
        %5: f64[2,3] = mul %1 y
        %6: f64[2,3] = add x %3
        %7: f64[2,3] = add %3 y
        %8: f64[2,3] = sub x %3
        %9: f64[2,3] = div y %1
        %10: f64[2,3] = pow x %1
        return out0=%4, out1=%5, out2=%6, out3=%7, out4=%8, out5=%9, out6=%10
      }"
    `);
    expect(simplified(outs)).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3], y: f64[2,3]) {
        return out0=x, out1=y, out2=x, out3=y, out4=x, out5=y, out6=x
      }"
    `);
  });

  it("keeps the result shape: x[3] * ones[2,3] becomes broadcastTo(x, [2,3])", () => {
    expect(simplified(tg.mul(v, tg.ones([2, 3], "f64")))).toMatchInlineSnapshot(`
      "graph g(v: f64[3]) {
        %1: f64[2,3] = broadcastTo[shape=[2,3]] v
        return %1
      }"
    `);
  });

  it("does not rewrite x*0, 0-x, x-x or x/x (they differ for NaN or inf)", () => {
    const outs = [tg.mul(x, tg.scalar(0, "f64")), tg.sub(tg.scalar(0, "f64"), x), tg.sub(x, x), tg.div(x, x)];
    expect(simplified(outs)).toBe(text(build(outs)));
  });

  it("removes double negation", () => {
    expect(simplified([tg.neg(tg.neg(x)), tg.neg(tg.neg(tg.neg(y)))])).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3], y: f64[2,3]) {
        %2: f64[2,3] = neg y
        return out0=x, out1=%2
      }"
    `);
  });

  it("composes transposes, and removes identity permutations", () => {
    const t = tg.input("t", [2, 3, 4], "f64");
    const outs = [tg.transpose(tg.transpose(t, [2, 0, 1]), [2, 0, 1]), tg.transpose(tg.transpose(t, [2, 0, 1]), [1, 2, 0]), tg.transpose(t, [0, 1, 2])];
    expect(text(build(outs))).toMatchInlineSnapshot(`
      "graph g(t: f64[2,3,4]) {
        %1: f64[4,2,3] = transpose[perm=[2,0,1]] t
        %2: f64[3,4,2] = transpose[perm=[2,0,1]] %1
        %3: f64[2,3,4] = transpose[perm=[1,2,0]] %1
        %4: f64[2,3,4] = transpose[perm=[0,1,2]] t
        return out0=%2, out1=%3, out2=%4
      }"
    `);
    expect(simplified(outs)).toMatchInlineSnapshot(`
      "graph g(t: f64[2,3,4]) {
        %1: f64[3,4,2] = transpose[perm=[1,2,0]] t
        return out0=%1, out1=t, out2=t
      }"
    `);
  });

  it("collapses reshape / expandDims / squeeze chains into one reshape, or none", () => {
    const t = tg.input("t", [2, 3, 4], "f64");
    const outs = [tg.reshape(tg.reshape(t, [6, 4]), [24]), tg.reshape(tg.reshape(t, [6, 4]), [2, 3, 4]), tg.squeeze(tg.expandDims(t, 1), 1), tg.reshape(t, [2, 3, 4])];
    expect(simplified(outs)).toMatchInlineSnapshot(`
      "graph g(t: f64[2,3,4]) {
        %1: f64[24] = reshape[shape=[24]] t
        return out0=%1, out1=t, out2=t, out3=t
      }"
    `);
  });

  it("removes broadcastTo to the same shape and merges nested broadcasts", () => {
    const outs = [tg.broadcastTo(x, [2, 3]), tg.broadcastTo(tg.broadcastTo(v, [2, 3]), [4, 2, 3])];
    expect(simplified(outs)).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3], v: f64[3]) {
        %2: f64[4,2,3] = broadcastTo[shape=[4,2,3]] v
        return out0=x, out1=%2
      }"
    `);
  });

  it("turns a reshape or transpose of a broadcast one-element value into one broadcastTo", () => {
    const s = tg.input("s", [1], "f64");
    const b = tg.broadcastTo(s, [2, 3]);
    const outs = [tg.reshape(b, [3, 2, 1]), tg.transpose(b), tg.mul(tg.reshape(tg.broadcastTo(s, [4]), [4, 1]), tg.input("m", [4, 5], "f64"))];
    expect(simplified(outs)).toMatchInlineSnapshot(`
      "graph g(s: f64[1], m: f64[4,5]) {
        %2: f64[3,2,1] = broadcastTo[shape=[3,2,1]] s
        %3: f64[3,2] = broadcastTo[shape=[3,2]] s
        %4: f64[4,5] = mul s m
        return out0=%2, out1=%3, out2=%4
      }"
    `);
  });

  it("replaces a broadcast scalar feeding an elementwise op by the scalar, when the result shape is unchanged", () => {
    const two = tg.scalar(2, "f64");
    const outs = [tg.add(x, tg.broadcastTo(two, [2, 3])), tg.greater(tg.broadcastTo(two, [2, 3]), x), tg.where(tg.less(x, 0), tg.broadcastTo(two, [2, 3]), x), tg.add(v, tg.broadcastTo(two, [2, 3]))];
    expect(text(build(outs))).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3], v: f64[3]) {
        %1: f64[] = constant 2
        %2: f64[] = constant 0
        %4: f64[2,3] = broadcastTo[shape=[2,3]] %1
        %5: f64[2,3] = add x %4
        %6: bool[2,3] = greater %4 x
        %7: bool[2,3] = less x %2
        %8: f64[2,3] = where %7 %4 x
        %9: f64[2,3] = add v %4
        return out0=%5, out1=%6, out2=%8, out3=%9
      }"
    `);
    expect(simplified(outs)).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3], v: f64[3]) {
        %1: f64[] = constant 2
        %2: f64[] = constant 0
        %4: f64[2,3] = add x %1
        %5: bool[2,3] = greater %1 x
        %6: bool[2,3] = less x %2
        %7: f64[2,3] = where %6 %1 x
        %8: f64[2,3] = broadcastTo[shape=[2,3]] %1
        %9: f64[2,3] = add v %8
        return out0=%4, out1=%5, out2=%7, out3=%9
      }"
    `);
  });

  it("removes reductions over no axes or size-1 axes, casts to the same dtype, trivial concat/slice/pad", () => {
    const c = tg.input("c", [2, 1, 3], "f64");
    const outs = [tg.sum(x, []), tg.mean(c, 1), tg.max(c, 1, { keepdims: true }), tg.cast(x, "f64"), tg.concat([x], 0), tg.slice(x, [[0, 2], [0, 3]]), tg.pad(x, [[0, 0], [0, 0]])];
    expect(simplified(outs)).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3], c: f64[2,1,3]) {
        %2: f64[2,3] = reshape[shape=[2,3]] c
        return out0=x, out1=%2, out2=c, out3=x, out4=x, out5=x, out6=x
      }"
    `);
  });

  it("keeps stopGradient, logsumexp over a size-1 axis, real casts, and real slices", () => {
    const c = tg.input("c", [2, 1, 3], "f64");
    const outs = [tg.stopGradient(x), tg.logsumexp(c, 1), tg.cast(x, "f32"), tg.slice(x, [[0, 2, 2]])];
    expect(simplified(outs)).toBe(text(build(outs)));
  });

  it("where with equal branches or a constant mask picks a branch, broadcast to the result shape", () => {
    const outs = [tg.where(tg.less(x, y), v, v), tg.where(tg.constant([1, 0, 1], [3], "bool"), x, y), tg.where(tg.full([2, 3], 0, "bool"), x, v)];
    expect(simplified(outs)).toMatchInlineSnapshot(`
      "graph g(v: f64[3], x: f64[2,3], y: f64[2,3]) {
        %1: bool[3] = constant [1, 0, 1]
        %4: f64[2,3] = broadcastTo[shape=[2,3]] v
        %5: f64[2,3] = where %1 x y
        return out0=%4, out1=%5, out2=%4
      }"
    `);
  });

  it("keeps source locations and output names; new nodes take the location of the node they replace", () => {
    const g = build({ doubled: tg.mul(v, tg.ones([2, 3], "f64")), kept: tg.tanh(tg.neg(tg.neg(x))) } as unknown as AnyTensor);
    const out = run(simplifyAlgebra, g);
    expect(out.outputNames).toEqual(["doubled", "kept"]);
    const [bcast, tanh] = out.outputs as [Node, Node];
    expect(bcast.op).toBe(Op.BroadcastTo);
    expect(bcast.loc).toEqual(g.outputs[0]!.loc);
    expect(tanh.loc).toEqual(g.outputs[1]!.loc);
    expect(tanh.loc?.file).toBe("test/compiler/passes.test.ts");
  });
});

describe("eliminateDeadNodes", () => {
  it("removes what rewrites leave behind, leaves included", () => {
    const g = build(tg.mul(x, tg.scalar(1, "f64")));
    const rewritten = orThrow(simplifyAlgebra(g));
    expect(rewritten.nodes.map((n) => n.op)).toEqual([Op.Input, Op.Constant]);
    const clean = orThrow(eliminateDeadNodes(rewritten));
    expect(clean.nodes.map((n) => n.op)).toEqual([Op.Input]);
    expect(text(clean)).toMatchInlineSnapshot(`
      "graph g(x: f64[2,3]) {
        return x
      }"
    `);
  });

  it("re-assembles hand-made graphs with unreachable nodes and renumbers ids", () => {
    const w = tg.input("w", [2], "f64");
    const live = tg.exp(w).node;
    const dead = tg.log(w).node;
    const extra = tg.input("unused", [1], "f64").node;
    const g = graphOf([w.node, extra, dead, live], [live]);
    const out = orThrow(eliminateDeadNodes(g));
    expect(out.nodes).toEqual([w.node, live]);
    expect(out.ids.get(live)).toBe(1);
    orThrow(verifyGraph(out));
  });
});

/** A graph from an explicit node list (ids = positions), for hand-made bad graphs. */
const graphOf = (nodes: readonly Node[], outputs: readonly Node[], outputNames = outputs.map((_, i) => `out${i}`)): Graph => ({
  name: "bad",
  nodes,
  outputs,
  outputNames,
  ids: new Map(nodes.map((n, i) => [n, i])),
});
const loc = { file: "model.ts", line: 12, column: 3 };
/** Hand-made leaves and nodes with fixed locations, so messages do not depend on this file's lines. */
const xh = makeNode({ op: Op.Input, params: { name: "x", shape: [2, 3], dtype: "f64" }, inputs: [], shape: [2, 3], dtype: "f64", loc: { ...loc, line: 3 } });
const yh = makeNode({ op: Op.Input, params: { name: "y", shape: [2, 3], dtype: "f64" }, inputs: [], shape: [2, 3], dtype: "f64", loc: { ...loc, line: 4 } });
const expOf = (n: Node): Node => makeNode({ op: Op.Exp, params: {}, inputs: [n], shape: n.shape, dtype: "f64", loc: { ...loc, line: 7 } });
const failure = (g: Graph): string => {
  const r = verifyGraph(g);
  if (E.isRight(r)) throw new Error("verifyGraph accepted a bad graph");
  return r.left.message;
};

describe("verifyGraph", () => {
  it("accepts graphs built by the DSL", () => {
    const g = build([tg.softmax(tg.matmul(x, tg.transpose(y))), tg.sum(tg.gather(v, tg.input("i", [4], "i32")))]);
    expect(verifyGraph(g)).toEqual(E.right(g));
  });

  it("rejects a node whose shape disagrees with its rule, naming node, shapes and location", () => {
    const bad = makeNode({ op: Op.Add, params: {}, inputs: [xh, yh], shape: [3, 2], dtype: "f64", loc });
    expect(failure(graphOf([xh, yh, bad], [bad]))).toMatchInlineSnapshot(`"verifyGraph: %2 add f64[3,2] (inputs x: f64[2,3], y: f64[2,3]) at model.ts:12: node says f64[3, 2] but the add rule gives f64[2, 3]"`);
  });

  it("rejects a node whose inputs break the rule", () => {
    const bad = makeNode({ op: Op.MatMul, params: { transposeA: false, transposeB: false }, inputs: [xh, yh], shape: [2, 3], dtype: "f64", loc });
    expect(failure(graphOf([xh, yh, bad], [bad]))).toMatchInlineSnapshot(`"verifyGraph: %2 matmul f64[2,3] (inputs x: f64[2,3], y: f64[2,3]) at model.ts:12: shape rule says: inner dims differ: 3 (lhs [2, 3]) vs 2 (rhs [2, 3])"`);
  });

  it("rejects a wrong dtype", () => {
    const bad = makeNode({ op: Op.Exp, params: {}, inputs: [xh], shape: [2, 3], dtype: "f32", loc });
    expect(failure(graphOf([xh, bad], [bad]))).toMatchInlineSnapshot(`"verifyGraph: %1 exp f32[2,3] (inputs x: f64[2,3]) at model.ts:12: node says f32[2, 3] but the exp rule gives f64[2, 3]"`);
  });

  it("rejects ids that are not positions, inputs that come later or are missing, and outputs outside the graph", () => {
    const e = expOf(xh);
    expect(failure({ ...graphOf([xh, e], [e]), ids: new Map([[xh, 0], [e, 0]]) })).toMatchInlineSnapshot(`"verifyGraph: exp f64[2,3] (inputs x) at model.ts:7: nodes[1] has id 0 in the id map; nodes[i] must have id i"`);
    expect(failure(graphOf([e, xh], [e]))).toMatchInlineSnapshot(`"verifyGraph: %0 exp f64[2,3] (inputs x: f64[2,3]) at model.ts:7: input 0 is %1, which does not come before it"`);
    expect(failure(graphOf([e], [e]))).toMatchInlineSnapshot(`"verifyGraph: %0 exp f64[2,3] (inputs x) at model.ts:7: input 0 (x: f64[2, 3]) is not in the graph"`);
    expect(failure(graphOf([xh], [e]))).toMatchInlineSnapshot(`"verifyGraph: output 'out0' (exp f64[2, 3] at model.ts:7) is not in the graph"`);
    expect(failure(graphOf([xh, e], [e], ["a", "b"]))).toMatchInlineSnapshot(`"verifyGraph: graph bad has 1 output(s) but 2 output name(s)"`);
  });

  it("reports a cycle as a cycle", () => {
    const a: { -readonly [K in keyof Node]: Node[K] } = { ...expOf(xh) };
    const b = makeNode({ op: Op.Log, params: {}, inputs: [a as Node], shape: [2, 3], dtype: "f64", loc });
    a.inputs = [b];
    expect(failure(graphOf([a as Node, b], [b]))).toMatchInlineSnapshot(`"verifyGraph: %0 exp f64[2,3] (inputs %1: f64[2,3]) at model.ts:7: cycle: %0 exp <- %1 log <- %0 exp"`);
  });

  it("rejects duplicate leaf names, duplicated nodes and stale hashes", () => {
    const x2 = makeNode({ op: Op.Input, params: { name: "x", shape: [3], dtype: "f64" }, inputs: [], shape: [3], dtype: "f64", loc });
    expect(failure(graphOf([xh, x2], [x2]))).toMatchInlineSnapshot(`"verifyGraph: %1 input f64[3] at model.ts:12: leaf name 'x' is also used by %0 input f64[2,3] at model.ts:3"`);
    const e1 = makeNode({ op: Op.Exp, params: {}, inputs: [xh], shape: [2, 3], dtype: "f64", loc });
    const e2 = makeNode({ op: Op.Exp, params: {}, inputs: [xh], shape: [2, 3], dtype: "f64", loc: { ...loc, line: 13 } });
    expect(failure(graphOf([xh, e1, e2], [e1, e2]))).toMatchInlineSnapshot(`"verifyGraph: %2 exp f64[2,3] (inputs x: f64[2,3]) at model.ts:13: not hash-consed: computes the same as %1 exp f64[2,3] (inputs x: f64[2,3]) at model.ts:12"`);
    const stale = { ...e1, hash: "0000000000000000" } as Node;
    expect(failure(graphOf([xh, stale], [stale]))).toMatchInlineSnapshot(`"verifyGraph: %1 exp f64[2,3] (inputs x: f64[2,3]) at model.ts:12: structural hash does not match the node's op, params, type and inputs"`);
  });
});
