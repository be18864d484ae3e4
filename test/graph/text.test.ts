import { describe, expect, it } from "vitest";
import { add, buildGraph, graphToText, input, matmul, param, sum, sym, tanh } from "../../src/index.js";

describe("graph text dump", () => {
  it("prints one SSA line per node with dtype, shape and location", () => {
    const B = sym("batch");
    const x = input("x", [B, 2], "f32");
    const W1 = param("W1", [2, 4], "f32");
    const b1 = param("b1", [4], "f32");
    const h = tanh(add(matmul(x, W1), b1));
    const loss = sum(h);
    const text = graphToText(buildGraph(loss, "mlp"));
    expect(text).toMatch(/# test\/graph\/text\.test\.ts:\d+/);
    expect(graphToText(buildGraph(loss, "mlp"), { locations: false })).toMatchInlineSnapshot(`
      "graph mlp(x: f32[batch,2], W1: f32[2,4], b1: f32[4]) {
        %3: f32[batch,4] = matmul x W1
        %4: f32[batch,4] = add %3 b1
        %5: f32[batch,4] = tanh %4
        %6: f32[] = sum[axes=[0,1]] %5
        return %6
      }"
    `);
  });

  it("merges structurally identical subexpressions", () => {
    const x = input("x", [3], "f64");
    const a = tanh(x);
    const b = tanh(x);
    const g = buildGraph(add(a, b), "cse");
    expect(g.nodes.length).toBe(3);
  });
});
