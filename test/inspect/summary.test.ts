import { describe, expect, it } from "vitest";
import { buildGraph, input, logSoftmax, logsumexp, matmul, param, softmax, sum, sym, tanh, ValidationError } from "../../src/index.js";
import { formatBytes, summarizeGraph } from "../../src/inspect/summary.js";
import { nodeFlops } from "../../src/inspect/flops.js";

const batch = sym("batch");

describe("FLOP counts", () => {
  it("count matmul as 2·M·K·N per batch entry, transposes included", () => {
    const a = input("a", [batch, 5, 3], "f32");
    const w = param("w", [3, 4], "f32");
    const at = input("at", [3, 5], "f32");
    const bt = input("bt", [4, 3], "f32");
    const plain = matmul(a, w);
    const transposedA = matmul(at, w, { transposeA: true });
    const transposedB = matmul(input("m", [5, 3], "f32"), bt, { transposeB: true });
    expect(nodeFlops(plain.node, [[2, 5, 3], [3, 4]], [2, 5, 4])).toBe(2 * 2 * 5 * 3 * 4);
    expect(nodeFlops(transposedA.node, [[3, 5], [3, 4]], [5, 4])).toBe(2 * 5 * 3 * 4);
    expect(nodeFlops(transposedB.node, [[5, 3], [4, 3]], [5, 4])).toBe(2 * 5 * 3 * 4);
  });

  it("count elementwise ops per output element, reductions per input element, softmax 5 and logsumexp 3 per element", () => {
    const x = input("x", [batch, 6], "f32");
    const g = buildGraph({ t: tanh(x), s: sum(x, 1), p: softmax(x, 1), l: logSoftmax(x, 1), e: logsumexp(x, 1) }, "counts");
    const s = summarizeGraph(g, { dims: { batch: 2 }, memory: false });
    const flops = Object.fromEntries(s.groups.map((grp) => [grp.ops[0]!.op, grp.flops]));
    expect(flops).toEqual({ tanh: 12, sum: 12, softmax: 60, logSoftmax: 60, logsumexp: 36 });
    expect(s.flops).toBe(180);
    expect(s.memory).toEqual({ kind: "unavailable", reason: "not computed (memory: false)" });
  });
});

describe("summarizeGraph", () => {
  it("reports the compiled program's peak memory for the bound dims", () => {
    const x = input("x", [batch, 8], "f32");
    const W = param("W", [8, 8], "f32");
    const g = buildGraph({ y: tanh(matmul(tanh(matmul(x, W)), W)) }, "two");
    const small = summarizeGraph(g, { dims: { batch: 1 } });
    const large = summarizeGraph(g, { dims: { batch: 100 } });
    if (small.memory.kind !== "planned" || large.memory.kind !== "planned") throw new Error("expected planned memory");
    expect(large.memory.peakBytes).toBeGreaterThan(small.memory.peakBytes);
    expect(large.memory.paramBytes).toBe(8 * 8 * 4);
    expect(large.paramBytes).toBe(256);
  });

  it("checks the dims it is given", () => {
    const g = buildGraph({ y: tanh(input("x", [batch, 2], "f32")) }, "g");
    expect(() => summarizeGraph(g, { dims: { batch: 0 } })).toThrow(ValidationError);
    expect(() => summarizeGraph(g, { dims: { batch: 0 } })).toThrow("dims.batch: must be a positive integer, got 0");
    expect(() => summarizeGraph(g, { dims: { seq: 4 } })).toThrow("dims.seq: graph 'g' has no symbolic dim 'seq' (its dims: batch)");
  });

  it("formats byte counts with binary units", () => {
    expect([formatBytes(512), formatBytes(1536), formatBytes(3 * 1024 * 1024)]).toEqual(["512 bytes", "1.5 KiB", "3.0 MiB"]);
  });
});
