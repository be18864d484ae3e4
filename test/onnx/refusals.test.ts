/**
 * What the exporter refuses, before emitting anything: each problem names the node (id,
 * op, dtype, shape) and its source file:line, or the bad option's path; all problems of
 * a graph are reported together in one OnnxExportError.
 */
import { describe, expect, it } from "vitest";
import * as E from "fp-ts/lib/Either.js";
import * as tg from "../../src/index.js";
import { ALL_OPS } from "../../src/ops.js";
import { exportOnnx, OnnxExportError } from "../../src/deploy.js";
import { graphToOnnx } from "../../compiler/onnx/export.js";
import type { OnnxRuleTable } from "../../compiler/onnx/rules.js";
import { tensorValue } from "../../runtime/value.js";

const refusal = (f: () => unknown): OnnxExportError => {
  try {
    f();
  } catch (e) {
    if (e instanceof OnnxExportError) return e;
    throw e;
  }
  throw new Error("expected an OnnxExportError");
};

const x = tg.input("x", [3], "f32");
const W = tg.param("W", [3, 2], "f32");

describe("refused graphs and options", () => {
  it("a symbolic dim that no input or param carries, naming the node and its line", () => {
    const wide = tg.broadcastTo(tg.erase(x), [tg.sym("n"), 3]);
    const e = refusal(() => exportOnnx({ wide }));
    expect(e.message).toContain("cannot export graph 'model' to ONNX");
    expect(e.message).toContain(`broadcastTo f32[n,3] at test/onnx/refusals.test.ts:${wide.node.loc!.line}`);
    expect(e.message).toContain("symbolic dim 'n' of broadcastTo [n, 3] is not the dim of any input or param");
    expect(e.problems[0]!.node).toBe(wide.node);
  });

  it("a param value of the wrong shape or dtype, or with too few elements", () => {
    const y = tg.matmul(tg.reshape(x, [1, 3]), W);
    const shape = refusal(() => exportOnnx({ y }, { params: { W: tensorValue("f32", [2, 3], [1, 2, 3, 4, 5, 6]) } }));
    expect(shape.message).toContain(`params.W: the value given for it is f32[2, 3], but param 'W' f32[3,2] at test/onnx/refusals.test.ts:${W.node.loc!.line} is declared f32[3, 2]`);
    expect(refusal(() => exportOnnx({ y }, { params: { W: tensorValue("f64", [3, 2], [1, 2, 3, 4, 5, 6]) } })).message).toContain("the value given for it is f64[3, 2]");
    const short = { dtype: "f32", shape: [3, 2], data: new Float32Array(5) } as const;
    expect(refusal(() => exportOnnx({ y }, { params: { W: short } })).message).toContain("holds 5 elements, but its shape [3, 2] needs 6");
  });

  it("values for params the graph does not have, or for an input", () => {
    const y = tg.exp(x);
    const e = refusal(() => exportOnnx({ y }, { params: { V: tensorValue("f32", [1], [0]), x: tensorValue("f32", [3], [0, 0, 0]) } }));
    expect(e.message).toContain("params.V: graph 'model' has no param named 'V'");
    expect(e.message).toContain("params.x: graph 'model' has no param named 'x' (it is an input)");
    expect(e.problems).toHaveLength(2);
  });

  it("paramsAs 'initializers' with a param that has no value", () => {
    const e = refusal(() => exportOnnx({ y: tg.matmul(tg.reshape(x, [1, 3]), W) }, { paramsAs: "initializers" }));
    expect(e.message).toContain("params.W: no value given for param 'W' f32[3,2]");
  });

  it("output names ONNX cannot tell apart: an input's name on another value, an empty name", () => {
    const y = tg.exp(x);
    const taken = refusal(() => exportOnnx({ x: y }));
    expect(taken.message).toContain(`output 'x' (%1 exp f32[3] at test/onnx/refusals.test.ts:${y.node.loc!.line}) has the name of input 'x'`);
    expect(refusal(() => exportOnnx({ "": y })).message).toContain("output 0 (%1 exp f32[3]");
  });

  it("an unnamed leaf", () => {
    const e = refusal(() => exportOnnx({ y: tg.exp(tg.input("", [2], "f32")) }));
    expect(e.message).toContain("input '' f32[2]");
    expect(e.message).toContain("has an empty name");
  });

  it("reports every problem at once, and checks before any rule runs", () => {
    const wide = tg.broadcastTo(tg.erase(x), [tg.sym("n"), 3]);
    const graph = tg.buildGraph({ x: wide, y: tg.matmul(tg.reshape(x, [1, 3]), W) }, "bad");
    const throwing = Object.fromEntries(
      ALL_OPS.map((op) => [
        op,
        () => {
          throw new Error(`rule ${op} ran`);
        },
      ]),
    ) as unknown as OnnxRuleTable;
    const r = graphToOnnx(graph, { params: { W: tensorValue("f32", [1], [0]) } }, throwing);
    expect(E.isLeft(r)).toBe(true);
    const where = `%${graph.ids.get(wide.node)} broadcastTo f32[n,3] at test/onnx/refusals.test.ts:${wide.node.loc!.line}`;
    if (E.isLeft(r)) expect(r.left.map((p) => p.message.split(": ")[0])).toEqual(["params.W", `output 'x' (${where}) has the name of input 'x' f32[3] at test/onnx/refusals.test.ts:${x.node.loc!.line}; ONNX needs distinct names`, where]);
    const e = refusal(() => exportOnnx(graph, { params: { W: tensorValue("f32", [1], [0]) } }));
    expect(e.graphName).toBe("bad");
    expect(e.name).toBe("OnnxExportError");
    expect(e.message.split("\n")).toHaveLength(4);
  });
});
