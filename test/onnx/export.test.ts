/**
 * The exported model's structure, read back with an independent decoder: header (IR 8,
 * opset 18), graph inputs with named dynamic dims and ONNX element types, params as
 * initializers or inputs, output names, doc strings with the typegrad id, op, source line
 * and gradient origin, deterministic names and bytes; plus edge cases run in ONNX
 * Runtime (an output that is an input, a param, a constant, one node under two names),
 * compiled programs and checkpoints.
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tg from "../../src/index.js";
import { exportCheckpointOnnx, exportOnnx, OnnxExportError } from "../../src/deploy.js";
import { ONNX_IR_VERSION, ONNX_OPSET } from "../../compiler/onnx/export.js";
import { OnnxDataType } from "../../compiler/onnx/protobuf.js";
import { tensorValue } from "../../runtime/value.js";
import { decodeModel } from "./decode.js";
import { openOrt } from "./support.js";

const batch = tg.sym("batch");
const x = tg.input("x", [batch, 3], "f32");
const W = tg.param("W", [3, 2], "f32");
const b = tg.param("b", [2], "f32");
const h = tg.tanh(tg.add(tg.matmul(x, W), b));
const loss = tg.mean(tg.square(h));
const Wv = tensorValue("f32", [3, 2], [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]);
const bv = tensorValue("f32", [2], [0.01, -0.02]);

describe("model structure", () => {
  const graph = tg.buildGraph({ h, loss }, "layer");
  const bytes = exportOnnx(graph, { params: { W: Wv, b: bv } });
  const model = decodeModel(bytes);

  it("is a ModelProto with IR 8, the default-domain opset 18 and typegrad as producer", () => {
    expect(model.irVersion).toBe(ONNX_IR_VERSION);
    expect(ONNX_OPSET).toBeGreaterThanOrEqual(17);
    expect(model.opsets).toEqual([{ domain: "", version: ONNX_OPSET }]);
    expect(model.producerName).toBe("typegrad");
    expect(model.metadata["typegrad.graph"]).toBe("layer");
    expect(model.graph.name).toBe("layer");
  });

  it("keeps input names with symbolic dims as dim_param, params with values as initializers, output names", () => {
    expect(model.graph.inputs.map((i) => [i.name, i.elemType, i.dims])).toEqual([["x", OnnxDataType.Float, ["batch", 3]]]);
    expect(model.graph.initializers.slice(0, 2)).toEqual(["W", "b"]);
    expect(model.graph.initializerDims.W).toEqual([3, 2]);
    expect(model.graph.outputs.map((o) => [o.name, o.dims])).toEqual([["h", ["batch", 2]], ["loss", []]]);
    const withoutValues = decodeModel(exportOnnx(graph));
    expect(withoutValues.graph.inputs.map((i) => i.name)).toEqual(["x", "W", "b"]);
    expect(decodeModel(exportOnnx(graph, { params: { W: Wv, b: bv }, paramsAs: "inputs" })).graph.inputs.map((i) => i.name)).toEqual(["x", "W", "b"]);
  });

  it("maps dtypes to FLOAT, DOUBLE, INT32 and BOOL", () => {
    const ins = [tg.input("a", [2], "f32"), tg.input("d", [2], "f64"), tg.input("i", [2], "i32"), tg.input("m", [2], "bool")];
    const m = decodeModel(exportOnnx(ins.map((t) => tg.stopGradient(t))));
    expect(m.graph.inputs.map((v) => v.elemType)).toEqual([OnnxDataType.Float, OnnxDataType.Double, OnnxDataType.Int32, OnnxDataType.Bool]);
    expect(m.graph.outputs.map((v) => v.elemType)).toEqual([OnnxDataType.Float, OnnxDataType.Double, OnnxDataType.Int32, OnnxDataType.Bool]);
  });

  it("gives every node the typegrad id, op, shape and the user's source line in its doc string", () => {
    const tanhDoc = model.graph.nodes.find((n) => n.opType === "Tanh")!.docString;
    const id = graph.ids.get(h.node)!;
    expect(tanhDoc).toContain(`typegrad %${id} tanh f32[batch,2] at test/onnx/export.test.ts:${h.node.loc!.line}`);
    for (const n of model.graph.nodes) expect(n.docString, n.name).toMatch(/typegrad (%\d+ \w+|input|param)|^output '/);
    const gemm = model.graph.nodes.find((n) => n.opType === "MatMul" || n.opType === "Gemm")!;
    expect(gemm.name).toMatch(/^tg\/\d+\.matmul$/);
  });

  it("marks gradient nodes with the forward node they came from", () => {
    const [dW] = tg.grad(loss, [W]);
    const g = tg.buildGraph({ dW: dW! }, "grad");
    const m = decodeModel(exportOnnx(g));
    const tanhGrad = m.graph.nodes.filter((n) => n.docString.includes("gradient of") && n.docString.includes("tanh f32[batch,2]"));
    expect(tanhGrad.length).toBeGreaterThan(0);
    expect(tanhGrad[0]!.docString).toContain(`test/onnx/export.test.ts:${h.node.loc!.line}`);
  });

  it("is deterministic: the same graph gives the same bytes; node and value names are unique", () => {
    expect(exportOnnx(tg.buildGraph({ h, loss }, "layer"), { params: { W: Wv, b: bv } })).toEqual(bytes);
    const names = model.graph.nodes.map((n) => n.name);
    expect(new Set(names).size).toBe(names.length);
    const produced = model.graph.nodes.flatMap((n) => n.outputs);
    expect(new Set(produced).size).toBe(produced.length);
  });

  it("picks another prefix for generated names when a leaf name starts with tg/", async () => {
    const odd = tg.input("tg/0.0", [2], "f32");
    const m = decodeModel(exportOnnx({ y: tg.exp(odd) }));
    expect(m.graph.nodes.every((n) => n.name.startsWith("tg_/") || n.name.startsWith("tg_/output"))).toBe(true);
    const session = await openOrt(exportOnnx({ y: tg.exp(odd) }));
    const out = await session.run({ "tg/0.0": tensorValue("f32", [2], [0, 1]) });
    await session.release();
    expect(Array.from(out.y!.data)).toEqual([1, Math.fround(Math.E)]);
  });
});

describe("edge cases in ONNX Runtime", () => {
  it("an input as an output, a param as an output, a constant and one node under two names", async () => {
    const c = tg.constant([1, 2, 3], [3], "i32");
    const y = tg.relu(x);
    const session = await openOrt(exportOnnx({ x, W, c, y, y2: y }, { params: { W: Wv } }));
    const xv = tensorValue("f32", [2, 3], [-1, 2, -3, 4, -5, 6]);
    const out = await session.run({ x: xv });
    await session.release();
    expect(Array.from(out.x!.data)).toEqual(Array.from(xv.data));
    expect(Array.from(out.W!.data)).toEqual(Array.from(Wv.data));
    expect(out.c!).toEqual(tensorValue("i32", [3], [1, 2, 3]));
    expect(Array.from(out.y!.data)).toEqual([0, 2, 0, 4, 0, 6]);
    expect(out.y2).toEqual(out.y);
  });
});

describe("other sources of a model", () => {
  const xv = tensorValue("f32", [4, 3], Array.from({ length: 12 }, (_, i) => i / 5 - 1));

  it("a compiled program exports its graph", async () => {
    const program = tg.compile(tg.buildGraph({ h, loss }, "layer"));
    const session = await openOrt(exportOnnx(program, { params: { W: Wv, b: bv } }));
    const out = await session.run({ x: xv });
    await session.release();
    const want = program.runNamed({ x: xv, W: Wv, b: bv });
    expect(Math.abs(out.loss!.data[0]! - want.loss!.data[0]!)).toBeLessThan(1e-6);
  });

  it("exportCheckpointOnnx takes the params from a checkpoint file and refuses a missing one", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "typegrad-onnx-"));
    try {
      const file = path.join(dir, "layer.safetensors");
      const checkpoint = (params: Map<string, tg.TensorValue>) => ({ params, optimizerState: new Map(), step: 0, epoch: 0, graphHash: "", metadata: {} });
      tg.saveCheckpoint(file, checkpoint(new Map([["W", Wv], ["b", bv], ["unused", bv]])));
      const model = decodeModel(exportCheckpointOnnx({ h }, file));
      expect(model.graph.inputs.map((i) => i.name)).toEqual(["x"]);
      expect(model.graph.initializers.slice(0, 2)).toEqual(["W", "b"]);
      const session = await openOrt(exportCheckpointOnnx({ h }, file));
      const out = await session.run({ x: xv });
      await session.release();
      const [want] = tg.evaluate([h.node], { x: xv, W: Wv, b: bv });
      expect(Math.max(...Array.from(out.h!.data, (v, i) => Math.abs(v - want!.data[i]!)))).toBeLessThan(1e-6);
      tg.saveCheckpoint(file, checkpoint(new Map([["W", Wv]])));
      expect(() => exportCheckpointOnnx({ h }, file)).toThrow(OnnxExportError);
      expect(() => exportCheckpointOnnx({ h }, file)).toThrow(/params\.b: no value given for param 'b' f32\[2\]/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
