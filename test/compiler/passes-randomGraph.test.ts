/**
 * The random-graph generator itself: every description builds with the DSL, stays small,
 * covers the ops it promises, and smooth mode keeps kinked ops on safe arguments.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Op } from "../../src/ops.js";
import { buildGraph } from "../../src/index.js";
import { buildRandomGraph, describeRandomGraph, feedsFor, inputLeaves, randomGraph, randomGraphCase } from "../support/randomGraph.js";

const numel = (s: readonly (number | string)[]): number => s.reduce<number>((a, d) => a * (typeof d === "number" ? d : NaN), 1);

describe("randomGraph", () => {
  it("builds with the DSL: f64 outputs, concrete shapes, at most 48 elements per node", () => {
    fc.assert(
      fc.property(randomGraph(), (rg) => {
        const { outputs } = buildRandomGraph(rg);
        const g = buildGraph(outputs);
        expect(outputs.length).toBeGreaterThan(0);
        for (const o of outputs) expect(o.node.dtype).toBe("f64");
        for (const n of g.nodes) expect(numel(n.shape)).toBeLessThanOrEqual(48);
      }),
      { numRuns: 500 },
    );
  });

  it("covers the promised ops over many samples", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(randomGraph(), (rg) => {
        for (const n of buildGraph(buildRandomGraph(rg).outputs).nodes) seen.add(n.op);
      }),
      { numRuns: 400, seed: 7 },
    );
    const promised = [
      Op.Input, Op.Constant, Op.Add, Op.Sub, Op.Mul, Op.Div, Op.Pow, Op.Maximum, Op.Minimum, Op.Exp, Op.Log, Op.Sqrt, Op.Tanh,
      Op.Where, Op.Greater, Op.Sum, Op.Mean, Op.Max, Op.Min, Op.LogSumExp, Op.Reshape, Op.Transpose, Op.BroadcastTo,
      Op.ExpandDims, Op.Squeeze, Op.Concat, Op.Slice, Op.Pad, Op.Gather, Op.MatMul, Op.Softmax, Op.LogSoftmax, Op.Cast, Op.StopGradient,
    ];
    expect(promised.filter((op) => !seen.has(op))).toEqual([]);
  });

  it("is deterministic: the same description builds the same graph twice", () => {
    fc.assert(
      fc.property(randomGraph(), (rg) => {
        const a = buildGraph(buildRandomGraph(rg).outputs);
        const b = buildGraph(buildRandomGraph(rg).outputs);
        expect(b.nodes.map((n) => n.hash)).toEqual(a.nodes.map((n) => n.hash));
      }),
      { numRuns: 50 },
    );
  });

  it("feeds match the input leaves' shapes, dtypes and domains", () => {
    fc.assert(
      fc.property(randomGraphCase(), ({ graph, feeds }) => {
        for (const leaf of inputLeaves(graph)) {
          const f = feeds[leaf.name]!;
          expect(f.shape).toEqual(leaf.shape);
          expect(f.dtype).toBe(leaf.dtype);
          const vs = Array.from(f.data);
          if (leaf.domain.kind === "index") expect(vs.every((v) => v >= 0 && v < (leaf.domain as { size: number }).size)).toBe(true);
          if (leaf.domain.kind === "awayFromZero") expect(vs.every((v) => Math.abs(v) >= 0.2)).toBe(true);
          if (leaf.domain.kind === "distinct") expect(new Set(vs).size).toBe(vs.length);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("smooth mode: no stopGradient; kinked ops only on away-from-zero/distinct leaves or constants", () => {
    const kinked = new Set<string>([Op.Relu, Op.Abs, Op.Sign, Op.Max, Op.Min, Op.Maximum, Op.Minimum, Op.Greater, Op.Less, Op.GreaterEqual, Op.LessEqual, Op.Equal, Op.NotEqual]);
    fc.assert(
      fc.property(randomGraph({ smooth: true }), (rg) => {
        const g = buildGraph(buildRandomGraph(rg).outputs);
        const dependsOnInput = new Map<unknown, boolean>();
        for (const n of g.nodes) dependsOnInput.set(n, (n.op === Op.Input && n.dtype === "f64") || n.inputs.some((i) => dependsOnInput.get(i) === true));
        for (const n of g.nodes) {
          expect(n.op).not.toBe(Op.StopGradient);
          if (!kinked.has(n.op)) continue;
          for (const i of n.inputs) {
            if (dependsOnInput.get(i) !== true) continue;
            expect(i.op, `${n.op} takes a computed value\n${describeRandomGraph(rg)}`).toBe(Op.Input);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("prints a readable description", () => {
    const [rg] = fc.sample(randomGraph({ maxSteps: 3 }), { numRuns: 1, seed: 3 });
    const text = describeRandomGraph(rg!);
    expect(text).toMatch(/^x0: |^v0 = constant/);
    expect(text).toMatch(/\nreturn /);
    expect(feedsFor(rg!)).toBeDefined();
  });
});
