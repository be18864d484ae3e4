/**
 * The protobuf encoder against the independent decoder: varints (large and negative
 * int64), strings, nested messages, attributes of every kind written, dynamic dims, and
 * the little-endian raw payload of each element type.
 */
import { describe, expect, it } from "vitest";
import { encodeModel, OnnxDataType, rawBytes, type OnnxModel } from "../../compiler/onnx/protobuf.js";
import { decodeModel } from "./decode.js";

const model: OnnxModel = {
  irVersion: 8,
  opsetVersion: 18,
  producerName: "typegrad",
  producerVersion: "",
  docString: "",
  metadata: [["k", "välue ✓"]],
  graph: {
    name: "g",
    docString: "",
    inputs: [{ name: "x", elemType: OnnxDataType.Double, shape: ["batch", 0, 2 ** 40] }],
    outputs: [{ name: "y", elemType: OnnxDataType.Bool, shape: [] }],
    initializers: [{ name: "c", dataType: OnnxDataType.Int64, dims: [3], raw: rawBytes(OnnxDataType.Int64, [-1, 0, 2 ** 53 - 1]) }],
    nodes: [
      {
        name: "n",
        opType: "Foo",
        inputs: ["x", ""],
        outputs: ["y"],
        docString: "doc",
        attributes: [
          { name: "i", kind: "int", value: -2 },
          { name: "is", kind: "ints", value: [-1, 300, 2 ** 35] },
          { name: "s", kind: "string", value: "constant" },
          { name: "t", kind: "tensor", value: { name: "", dataType: OnnxDataType.Float, dims: [1], raw: rawBytes(OnnxDataType.Float, [0.5]) } },
        ],
      },
    ],
  },
};

describe("encodeModel", () => {
  it("round-trips through an independent decoder", () => {
    const m = decodeModel(encodeModel(model));
    expect(m.irVersion).toBe(8);
    expect(m.opsets).toEqual([{ domain: "", version: 18 }]);
    expect(m.metadata).toEqual({ k: "välue ✓" });
    expect(m.graph.inputs).toEqual([{ name: "x", elemType: OnnxDataType.Double, dims: ["batch", 0, 2 ** 40], docString: "" }]);
    expect(m.graph.outputs[0]!.dims).toEqual([]);
    expect(m.graph.initializerDims).toEqual({ c: [3] });
    const n = m.graph.nodes[0]!;
    expect([n.name, n.opType, n.inputs, n.outputs, n.docString]).toEqual(["n", "Foo", ["x", ""], ["y"], "doc"]);
    expect(n.attributes.i).toMatchObject({ type: 2, i: -2 });
    expect(n.attributes.is).toMatchObject({ type: 7, ints: [-1, 300, 2 ** 35] });
    expect(n.attributes.s).toMatchObject({ type: 3, s: "constant" });
    expect(n.attributes.t!.type).toBe(4);
  });

  it("refuses integers it cannot write exactly", () => {
    expect(() => encodeModel({ ...model, irVersion: 2 ** 53 })).toThrow(/not a safe integer/);
  });
});

describe("rawBytes", () => {
  it("writes little-endian payloads: float, double, int32, int64 and one byte per bool", () => {
    expect(Array.from(rawBytes(OnnxDataType.Float, [1]))).toEqual([0, 0, 0x80, 0x3f]);
    expect(Array.from(rawBytes(OnnxDataType.Double, [-2]))).toEqual([0, 0, 0, 0, 0, 0, 0, 0xc0]);
    expect(Array.from(rawBytes(OnnxDataType.Int32, [-2]))).toEqual([0xfe, 0xff, 0xff, 0xff]);
    expect(Array.from(rawBytes(OnnxDataType.Int64, [258]))).toEqual([2, 1, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(rawBytes(OnnxDataType.Bool, [0, 2, 1, NaN]))).toEqual([0, 1, 1, 0]);
  });
});
