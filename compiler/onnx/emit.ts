/**
 * The ONNX emitter: collects the ONNX nodes and helper constants that the mapping rules
 * produce for one export.
 *
 * Takes, per typegrad node, the node's id and a doc string; hands the rule an `OnnxEmitter`
 * whose calls append ONNX nodes. Guarantees: node and value names are deterministic
 * (`<prefix><id>.<k>`, counters restart at every typegrad node), every ONNX node carries
 * the doc string of the typegrad node it was emitted for, helper constants are
 * deduplicated initializers, and the int64 shape tensor of a shape with symbolic dims is
 * computed at run time from the leaves that carry those dims (`Shape` of a leaf axis).
 * One emitter serves one export call and is not shared.
 */
import type { DType, RuntimeShape } from "../../src/ops.js";
import { OnnxDataType, rawBytes, type OnnxAttribute, type OnnxNode, type OnnxTensor } from "./protobuf.js";

/** Attribute values: a number is an INT, a number list INTS, a string STRING, a tensor TENSOR. */
export type AttributeValue = number | readonly number[] | string | OnnxTensor;
export type Attributes = Readonly<Record<string, AttributeValue>>;

/** Where the size of a symbolic dim can be read at run time: axis `axis` of value `value`. */
export interface DimSource {
  readonly value: string;
  readonly axis: number;
}

/** The ONNX element type of each typegrad dtype. */
export const ONNX_DTYPE: { readonly [D in DType]: OnnxDataType } = {
  f32: OnnxDataType.Float,
  f64: OnnxDataType.Double,
  i32: OnnxDataType.Int32,
  bool: OnnxDataType.Bool,
};

export interface OnnxEmitter {
  /** Appends a node with one output and returns the output's name. */
  readonly op: (opType: string, inputs: readonly string[], attributes?: Attributes) => string;
  /** A 1-D int64 constant (shapes, axes, pads). */
  readonly int64s: (values: readonly number[]) => string;
  /** A rank-0 constant of a typegrad dtype. */
  readonly scalar: (value: number, dtype: DType) => string;
  /** A constant tensor of a typegrad dtype and concrete shape. */
  readonly tensor: (values: ArrayLike<number>, dims: readonly number[], dtype: DType) => string;
  /** The 1-D int64 tensor of a runtime shape; symbolic dims are read from their sources at run time. */
  readonly shape: (shape: RuntimeShape) => string;
}

const toAttribute = (name: string, v: AttributeValue): OnnxAttribute =>
  typeof v === "number"
    ? { name, kind: "int", value: v }
    : typeof v === "string"
      ? { name, kind: "string", value: v }
      : isTensor(v)
        ? { name, kind: "tensor", value: v }
        : { name, kind: "ints", value: v };

const isTensor = (v: AttributeValue): v is OnnxTensor => typeof v === "object" && "raw" in v;

/**
 * Encodes `values` as a tensor of a typegrad dtype, converting like the typed arrays the runtime uses.
 * @example tensorOf("W", [1, 2, 3, 4], [2, 2], "f32") // FLOAT initializer W of dims [2, 2]
 */
export const tensorOf = (name: string, values: ArrayLike<number>, dims: readonly number[], dtype: DType): OnnxTensor => ({
  name,
  dataType: ONNX_DTYPE[dtype],
  dims,
  raw: rawBytes(ONNX_DTYPE[dtype], values),
});

export interface EmitterState {
  readonly nodes: OnnxNode[];
  readonly initializers: OnnxTensor[];
}

/**
 * Creates an emitter. `begin(id, opName, doc)` starts the nodes of one typegrad node;
 * `emitter` is what rules call. `dimSources` says where each symbolic dim can be read.
 * @example
 * const { emitter, begin, state } = createEmitter("tg/", new Map([["batch", { value: "x", axis: 0 }]]));
 * begin(3, "exp", "typegrad %3 exp");
 * emitter.op("Exp", ["x"]); // "tg/3.0"; state.nodes holds the node
 */
export const createEmitter = (
  prefix: string,
  dimSources: ReadonlyMap<string, DimSource>,
): { readonly emitter: OnnxEmitter; readonly begin: (id: number, opName: string, doc: string) => void; readonly state: EmitterState } => {
  const state: EmitterState = { nodes: [], initializers: [] };
  const constants = new Map<string, string>();
  const shapes = new Map<string, string>();
  let current = { id: -1, opName: "", doc: "", count: 0 };

  const begin = (id: number, opName: string, doc: string): void => {
    current = { id, opName, doc, count: 0 };
  };

  const op = (opType: string, inputs: readonly string[], attributes: Attributes = {}): string => {
    const k = current.count++;
    const output = `${prefix}${current.id}.${k}`;
    state.nodes.push({
      name: k === 0 ? `${prefix}${current.id}.${current.opName}` : `${prefix}${current.id}.${current.opName}.${k}`,
      opType,
      inputs,
      outputs: [output],
      attributes: Object.entries(attributes).map(([name, v]) => toAttribute(name, v)),
      docString: current.doc,
    });
    return output;
  };

  const tensor = (values: ArrayLike<number>, dims: readonly number[], dtype: DType | "i64"): string => {
    const list = Array.from(values, (v) => (Object.is(v, -0) ? "-0" : String(v)));
    const key = `${dtype}|${dims.join(",")}|${list.join(",")}`;
    const known = constants.get(key);
    if (known !== undefined) return known;
    const name = `${prefix}const${constants.size}`;
    constants.set(key, name);
    state.initializers.push(
      dtype === "i64" ? { name, dataType: OnnxDataType.Int64, dims, raw: rawBytes(OnnxDataType.Int64, values) } : tensorOf(name, values, dims, dtype),
    );
    return name;
  };

  const int64s = (values: readonly number[]): string => tensor(values, [values.length], "i64");

  const dimTensor = (dim: string): string => {
    const key = `dim:${dim}`;
    const known = shapes.get(key);
    if (known !== undefined) return known;
    const source = dimSources.get(dim);
    // The exporter refuses graphs with unbound symbolic dims before emitting anything.
    if (source === undefined) throw new Error(`compiler/onnx: symbolic dim '${dim}' has no source (checked before emission)`);
    const name = op("Shape", [source.value], { start: source.axis, end: source.axis + 1 });
    shapes.set(key, name);
    return name;
  };

  const shape = (s: RuntimeShape): string => {
    if (s.every((d): d is number => typeof d === "number")) return int64s(s);
    const key = `shape:${s.join(",")}`;
    const known = shapes.get(key);
    if (known !== undefined) return known;
    const pieces: string[] = [];
    let run: number[] = [];
    for (const d of s) {
      if (typeof d === "number") run.push(d);
      else {
        if (run.length > 0) pieces.push(int64s(run));
        run = [];
        pieces.push(dimTensor(d));
      }
    }
    if (run.length > 0) pieces.push(int64s(run));
    const name = pieces.length === 1 ? pieces[0]! : op("Concat", pieces, { axis: 0 });
    shapes.set(key, name);
    return name;
  };

  return {
    emitter: { op, int64s, scalar: (value, dtype) => tensor([value], [], dtype), tensor: (values, dims, dtype) => tensor(values, dims, dtype), shape },
    begin,
    state,
  };
};
