/**
 * A small, independent protobuf decoder for the ONNX fields the tests inspect (written
 * from onnx.proto, sharing no code with the encoder, so an encoder bug shows up as a
 * test failure rather than cancelling out).
 */

interface Field {
  readonly field: number;
  readonly wire: number;
  /** Varint / fixed values as bigint; length-delimited payloads as bytes. */
  readonly value: bigint | Uint8Array;
}

const readFields = (buf: Uint8Array): Field[] => {
  const fields: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error("truncated varint");
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  while (pos < buf.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) fields.push({ field, wire, value: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (pos + len > buf.length) throw new Error(`field ${field}: length ${len} runs past the end`);
      fields.push({ field, wire, value: buf.subarray(pos, pos + len) });
      pos += len;
    } else if (wire === 5) {
      fields.push({ field, wire, value: BigInt(view.getUint32(pos, true)) });
      pos += 4;
    } else if (wire === 1) {
      fields.push({ field, wire, value: view.getBigUint64(pos, true) });
      pos += 8;
    } else throw new Error(`field ${field}: unsupported wire type ${wire}`);
  }
  return fields;
};

const utf8 = new TextDecoder();
const all = (fs: Field[], n: number): Field[] => fs.filter((f) => f.field === n);
const bytes = (f: Field): Uint8Array => f.value as Uint8Array;
const str = (fs: Field[], n: number): string => {
  const f = all(fs, n)[0];
  return f === undefined ? "" : utf8.decode(bytes(f));
};
const strs = (fs: Field[], n: number): string[] => all(fs, n).map((f) => utf8.decode(bytes(f)));
const int = (fs: Field[], n: number): number | undefined => {
  const f = all(fs, n)[0];
  return f === undefined ? undefined : Number(BigInt.asIntN(64, f.value as bigint));
};
const ints = (fs: Field[], n: number): number[] => all(fs, n).map((f) => Number(BigInt.asIntN(64, f.value as bigint)));

export interface DecodedValueInfo {
  readonly name: string;
  readonly elemType: number;
  /** Dims: numbers (dim_value) or names (dim_param). */
  readonly dims: (number | string)[];
  readonly docString: string;
}

export interface DecodedNode {
  readonly name: string;
  readonly opType: string;
  readonly inputs: string[];
  readonly outputs: string[];
  readonly docString: string;
  readonly attributes: Record<string, { readonly type: number; readonly i?: number; readonly ints?: number[]; readonly s?: string }>;
}

export interface DecodedModel {
  readonly irVersion: number;
  readonly opsets: { readonly domain: string; readonly version: number }[];
  readonly producerName: string;
  readonly metadata: Record<string, string>;
  readonly graph: {
    readonly name: string;
    readonly nodes: DecodedNode[];
    readonly initializers: string[];
    readonly initializerDims: Record<string, number[]>;
    readonly inputs: DecodedValueInfo[];
    readonly outputs: DecodedValueInfo[];
  };
}

const valueInfo = (b: Uint8Array): DecodedValueInfo => {
  const fs = readFields(b);
  const type = readFields(bytes(all(fs, 2)[0]!));
  const tensor = readFields(bytes(all(type, 1)[0]!));
  const shape = all(tensor, 2)[0];
  const dims = shape === undefined ? [] : all(readFields(bytes(shape)), 1).map((d) => {
    const dfs = readFields(bytes(d));
    return all(dfs, 2).length > 0 ? str(dfs, 2) : int(dfs, 1)!;
  });
  return { name: str(fs, 1), elemType: int(tensor, 1)!, dims, docString: str(fs, 3) };
};

const node = (b: Uint8Array): DecodedNode => {
  const fs = readFields(b);
  const attributes: DecodedNode["attributes"] = {};
  for (const a of all(fs, 5)) {
    const afs = readFields(bytes(a));
    const i = int(afs, 3);
    attributes[str(afs, 1)] = { type: int(afs, 20)!, ...(i === undefined ? {} : { i }), ints: ints(afs, 8), s: str(afs, 4) };
  }
  return { inputs: strs(fs, 1), outputs: strs(fs, 2), name: str(fs, 3), opType: str(fs, 4), docString: str(fs, 6), attributes };
};

/** Decodes the parts of a ModelProto that the tests look at. */
export const decodeModel = (buf: Uint8Array): DecodedModel => {
  const fs = readFields(buf);
  const g = readFields(bytes(all(fs, 7)[0]!));
  const inits = all(g, 5).map((t) => readFields(bytes(t)));
  return {
    irVersion: int(fs, 1)!,
    opsets: all(fs, 8).map((o) => {
      const ofs = readFields(bytes(o));
      return { domain: str(ofs, 1), version: int(ofs, 2)! };
    }),
    producerName: str(fs, 2),
    metadata: Object.fromEntries(all(fs, 14).map((e) => [str(readFields(bytes(e)), 1), str(readFields(bytes(e)), 2)])),
    graph: {
      name: str(g, 2),
      nodes: all(g, 1).map((n) => node(bytes(n))),
      initializers: inits.map((t) => str(t, 8)),
      initializerDims: Object.fromEntries(inits.map((t) => [str(t, 8), ints(t, 1)])),
      inputs: all(g, 11).map((v) => valueInfo(bytes(v))),
      outputs: all(g, 12).map((v) => valueInfo(bytes(v))),
    },
  };
};
