/**
 * Memory planning tests: `planMemory` on hand-made and random requests (both strategies;
 * no two time-overlapping buffers share a byte, checked here from scratch; alignment;
 * peak between the most bytes live at once and the naive sum; errors), and programs on an
 * MLP training step: peak below naive, no live buffers overlapping in the program's own
 * plan (liveness recomputed from its steps and views), values equal to the interpreter,
 * and outputs intact across runs.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import * as E from "fp-ts/lib/Either.js";
import * as tg from "../../src/index.js";
import { planMemory, type BufferRequest, type MemoryPlan, type PlanMemoryOptions } from "../../compiler/passes/planMemory.js";
import { compile } from "../../runtime/program.js";
import type { ExecutionPlan } from "../../runtime/programPlan.js";
import { evaluate } from "../../runtime/interpret.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";

const planned = (requests: readonly BufferRequest[], options: PlanMemoryOptions = {}): MemoryPlan => {
  const r = planMemory(requests, options);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;

/** Pairs of buffers that are live at a common step and share a byte. */
const conflicts = (plan: MemoryPlan): string[] => {
  const out: string[] = [];
  const ps = plan.placements.filter((p) => p.bytes > 0);
  for (let i = 0; i < ps.length; i++)
    for (let j = i + 1; j < ps.length; j++) {
      const [a, b] = [ps[i]!, ps[j]!];
      const inTime = a.firstStep <= b.lastStep && b.firstStep <= a.lastStep;
      const inSpace = a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
      if (inTime && inSpace) out.push(`${a.id}@${a.offset}+${a.bytes} [${a.firstStep},${a.lastStep}] vs ${b.id}@${b.offset}+${b.bytes} [${b.firstStep},${b.lastStep}]`);
    }
  return out;
};

/** The most aligned bytes live at one step: no placement can do better. */
const liveLowerBound = (requests: readonly BufferRequest[], alignment: number): number => {
  const last = Math.max(0, ...requests.map((r) => r.lastStep));
  let best = 0;
  for (let t = 0; t <= last; t++) best = Math.max(best, requests.filter((r) => r.firstStep <= t && t <= r.lastStep).reduce((a, r) => a + alignUp(r.bytes, alignment), 0));
  return best;
};

describe("planMemory", () => {
  it("reuses a dead buffer's space (the documented example)", () => {
    const plan = planned([
      { id: 3, bytes: 400, firstStep: 0, lastStep: 1 },
      { id: 4, bytes: 400, firstStep: 1, lastStep: 2 },
      { id: 5, bytes: 400, firstStep: 2, lastStep: 3 },
    ]);
    const at = new Map(plan.placements.map((p) => [p.id, p.offset]));
    expect(at.get(3)).toBe(at.get(5));
    expect(at.get(4)).not.toBe(at.get(3));
    expect(plan.peakBytes).toBe(896);
    expect(plan.naiveBytes).toBe(1200);
  });

  it("never gives a step's output the space of a buffer that step reads", () => {
    // buffer 0 is last read by step 1, which writes buffer 1: they must not share
    for (const strategy of ["greedyBySize", "onlineBestFit"] as const) {
      const plan = planned([{ id: 0, bytes: 64, firstStep: 0, lastStep: 1 }, { id: 1, bytes: 64, firstStep: 1, lastStep: 2 }], { strategy });
      expect(plan.placements[0]!.offset).not.toBe(plan.placements[1]!.offset);
    }
  });

  it("aligns every offset and counts zero-byte buffers as free", () => {
    const plan = planned(
      [
        { id: 0, bytes: 3, firstStep: 0, lastStep: 5 },
        { id: 1, bytes: 0, firstStep: 0, lastStep: 5 },
        { id: 2, bytes: 17, firstStep: 1, lastStep: 2 },
      ],
      { alignment: 16 },
    );
    for (const p of plan.placements) expect(p.offset % 16).toBe(0);
    expect(plan.peakBytes).toBe(48); // 16 + 32: both live at steps 1-2
    expect(plan.naiveBytes).toBe(20);
  });

  it("reports malformed requests as CompileError values naming the request", () => {
    const bad = (requests: BufferRequest[], options: PlanMemoryOptions = {}): string => {
      const r = planMemory(requests, options);
      return E.isLeft(r) ? r.left.message : "no error";
    };
    expect(bad([{ id: 1, bytes: 8, firstStep: 2, lastStep: 1 }])).toBe("planMemory: request 0 (buffer 1): live range [2, 1] is not a range of steps");
    expect(bad([{ id: 1, bytes: -8, firstStep: 0, lastStep: 1 }])).toContain("bytes must be a non-negative integer, got -8");
    expect(bad([{ id: 1, bytes: 8, firstStep: 0, lastStep: 1 }, { id: 1, bytes: 8, firstStep: 0, lastStep: 1 }])).toContain("buffer id 1 is requested twice");
    expect(bad([], { alignment: 12 })).toContain("alignment must be a power of two >= 8, got 12");
  });

  const requestsArb = fc
    .array(fc.record({ bytes: fc.integer({ min: 0, max: 5000 }), start: fc.integer({ min: 0, max: 40 }), length: fc.integer({ min: 0, max: 12 }) }), { maxLength: 60 })
    .map((rs) => rs.map((r, id) => ({ id, bytes: r.bytes, firstStep: r.start, lastStep: r.start + r.length })));

  it.each(["greedyBySize", "onlineBestFit"] as const)("%s: no live overlaps, aligned, peak between the live bound and the aligned sum", (strategy) => {
    fc.assert(
      fc.property(requestsArb, fc.constantFrom(8, 64, 256), (requests, alignment) => {
        const plan = planned(requests, { strategy, alignment });
        expect(plan.strategy).toBe(strategy);
        expect(conflicts(plan)).toEqual([]);
        expect(plan.placements.map((p) => p.id)).toEqual(requests.map((r) => r.id));
        for (const p of plan.placements) expect(p.offset % alignment).toBe(0);
        expect(plan.peakBytes).toBeGreaterThanOrEqual(liveLowerBound(requests, alignment));
        expect(plan.peakBytes).toBeLessThanOrEqual(requests.reduce((a, r) => a + alignUp(r.bytes, alignment), 0));
      }),
      { numRuns: 200 },
    );
  });

  it("a chain reuses two buffers whatever its length", () => {
    const chain = Array.from({ length: 500 }, (_, i) => ({ id: i, bytes: 1000, firstStep: i, lastStep: i + 1 }));
    for (const strategy of ["greedyBySize", "onlineBestFit"] as const) expect(planned(chain, { strategy }).peakBytes).toBe(2 * 1024);
  });
});

/** A 784-256-256-10 MLP training step (tanh, softmax cross-entropy, SGD), as the benchmark builds it. */
const mlpStep = () => {
  const x = tg.input("x", [tg.sym("batch"), 784], "f32");
  const labels = tg.input("labels", [tg.sym("batch")], "i32");
  const params = tg.mlp.init("mlp", [784, 256, 256, 10]);
  const loss = tg.softmaxCrossEntropy(tg.mlp(params, tg.tanh)(x) as tg.Tensor<readonly [tg.Sym<"batch">, 10], "f32">, labels);
  const leaves = tg.collectParams(params).map((node) => ({ node }) as tg.AnyTensor);
  const grads = tg.grad(loss, leaves) as tg.AnyTensor[];
  const lr = tg.scalar(0.05, "f32");
  const outputs: Record<string, tg.AnyTensor> = { loss };
  leaves.forEach((p, i) => (outputs[(p.node.params as { name: string }).name] = tg.sub(p, tg.mul(lr, grads[i]!))));
  return tg.buildGraph(outputs, "mlpStep");
};

const batchFeeds = (batch: number, seed: number): Record<string, TensorValue> => {
  const xs = Array.from({ length: batch * 784 }, (_, i) => Math.sin(i * 0.37 + seed));
  const ys = Array.from({ length: batch }, (_, i) => (i * 7 + seed) % 10);
  return { x: tensorValue("f32", [batch, 784], xs), labels: tensorValue("i32", [batch], ys) };
};

/** Live ranges recomputed from the plan's steps: written by its step, read by steps directly or through views. */
const checkPlanFromSteps = (plan: ExecutionPlan): string[] => {
  const base = (slot: number): number => plan.views.get(slot) ?? slot;
  const problems: string[] = [];
  for (const p of plan.memory.placements) {
    const writer = plan.steps.findIndex((s) => s.slot === p.id);
    const readers = plan.steps.flatMap((s, t) => (s.reads.some((r) => base(r) === p.id) ? [t] : []));
    const last = Math.max(writer, ...readers);
    if (writer !== p.firstStep || last !== p.lastStep) problems.push(`slot ${p.id}: planned [${p.firstStep}, ${p.lastStep}], steps say [${writer}, ${last}]`);
  }
  return [...problems, ...conflicts(plan.memory)];
};

describe("programs plan their memory", () => {
  const graph = mlpStep();
  const [paramValues] = tg.initParams(graph, 7);
  const program = compile(graph);

  it("an MLP training step: peak well below naive, no live overlaps, values as the interpreter's", () => {
    const feeds = { ...paramValues, ...batchFeeds(32, 1) };
    const plan = program.plan(feeds);
    expect(checkPlanFromSteps(plan)).toEqual([]);
    expect(plan.peakBytes).toBeGreaterThan(0);
    expect(plan.peakBytes).toBeLessThan(plan.naiveBytes / 2);
    expect(plan.memory.naiveBytes).toBeLessThanOrEqual(plan.naiveBytes);
    expect(plan.steps.some((s) => s.kind === "fused" && s.ops.length > 1)).toBe(true);
    expect(plan.steps.filter((s) => s.kind === "matmul").length).toBeGreaterThanOrEqual(8);
    const got = program.run(feeds);
    const want = evaluate(program.graph.outputs, feeds);
    got.forEach((v, i) => {
      expect(v.shape).toEqual(want[i]!.shape);
      for (let k = 0; k < v.data.length; k++) expect(Math.abs(v.data[k]! - want[i]!.data[k]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want[i]!.data[k]!)));
    });
  });

  it("outputs of one run stay intact through later runs (at another batch size too)", () => {
    const feeds = { ...paramValues, ...batchFeeds(16, 2) };
    const first = program.runNamed(feeds);
    const copy = Object.fromEntries(Object.entries(first).map(([k, v]) => [k, Float32Array.from(v.data)]));
    program.run({ ...paramValues, ...batchFeeds(16, 3) });
    program.run({ ...paramValues, ...batchFeeds(5, 4) });
    for (const [k, v] of Object.entries(first)) expect(v.data).toEqual(copy[k]);
    for (const [k, v] of Object.entries(paramValues)) expect(Array.from(v.data), k).toEqual(Array.from(tg.initParams(graph, 7)[0][k]!.data));
  });

  it("the arena grows with the batch; the plan at each size is consistent", () => {
    const small = program.plan({ ...paramValues, ...batchFeeds(4, 0) });
    const large = program.plan({ ...paramValues, ...batchFeeds(64, 0) });
    expect(large.peakBytes).toBeGreaterThan(small.peakBytes);
    for (const plan of [small, large]) expect(checkPlanFromSteps(plan)).toEqual([]);
    expect(large.outputBytes).toBe(4 * (1 + 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10));
  });
});
