/**
 * A small protobuf encoder for the ONNX messages typegrad writes (ModelProto and what it
 * contains), following onnx/onnx.proto (proto2 field numbers).
 *
 * Takes a plain-data `OnnxModel`; returns its wire-format bytes. Guarantees: fields are
 * written in field-number order of the message definitions used here, repeated scalars
 * that onnx.proto does not declare packed are written unpacked, int64 values are exact
 * for safe integers (negative ones as ten-byte two's complement), tensor payloads go in
 * `raw_data` (little-endian, bool one byte per element). Encoding is deterministic: the
 * same model always gives the same bytes.
 */

/** ONNX `TensorProto.DataType` values used by typegrad. */
export const OnnxDataType = { Float: 1, Int32: 6, Int64: 7, Bool: 9, Double: 11 } as const;
export type OnnxDataType = (typeof OnnxDataType)[keyof typeof OnnxDataType];

/** A tensor value (initializer or Constant attribute); `raw` is the little-endian payload. */
export interface OnnxTensor {
  readonly name: string;
  readonly dataType: OnnxDataType;
  readonly dims: readonly number[];
  readonly raw: Uint8Array;
  readonly docString?: string;
}

export type OnnxAttribute =
  | { readonly name: string; readonly kind: "int"; readonly value: number }
  | { readonly name: string; readonly kind: "ints"; readonly value: readonly number[] }
  | { readonly name: string; readonly kind: "string"; readonly value: string }
  | { readonly name: string; readonly kind: "tensor"; readonly value: OnnxTensor };

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: readonly OnnxAttribute[];
  readonly docString: string;
}

/** A graph input or output: element type and shape (numbers, or names of dynamic dims). */
export interface OnnxValueInfo {
  readonly name: string;
  readonly elemType: OnnxDataType;
  readonly shape: readonly (number | string)[];
  readonly docString?: string;
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly docString: string;
}

export interface OnnxModel {
  readonly irVersion: number;
  readonly opsetVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString: string;
  readonly graph: OnnxGraph;
  readonly metadata: readonly (readonly [string, string])[];
}

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;

const utf8 = new TextEncoder();

/** Appends protobuf fields to a growable buffer. */
class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  /** An unsigned varint; negative int64 values become their 64-bit two's complement. */
  private varint(value: number): void {
    if (!Number.isSafeInteger(value)) throw new RangeError(`protobuf: ${value} is not a safe integer`);
    if (value < 0) {
      let v = BigInt.asUintN(64, BigInt(value));
      while (v >= 0x80n) {
        this.byte(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      this.byte(Number(v));
      return;
    }
    let v = value;
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  int(field: number, value: number): this {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_BYTES);
    this.varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** A string field, omitted when empty (optional proto2 strings need not be present). */
  optionalString(field: number, value: string | undefined): this {
    return value === undefined || value === "" ? this : this.string(field, value);
  }

  message<T>(field: number, value: T, encode: (w: Writer, v: T) => void): this {
    const inner = new Writer();
    encode(inner, value);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const AttributeType = { int: 2, string: 3, tensor: 4, ints: 7 } as const;

const writeTensor = (w: Writer, t: OnnxTensor): void => {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType);
  w.optionalString(8, t.name);
  w.bytes(9, t.raw);
  w.optionalString(12, t.docString);
};

const writeAttribute = (w: Writer, a: OnnxAttribute): void => {
  w.string(1, a.name);
  switch (a.kind) {
    case "int":
      w.int(3, a.value);
      break;
    case "string":
      w.string(4, a.value);
      break;
    case "tensor":
      w.message(5, a.value, writeTensor);
      break;
    case "ints":
      for (const v of a.value) w.int(8, v);
      break;
  }
  w.int(20, AttributeType[a.kind]);
};

const writeNode = (w: Writer, n: OnnxNode): void => {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes) w.message(5, a, writeAttribute);
  w.optionalString(6, n.docString);
};

const writeDim = (w: Writer, d: number | string): void => {
  if (typeof d === "number") w.int(1, d);
  else w.string(2, d);
};

const writeTensorType = (w: Writer, v: OnnxValueInfo): void => {
  w.int(1, v.elemType);
  w.message(2, v.shape, (sw, shape) => {
    for (const d of shape) sw.message(1, d, writeDim);
  });
};

const writeValueInfo = (w: Writer, v: OnnxValueInfo): void => {
  w.string(1, v.name);
  w.message(2, v, (tw, value) => tw.message(1, value, writeTensorType));
  w.optionalString(3, v.docString);
};

const writeGraph = (w: Writer, g: OnnxGraph): void => {
  for (const n of g.nodes) w.message(1, n, writeNode);
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, t, writeTensor);
  w.optionalString(10, g.docString);
  for (const v of g.inputs) w.message(11, v, writeValueInfo);
  for (const v of g.outputs) w.message(12, v, writeValueInfo);
};

/**
 * Encodes a model as ONNX `ModelProto` bytes.
 * @example
 * const bytes = encodeModel(model); // Uint8Array, loadable by ONNX Runtime
 */
export const encodeModel = (m: OnnxModel): Uint8Array => {
  const w = new Writer();
  w.int(1, m.irVersion);
  w.optionalString(2, m.producerName);
  w.optionalString(3, m.producerVersion);
  w.optionalString(6, m.docString);
  w.message(7, m.graph, writeGraph);
  w.message(8, m.opsetVersion, (ow, version) => {
    ow.string(1, "");
    ow.int(2, version);
  });
  for (const [key, value] of m.metadata)
    w.message(14, [key, value] as const, (ew, [k, v]) => {
      ew.string(1, k);
      ew.string(2, v);
    });
  return w.finish();
};

/**
 * Little-endian bytes of numbers stored as `dataType` (bool: one byte, 0 or 1).
 * @example rawBytes(OnnxDataType.Int32, [-2]) // Uint8Array [0xfe, 0xff, 0xff, 0xff]
 */
export const rawBytes = (dataType: OnnxDataType, values: ArrayLike<number>): Uint8Array => {
  const n = values.length;
  switch (dataType) {
    case OnnxDataType.Float:
      return bytesOf(Float32Array.from(values));
    case OnnxDataType.Double:
      return bytesOf(Float64Array.from(values));
    case OnnxDataType.Int32:
      return bytesOf(Int32Array.from(values));
    case OnnxDataType.Int64: {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt(values[i]!);
      return bytesOf(out);
    }
    case OnnxDataType.Bool:
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
  }
};

/** The bytes of a typed array, copied, little-endian (checked once: typegrad targets little-endian hosts). */
const bytesOf = (a: Float32Array | Float64Array | Int32Array | BigInt64Array): Uint8Array => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
if (!littleEndian) throw new Error("compiler/onnx: raw tensor data is written in host byte order, which must be little-endian");
