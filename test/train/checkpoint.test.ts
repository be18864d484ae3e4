/**
 * Checkpoints: bit-exact round trips, the safetensors layout (read back by an independent
 * reader written here), every hostile-header case as a typed error naming the field, model
 * mismatch messages, and atomic saves that leave the previous file intact.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as E from "fp-ts/lib/Either.js";
import { afterAll, describe, expect, it } from "vitest";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import { rngFromSeed } from "../../src/random.js";
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointErrorReason } from "../../src/train/checkpointFormat.js";
import { loadCheckpoint, matchCheckpoint, readCheckpoint, saveCheckpoint, specsOf, tempFilePrefix, writeFileAtomic } from "../../src/train/checkpoint.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tg-ckpt-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const f32Special = new Float32Array([0, -0, 1.5, -3.25e-41, 3.4028234663852886e38, Infinity, -Infinity, NaN]);
new DataView(f32Special.buffer).setUint32(7 * 4, 0x7fc00abc, true); // a NaN with a payload

export const sample = (): Checkpoint => ({
  params: new Map<string, TensorValue>([
    ["fc1.W", { dtype: "f32", shape: [2, 4], data: f32Special }],
    ["fc1.b", tensorValue("f64", [3], [Math.PI, -0, 5e-324])],
    ["scalar", tensorValue("f64", [], [42])],
    ["empty", tensorValue("f32", [0, 3], [])],
  ]),
  optimizerState: new Map<string, TensorValue>([
    ["adam.m/fc1.W", tensorValue("f32", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8])],
    ["adam.t", tensorValue("i32", [1], [-(2 ** 31)])],
    ["mask", tensorValue("bool", [3], [1, 0, 1])],
  ]),
  step: 1234,
  epoch: 7,
  rng: rngFromSeed(99),
  graphHash: "1f2e3d4c5b6a7",
  metadata: { note: "lr 0.1", "odd key": "ünïcödé ✓" },
});

const bytesOf = (t: TensorValue): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

const expectSameTensors = (a: ReadonlyMap<string, TensorValue>, b: ReadonlyMap<string, TensorValue>): void => {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [name, t] of a) {
    const u = b.get(name)!;
    expect(u.dtype).toBe(t.dtype);
    expect(u.shape).toEqual(t.shape);
    expect(u.data.constructor).toBe(t.data.constructor);
    expect(bytesOf(u).equals(bytesOf(t))).toBe(true);
  }
};

const encode = (c: Checkpoint): Uint8Array => {
  const r = encodeCheckpoint(c);
  if (E.isLeft(r)) throw r.left;
  return r.right;
};

/** A raw file: 8-byte LE length, header (object or exact text), data. */
const raw = (header: unknown, data: Uint8Array = new Uint8Array(), lengthOverride?: bigint): Uint8Array => {
  const text = typeof header === "string" ? header : JSON.stringify(header);
  const h = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
};
const META = { format: "typegrad-checkpoint", version: "1", step: "0", epoch: "0", graphHash: "" };
const entry = (dtype: string, shape: number[], begin: number, end: number): object => ({ dtype, shape, data_offsets: [begin, end] });

const rejects = (bytes: Uint8Array, reason: CheckpointErrorReason, message: string | RegExp): CheckpointError => {
  const r = decodeCheckpoint(bytes);
  if (E.isRight(r)) throw new Error("expected the checkpoint to be rejected");
  expect(r.left).toBeInstanceOf(CheckpointError);
  expect(r.left.reason).toBe(reason);
  if (typeof message === "string") expect(r.left.message).toBe(message);
  else expect(r.left.message).toMatch(message);
  return r.left;
};

describe("encode / decode", () => {
  it("round-trips every dtype bit-exactly (NaN payloads, -0, subnormals, extremes, empty and rank-0 tensors)", () => {
    const c = sample();
    const back = decodeCheckpoint(encode(c));
    if (E.isLeft(back)) throw back.left;
    expectSameTensors(c.params, back.right.params);
    expectSameTensors(c.optimizerState, back.right.optimizerState);
    expect(back.right.step).toBe(1234);
    expect(back.right.epoch).toBe(7);
    expect(back.right.rng).toEqual(c.rng);
    expect(back.right.graphHash).toBe(c.graphHash);
    expect(back.right.metadata).toEqual(c.metadata);
    expect(encode(back.right)).toEqual(encode(c)); // and deterministic
  });

  it("writes the safetensors layout: readable by an independent reader, aligned, space-padded header", () => {
    const bytes = encode(sample());
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const n = Number(view.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(headerText).toMatch(/^\{.*\} *$/);
    const header = JSON.parse(headerText) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> & { __metadata__: Record<string, string> };
    expect(header.__metadata__).toMatchObject({ format: "typegrad-checkpoint", version: "1", step: "1234", epoch: "7", graphHash: "1f2e3d4c5b6a7", "user.note": "lr 0.1" });
    expect(header.__metadata__["rng"]).toMatch(/^xoshiro128\*\*:/);
    const w = header["params/fc1.W"]!;
    expect(w.dtype).toBe("F32");
    expect(w.shape).toEqual([2, 4]);
    const start = 8 + n + w.data_offsets[0];
    expect(Buffer.from(bytes.subarray(start, start + 32)).equals(Buffer.from(f32Special.buffer))).toBe(true);
    const size: Record<string, number> = { F64: 8, F32: 4, I32: 4, BOOL: 1 };
    for (const [name, e] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const tensor = e as { dtype: string; data_offsets: [number, number] };
      expect((8 + n + tensor.data_offsets[0]) % size[tensor.dtype]!).toBe(0);
    }
    expect(header["optimizer/adam.t"]).toEqual({ dtype: "I32", shape: [1], data_offsets: expect.any(Array) });
  });

  it("reads a file written by hand per the safetensors spec", () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
    const r = decodeCheckpoint(raw({ __metadata__: META, "params/w": entry("F32", [3], 0, 12) }, data));
    expect(E.isRight(r) && Array.from(r.right.params.get("w")!.data)).toEqual([1, 2, 3]);
    expect(E.isRight(r) && r.right.rng).toBeUndefined();
  });

  it("refuses to encode invalid checkpoints, naming the field", () => {
    const bad = (patch: Partial<Checkpoint>): string => {
      const r = encodeCheckpoint({ ...sample(), ...patch });
      return E.isLeft(r) ? r.left.message : "accepted";
    };
    expect(bad({ step: -1 })).toBe("$.__metadata__.step: step must be a non-negative integer, got -1");
    expect(bad({ epoch: 1.5 })).toMatch(/epoch must be a non-negative integer/);
    expect(bad({ params: new Map([["w", { dtype: "f32", shape: [2, 2], data: new Float32Array(3) }]]) })).toBe('$["params/w"]: shape [2, 2] needs 4 values, the data has 3');
    expect(bad({ params: new Map([["w", { dtype: "f32", shape: [1], data: new Float64Array(1) }]]) })).toMatch(/a f32 tensor needs a Float32Array, got a Float64Array/);
    expect(bad({ params: new Map([["__proto__", tensorValue("f32", [1], [1])]]) })).toMatch(/non-empty ordinary keys/);
    expect(bad({ params: new Map([["", tensorValue("f32", [1], [1])]]) })).toMatch(/non-empty ordinary keys/);
    expect(bad({ metadata: JSON.parse('{"__proto__": "x"}') as Record<string, string> })).toMatch(/user metadata must map ordinary keys/);
  });
});

describe("hostile files: each a typed error naming the field", () => {
  const valid = encode(sample());

  it("truncated files and impossible header lengths", () => {
    rejects(new Uint8Array(), "truncated", "truncated file: 0 bytes, a checkpoint starts with an 8-byte header length");
    rejects(valid.subarray(0, 5), "truncated", /5 bytes/);
    rejects(valid.subarray(0, 100), "headerLength", /^header length: header length \d+ points past the end of the file \(100 bytes\)$/);
    rejects(raw("{}", new Uint8Array(), 2n ** 60n), "headerLength", /exceeds the 100000000-byte limit/);
    rejects(raw("{}", new Uint8Array(), 200_000_000n), "headerLength", /exceeds/);
    rejects(raw("{}", new Uint8Array(), 1n), "headerLength", /too small/);
    rejects(valid.subarray(0, valid.length - 1), "offsets", /points past the end of the data/);
  });

  it("headers that are not UTF-8 JSON objects", () => {
    rejects(raw("{not json}"), "header", /^\$: the header is not valid JSON/);
    rejects(raw("[1, 2]"), "header", "$: the header must be a JSON object, got an array");
    rejects(raw("null "), "header", /got null/);
    const badUtf8 = raw("{}    ");
    badUtf8[9] = 0xff;
    rejects(badUtf8, "header", "$: the header is not valid UTF-8");
  });

  it("missing or wrong format marker and version, bad metadata", () => {
    rejects(raw({ "params/w": entry("F32", [0], 0, 0) }), "format", /^\$\.__metadata__: no __metadata__: not a typegrad checkpoint/);
    rejects(raw({ __metadata__: { ...META, format: "pt" } }), "format", '$.__metadata__.format: expected "typegrad-checkpoint", got "pt": not a typegrad checkpoint');
    rejects(raw({ __metadata__: { ...META, version: "2" } }), "version", '$.__metadata__.version: unsupported version "2"; this build reads version 1');
    rejects(raw({ __metadata__: { ...META, version: undefined } }), "version", /got|unsupported version undefined/);
    rejects(raw({ __metadata__: { ...META, step: "-1" } }), "metadata", '$.__metadata__.step: expected a non-negative integer as a string, got "-1"');
    rejects(raw({ __metadata__: { ...META, epoch: "01" } }), "metadata", /\$\.__metadata__\.epoch/);
    rejects(raw({ __metadata__: { ...META, step: 5 } }), "metadata", /^\$\.__metadata__: expected an object of strings: \$\.__metadata__\.step/);
    rejects(raw({ __metadata__: [1] }), "metadata", /\$\.__metadata__/);
    rejects(raw({ __metadata__: { ...META, extra: "1" } }), "metadata", '$.__metadata__.extra: unknown metadata key (own keys must start with "user.")');
    rejects(raw({ __metadata__: { ...META, rng: "xoshiro128**:0" } }), "metadata", /__metadata__\.rng: expected four 8-digit/);
    rejects(raw({ __metadata__: { ...META, graphHash: undefined } }), "metadata", "$.__metadata__.graphHash: missing graph hash");
  });

  it("__proto__, constructor and prototype keys", () => {
    rejects(raw(`{"__metadata__": ${JSON.stringify(META)}, "__proto__": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}`), "header", '$.__proto__: the key "__proto__" is not allowed');
    rejects(raw(`{"__metadata__": {"__proto__": "x", "format": "typegrad-checkpoint"}}`), "header", '$.__metadata__.__proto__: the key "__proto__" is not allowed');
    rejects(raw({ __metadata__: META, constructor: entry("F32", [0], 0, 0) }), "header", /"constructor" is not allowed/);
    rejects(raw({ __metadata__: { ...META, "user.prototype": "x" } }), "header", '$.__metadata__["user.prototype"]: the key "prototype" is not allowed');
    expect(Object.prototype).not.toHaveProperty("dtype"); // nothing leaked into prototypes
  });

  it("bad tensor entries: dtype, shape, rank, element counts, fields, names", () => {
    const one = (e: object, data = new Uint8Array(4), name = "params/w"): Uint8Array => raw({ __metadata__: META, [name]: e }, data);
    rejects(one(entry("F16", [2], 0, 4)), "tensor", /^\$\["params\/w"\]\.dtype: expected "F32" \| "F64" \| "I32" \| "BOOL"|\$\["params\/w"\]\.dtype/);
    rejects(one(entry("F32", [-1], 0, 4)), "tensor", /\$\["params\/w"\]\.shape\[0\]: expected a dim in \[0, 2\^31\), got -1/);
    rejects(one(entry("F32", [1.5], 0, 4)), "tensor", /shape\[0\]/);
    rejects(one({ dtype: "F32", shape: "[1]", data_offsets: [0, 4] }), "tensor", /\$\["params\/w"\]\.shape/);
    rejects(one(entry("F32", [2 ** 31], 0, 4)), "tensor", /shape\[0\]: expected a dim/);
    rejects(one(entry("F32", [65536, 65536], 0, 4)), "tensor", '$["params/w"].shape: shape [65536, 65536] has 4294967296 elements, more than 2^31 - 1');
    rejects(one(entry("F32", [1, 1, 1, 1, 1, 1, 1, 1, 1], 0, 4)), "tensor", '$["params/w"].shape: rank 9 exceeds the maximum 8');
    rejects(one(entry("F32", [2], 0, 4)), "tensor", '$["params/w"].data_offsets: 4 bytes for F32[2], which needs 8');
    rejects(one({ ...entry("F32", [1], 0, 4), extra: 1 }), "tensor", '$["params/w"].extra: unexpected field (entries have dtype, shape and data_offsets)');
    rejects(one({ dtype: "F32", shape: [1] }), "tensor", /data_offsets/);
    rejects(one({ dtype: "F32", shape: [1], data_offsets: [0, 4, 8] }), "tensor", '$["params/w"].data_offsets: expected a [begin, end] pair, got [0,4,8]');
    rejects(one({ dtype: "F32", shape: [1], data_offsets: [0, -4] }), "tensor", /data_offsets\[1\]: expected a byte offset/);
    rejects(one(entry("F32", [1], 0, 4), new Uint8Array(4), "w"), "tensor", '$.w: tensor names start with "params/" or "optimizer/" followed by a name');
    rejects(one(entry("F32", [1], 0, 4), new Uint8Array(4), "params/"), "tensor", /followed by a name/);
    rejects(one(entry("BOOL", [4], 0, 4), new Uint8Array([0, 1, 2, 1])), "data", '$["params/w"]: bool element 2 has byte value 2, expected 0 or 1');
  });

  it("out-of-range, overlapping, gapped and incomplete offsets", () => {
    const two = (a: [number, number], b: [number, number], dataBytes: number): Uint8Array =>
      raw({ __metadata__: META, "params/a": entry("F32", [(a[1] - a[0]) / 4], ...a), "params/b": entry("F32", [(b[1] - b[0]) / 4], ...b) }, new Uint8Array(dataBytes));
    expect(E.isRight(decodeCheckpoint(two([0, 4], [4, 12], 12)))).toBe(true);
    rejects(two([0, 8], [4, 12], 12), "offsets", '$["params/b"].data_offsets: [4, 12] overlaps "params/a" (which ends at 8)');
    rejects(two([0, 4], [0, 4], 4), "offsets", /overlaps "params\/a"/);
    rejects(two([0, 4], [8, 12], 12), "offsets", '$["params/b"].data_offsets: a gap: data starts at 8 but the previous tensor ends at 4');
    rejects(two([4, 8], [8, 12], 12), "offsets", /\["params\/a"\]\.data_offsets: a gap: data starts at 4/);
    rejects(two([0, 4], [4, 16], 12), "offsets", '$["params/b"].data_offsets: [4, 16] points past the end of the data (12 bytes)');
    rejects(two([0, 4], [4, 8], 12), "offsets", "$: 4 bytes of data after the last tensor (tensors cover 8 of 12)");
    rejects(raw({ __metadata__: META, "params/a": entry("F32", [0], 8, 4) }, new Uint8Array(8)), "offsets", /end 4 is before begin 8/);
  });
});

describe("matching the expected model", () => {
  const c = sample();

  it("accepts the same model and names each mismatching tensor or the hash", () => {
    expect(E.isRight(matchCheckpoint(c, { params: specsOf(c.params), optimizerState: specsOf(c.optimizerState), graphHash: c.graphHash }))).toBe(true);
    const expected = {
      params: {
        "fc1.W": { dtype: "f32", shape: [2, 5] },
        "fc1.b": { dtype: "f32", shape: [3] },
        scalar: { dtype: "f64", shape: [] },
        "fc2.W": { dtype: "f32", shape: [4, 1] },
      },
      graphHash: "ffff",
    } as const;
    const r = matchCheckpoint(c, expected);
    expect(E.isLeft(r) && r.left.reason).toBe("mismatch");
    expect(E.isLeft(r) && r.left.message).toBe(
      [
        "checkpoint does not match the model:",
        '  the graph hash differs: checkpoint "1f2e3d4c5b6a7", model "ffff" (a different model or a changed one)',
        '  param "fc1.W" is f32[2, 4] in the checkpoint, the model expects f32[2, 5]',
        '  param "fc1.b" is f64[3] in the checkpoint, the model expects f32[3]',
        '  param "fc2.W" (f32[4, 1]) is missing from the checkpoint',
        '  param "empty" (f32[0, 3]) is in the checkpoint but not in the model',
      ].join("\n"),
    );
    const opt = matchCheckpoint(c, { optimizerState: new Map([["adam.t", { dtype: "i32", shape: [1] }]]) });
    expect(E.isLeft(opt) && opt.left.message).toMatch(/optimizer state "adam.m\/fc1.W" \(f32\[2, 4\]\) is in the checkpoint but not in the model/);
  });
});

describe("files", () => {
  it("saves and loads bit-exactly, and refuses another model naming file and tensor", () => {
    const file = path.join(tmp, "model.safetensors");
    const c = sample();
    saveCheckpoint(file, c);
    const back = loadCheckpoint(file, { params: specsOf(c.params), graphHash: c.graphHash });
    expectSameTensors(c.params, back.params);
    expectSameTensors(c.optimizerState, back.optimizerState);
    expect(back.rng).toEqual(c.rng);
    expect(() => loadCheckpoint(file, { params: { "fc1.W": { dtype: "f32", shape: [3, 4] } } })).toThrow(
      `${file}: checkpoint does not match the model:\n  param "fc1.W" is f32[2, 4] in the checkpoint, the model expects f32[3, 4]\n`,
    );
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith(tempFilePrefix(file)))).toEqual([]);
  });

  it("reports missing files and corrupt files with the file name, as values or thrown errors", () => {
    const missing = path.join(tmp, "nope.safetensors");
    const r = readCheckpoint(missing);
    expect(E.isLeft(r) && r.left.reason).toBe("io");
    expect(E.isLeft(r) && r.left.message).toMatch(/nope\.safetensors: cannot open the checkpoint: ENOENT/);
    const corrupt = path.join(tmp, "corrupt.safetensors");
    fs.writeFileSync(corrupt, encode(sample()).subarray(0, 60));
    expect(() => loadCheckpoint(corrupt)).toThrow(CheckpointError);
    expect(() => loadCheckpoint(corrupt)).toThrow(/corrupt\.safetensors: header length: header length \d+ points past the end of the file \(60 bytes\)/);
    const truncatedData = path.join(tmp, "short.safetensors");
    const full = encode(sample());
    fs.writeFileSync(truncatedData, full.subarray(0, full.length - 3));
    expect(() => loadCheckpoint(truncatedData)).toThrow(/short\.safetensors: .*points past the end of the data/);
  });

  it("a temp file left by a crash mid-save does not affect loading the previous checkpoint, nor the next save", () => {
    const file = path.join(tmp, "crash.safetensors");
    const before = sample();
    saveCheckpoint(file, before);
    const leftover = path.join(tmp, `${tempFilePrefix(file)}999-deadbeef`);
    fs.writeFileSync(leftover, encode({ ...before, step: 5000 }).subarray(0, 123)); // half-written
    const loaded = loadCheckpoint(file);
    expect(loaded.step).toBe(1234);
    expectSameTensors(before.params, loaded.params);
    saveCheckpoint(file, { ...before, step: 1235 });
    expect(loadCheckpoint(file).step).toBe(1235);
    expect(fs.existsSync(leftover)).toBe(true); // never read, never clobbered
  });

  it("a failed save leaves the previous checkpoint intact and no temp file behind", () => {
    const dir = path.join(tmp, "failing");
    fs.mkdirSync(dir);
    const file = path.join(dir, "m.safetensors");
    saveCheckpoint(file, sample());
    const original = fs.readFileSync(file);
    // An invalid checkpoint fails before touching the disk.
    expect(() => saveCheckpoint(file, { ...sample(), step: -5 })).toThrow(/m\.safetensors: \$\.__metadata__\.step/);
    // The rename fails (the target is a non-empty directory): the temp file is removed.
    const blocked = path.join(dir, "blocked");
    fs.mkdirSync(blocked);
    fs.writeFileSync(path.join(blocked, "x"), "x");
    expect(() => writeFileAtomic(blocked, encode(sample()))).toThrow(/blocked: cannot write the checkpoint/);
    expect(fs.readdirSync(dir).sort()).toEqual(["blocked", "m.safetensors"]);
    expect(fs.readFileSync(file).equals(original)).toBe(true);
  });
});
