/**
 * The parity tool: with the real mapping every node of a forward graph and of a whole
 * training step agrees; with one mapping deliberately broken (a test-only rule override)
 * it reports exactly that node, its op, shapes and source line, not the nodes downstream;
 * tolerances are per dtype; a rule producing the wrong shape is caught.
 */
import { describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import { compareValues, findFirstDivergence } from "../../compiler/onnx/parity.js";
import { onnxRules, type OnnxRuleTable } from "../../compiler/onnx/rules.js";
import { tensorValue } from "../../runtime/value.js";
import { openOrt } from "./support.js";

const batch = tg.sym("batch");
const x = tg.input("x", [batch, 3], "f32");
const W = tg.param("W", [3, 4], "f32");
const b = tg.param("b", [4], "f32");
const pre = tg.add(tg.matmul(x, W), b);
const h = tg.tanh(pre);
const scaled = tg.mul(h, h);
const out = tg.sum(tg.exp(scaled), 1);
const graph = tg.buildGraph({ out }, "probe");

const params = {
  W: tensorValue("f32", [3, 4], Array.from({ length: 12 }, (_, i) => Math.sin(i + 1))),
  b: tensorValue("f32", [4], [0.1, -0.2, 0.3, -0.4]),
};
const feeds = { x: tensorValue("f32", [5, 3], Array.from({ length: 15 }, (_, i) => Math.cos(i) * 2)) };

/** The real table with one rule replaced. */
const breaking = (patch: Partial<OnnxRuleTable>): OnnxRuleTable => ({ ...onnxRules, ...patch }) as OnnxRuleTable;

describe("findFirstDivergence", () => {
  it("finds nothing when the mapping is right, for a forward graph and a whole Adam step", async () => {
    const report = await findFirstDivergence(graph, feeds, openOrt, { exportOptions: { params } });
    expect(report.firstDivergence).toBeUndefined();
    expect(report.compared).toBe(graph.nodes.filter((n) => n.op !== "input" && n.op !== "param").length);
    expect(report.outputErrors.out).toBeLessThanOrEqual(1e-5);

    const trainer = tg.createTrainer({ loss: tg.mean(out), params: { W, b }, optimizer: tg.adam(), learningRate: 0.01 });
    const state = trainer.init(3);
    const stepFeeds = { ...feeds, ...state.params, ...state.optimizer, "opt.lr": tensorValue("f32", [], [0.01]), "opt.step": tensorValue("f32", [], [1]) };
    const step = await findFirstDivergence(trainer.stepGraph.graph, stepFeeds, openOrt);
    expect(step.firstDivergence).toBeUndefined();
    expect(step.compared).toBeGreaterThan(30);
  });

  it("reports the broken node, its op, shapes and source line, not the nodes after it", async () => {
    const rules = breaking({ tanh: ({ inputs, emit }) => emit.op("Sigmoid", inputs) });
    const report = await findFirstDivergence(graph, feeds, openOrt, { exportOptions: { params }, rules });
    const d = report.firstDivergence!;
    expect(d.node).toBe(h.node);
    expect(d.op).toBe("tanh");
    expect(d.id).toBe(graph.ids.get(h.node));
    expect(d.shape).toEqual(["batch", 4]);
    expect(d.typegradShape).toEqual([5, 4]);
    expect(d.onnxShape).toEqual([5, 4]);
    expect(d.inputShapes).toEqual([[5, 4]]);
    expect(d.loc?.file).toBe("test/onnx/parity.test.ts");
    expect(d.loc?.line).toBe(h.node.loc!.line);
    expect(d.maxError).toBeGreaterThan(0.1);
    expect(d.onnxValue).toBeCloseTo(1 / (1 + Math.exp(-feedsPre(d.index))), 5);
    expect(d.message).toContain(`first divergence at %${d.id} tanh f32[batch,4] at test/onnx/parity.test.ts:${h.node.loc!.line} (inputs [5, 4])`);
    expect(report.outputErrors.out).toBeGreaterThan(1e-3);
  });

  it("reports a broken node deeper in the graph once everything before it agrees", async () => {
    const rules = breaking({ mul: ({ inputs, emit }) => emit.op("Add", inputs) });
    const d = (await findFirstDivergence(graph, feeds, openOrt, { exportOptions: { params }, rules })).firstDivergence!;
    expect(d.node).toBe(scaled.node);
    expect(d.loc?.line).toBe(scaled.node.loc!.line);
  });

  it("judges small differences by the tolerance of the node's dtype", async () => {
    const rules = breaking({ exp: ({ inputs, emit }) => emit.op("Mul", [emit.op("Exp", inputs), emit.scalar(1 + 1e-6, "f32")]) });
    const loose = await findFirstDivergence(graph, feeds, openOrt, { exportOptions: { params }, rules });
    expect(loose.firstDivergence).toBeUndefined();
    const strict = await findFirstDivergence(graph, feeds, openOrt, { exportOptions: { params }, rules, tolerance: { f32: 5e-7 } });
    expect(strict.firstDivergence?.op).toBe("exp");
  });

  it("catches a rule that returns the wrong shape", async () => {
    const rules = breaking({ sum: ({ node, inputs, emit }) => emit.op("ReduceSum", [inputs[0]!, emit.int64s(node.params.axes)], { keepdims: 1 }) });
    const d = (await findFirstDivergence(graph, feeds, openOrt, { exportOptions: { params }, rules })).firstDivergence!;
    expect(d.op).toBe("sum");
    expect(d.maxError).toBe(Infinity);
    expect(d.onnxShape).toEqual([5, 1]);
    expect(d.message).toContain("(onnx shape [5, 1] vs typegrad [5])");
  });
});

describe("compareValues", () => {
  it("measures |a - b| / max(1, |b|), matches NaN with NaN and infinities with themselves", () => {
    expect(compareValues(tensorValue("f64", [3], [1, 2.5, 200]), tensorValue("f64", [3], [1, 2, 100]))).toEqual({ maxError: 1, index: 2 });
    expect(compareValues(tensorValue("f64", [3], [NaN, Infinity, -0]), tensorValue("f64", [3], [NaN, Infinity, 0]))).toEqual({ maxError: 0, index: -1 });
    expect(compareValues(tensorValue("f64", [2], [1, NaN]), tensorValue("f64", [2], [1, 1])).maxError).toBe(Infinity);
    expect(compareValues(tensorValue("f64", [2], [1, Infinity]), tensorValue("f64", [2], [1, -Infinity])).maxError).toBe(Infinity);
    expect(compareValues(tensorValue("f64", [2, 1], [1, 2]), tensorValue("f64", [2], [1, 2])).maxError).toBe(Infinity);
  });
});

/** matmul(x, W) + b at flat index i, computed directly, to check the broken value is sigmoid's. */
function feedsPre(i: number): number {
  const [row, col] = [Math.floor(i / 4), i % 4];
  let s = params.b.data[col]!;
  for (let k = 0; k < 3; k++) s += feeds.x.data[row * 3 + k]! * params.W.data[k * 4 + col]!;
  return s;
}
