/**
 * The gradient graph of the MLP 784-256-256-10 (tanh, softmax cross-entropy) after
 * optimization: same values as before, and no duplicated work left (no two nodes with the
 * same op, params and inputs, commuted operands included; no identity the simplifier
 * removes). Prints the node count before and after each pass.
 */
import { describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import { Op } from "../../src/ops.js";
import { buildGraph, type Graph } from "../../src/graph/graph.js";
import { paramsKey, type Node } from "../../src/graph/node.js";
import { evaluate } from "../../runtime/interpret.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import { orThrow } from "../../compiler/errors.js";
import { formatPassStats, optimizeGraph } from "../../compiler/pipeline.js";
import { COMMUTATIVE_OPS } from "../../compiler/passes/eliminateCommonSubexpressions.js";

const SIZES = [784, 256, 256, 10];
const BATCH = 3;

const mlpGradientGraph = (withLoss: boolean): Graph => {
  const x = tg.input("x", [tg.sym("batch"), 784], "f64");
  const labels = tg.input("labels", [tg.sym("batch")], "i32");
  const params = tg.mlp.init("mlp", SIZES, { dtype: "f64" });
  const logits = tg.mlp(params, tg.tanh)(x);
  const loss = tg.softmaxCrossEntropy(logits as tg.Tensor<readonly [tg.Dim, 10], "f64">, labels as tg.Tensor<readonly [tg.Dim], "i32">);
  const wrt = params.flatMap((p) => [p.W, p.b]) as readonly tg.AnyTensor[];
  const grads = tg.grad(loss, wrt);
  const named = Object.fromEntries(wrt.map((p, i) => [`d${p.node.op === Op.Param ? p.node.params.name : i}`, grads[i]!]));
  return buildGraph(withLoss ? { loss, ...named } : named, "mlpGrad");
};

/** Deterministic pseudo-random feeds (a small LCG: the values only need to be generic). */
const feedsFor = (g: Graph): Record<string, TensorValue> => {
  let seed = 12345;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const feeds: Record<string, TensorValue> = {};
  for (const n of g.nodes) {
    if (n.op !== Op.Input && n.op !== Op.Param) continue;
    const shape = n.shape.map((d) => (typeof d === "number" ? d : BATCH));
    const size = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: size }, () => (n.dtype === "i32" ? Math.floor(next() * 10) : (next() - 0.5) * 0.2));
    feeds[n.params.name] = tensorValue(n.dtype, shape, values);
  }
  return feeds;
};

/** Op, params and inputs; commutative operands sorted, so `a+b` and `b+a` have one key. */
const workKey = (g: Graph, n: Node): string => {
  const ids = n.inputs.map((i) => g.ids.get(i)!);
  if (COMMUTATIVE_OPS.has(n.op)) ids.sort((a, b) => a - b);
  return `${n.op}|${paramsKey(n.op === Op.Constant ? { ...n.params, dtype: n.dtype } : n.params)}|${ids.join(",")}`;
};

/** Patterns the simplifier removes; none may remain. */
const leftoverIdentity = (n: Node): string | undefined => {
  const [a, b] = [n.inputs[0], n.inputs[1]];
  const isConst = (m: Node | undefined, v: number): boolean => m?.op === Op.Constant && m.params.values.every((x) => x === v);
  if (n.op === Op.Transpose && a?.op === Op.Transpose) return "transpose of transpose";
  if (n.op === Op.Neg && a?.op === Op.Neg) return "neg of neg";
  if ((n.op === Op.Reshape || n.op === Op.ExpandDims || n.op === Op.Squeeze) && (a?.op === Op.Reshape || a?.op === Op.ExpandDims || a?.op === Op.Squeeze)) return "reshape of reshape";
  if ((n.op === Op.Reshape || n.op === Op.BroadcastTo) && a !== undefined && a.shape.join() === n.shape.join()) return `${n.op} to the same shape`;
  if (n.op === Op.BroadcastTo && a?.op === Op.BroadcastTo) return "broadcast of broadcast";
  if (n.op === Op.Mul && (isConst(a, 1) || isConst(b, 1))) return "multiplication by one";
  if (n.op === Op.Add && (isConst(a, 0) || isConst(b, 0))) return "addition of zero";
  if (n.op === Op.Cast && a?.dtype === n.params.dtype) return "cast to the same dtype";
  if (n.inputs.length > 0 && n.inputs.every((i) => i.op === Op.Constant) && n.shape.every((d) => typeof d === "number")) return "unfolded constant expression";
  return undefined;
};

describe.each([
  ["gradients w.r.t. all 6 params", false],
  ["loss and gradients (valueAndGrad)", true],
])("MLP 784-256-256-10 graph: %s", (title, withLoss) => {
  const g = mlpGradientGraph(withLoss);
  const { graph: optimized, stats } = orThrow(optimizeGraph(g, { verify: true }));

  it("prints its node counts per pass", () => {
    console.log(`MLP 784-256-256-10 (tanh, softmax cross-entropy), ${title}:\n${formatPassStats(stats)}`);
    expect(stats[0]!.nodesBefore).toBe(g.nodes.length);
    expect(optimized.nodes.length).toBeLessThan(g.nodes.length);
    expect(optimized.outputNames).toEqual(g.outputNames);
  });

  it("has no duplicated work left", () => {
    const byKey = new Map<string, Node>();
    const duplicates: string[] = [];
    for (const n of optimized.nodes) {
      const key = workKey(optimized, n);
      const prior = byKey.get(key);
      if (prior !== undefined) duplicates.push(`%${optimized.ids.get(prior)} and %${optimized.ids.get(n)} both compute ${key}`);
      byKey.set(key, n);
    }
    expect(duplicates).toEqual([]);
    const leftovers = optimized.nodes.flatMap((n) => {
      const why = leftoverIdentity(n);
      return why === undefined ? [] : [`%${optimized.ids.get(n)} ${n.op}: ${why}`];
    });
    expect(leftovers).toEqual([]);
  });

  it("keeps gradient annotations pointing into the graph", () => {
    const inGraph = (gr: Graph): number => gr.nodes.filter((n) => n.origin !== undefined && gr.ids.has(n.origin)).length;
    if (withLoss) expect(inGraph(optimized)).toBe(optimized.nodes.filter((n) => n.origin !== undefined).length);
    expect(inGraph(optimized)).toBeGreaterThan(withLoss ? 10 : 5);
  });

  it("computes the same gradients as before optimization", () => {
    const feeds = feedsFor(g);
    const before = evaluate(g.outputs, feeds);
    const used = new Set(optimized.nodes.flatMap((n) => (n.op === Op.Input || n.op === Op.Param ? [n.params.name] : [])));
    const after = evaluate(optimized.outputs, Object.fromEntries(Object.entries(feeds).filter(([k]) => used.has(k))));
    for (const [k, b] of before.entries()) {
      const a = after[k]!;
      expect(a.shape).toEqual(b.shape);
      let worst = 0;
      for (let i = 0; i < b.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i]! - b.data[i]!) / Math.max(1e-300, Math.abs(b.data[i]!), 1e-12));
      expect(worst, g.outputNames[k]).toBeLessThan(1e-12);
    }
  });
});
