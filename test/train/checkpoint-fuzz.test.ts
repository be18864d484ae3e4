/**
 * Fuzzing the checkpoint decoder: arbitrary bytes, byte-level mutations of valid files and
 * arbitrary JSON spliced into valid headers. Every case must end in a checkpoint whose
 * tensors agree with their shapes, or in a typed CheckpointError: never an uncaught
 * exception, never a hang.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as E from "fp-ts/lib/Either.js";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { tensorValue } from "../../runtime/value.js";
import { rngFromSeed } from "../../src/random.js";
import { readCheckpoint } from "../../src/train/checkpoint.js";
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from "../../src/train/checkpointFormat.js";

const REASONS = new Set(["truncated", "headerLength", "header", "format", "version", "metadata", "tensor", "offsets", "data"]);

const valid: Checkpoint = {
  params: new Map([
    ["W", tensorValue("f32", [3, 2], [1, 2, 3, 4, 5, 6])],
    ["b", tensorValue("f64", [2], [0.5, -0.5])],
  ]),
  optimizerState: new Map([
    ["t", tensorValue("i32", [], [7])],
    ["on", tensorValue("bool", [2], [1, 0])],
  ]),
  step: 12,
  epoch: 3,
  rng: rngFromSeed(1),
  graphHash: "abc",
  metadata: { k: "v" },
};
const validBytes = ((): Uint8Array => {
  const r = encodeCheckpoint(valid);
  if (E.isLeft(r)) throw r.left;
  return r.right;
})();
const headerLength = Number(new DataView(validBytes.buffer).getBigUint64(0, true));

/** Decodes and checks the outcome is well-formed; returns the time taken in ms. */
const decodeChecked = (bytes: Uint8Array): number => {
  const start = performance.now();
  const result = decodeCheckpoint(bytes); // must not throw
  const elapsed = performance.now() - start;
  if (E.isLeft(result)) {
    expect(result.left).toBeInstanceOf(CheckpointError);
    expect(REASONS.has(result.left.reason)).toBe(true);
    expect(result.left.message.length).toBeGreaterThan(10);
  } else {
    for (const t of [...result.right.params.values(), ...result.right.optimizerState.values()]) {
      expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
    }
  }
  return elapsed;
};

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

const mutate = (bytes: Uint8Array, m: Mutation): Uint8Array => {
  const at = bytes.length === 0 ? 0 : m.at % bytes.length;
  const copy = Uint8Array.from(bytes);
  switch (m.kind) {
    case "set":
      copy[at] = m.value;
      return copy;
    case "flip":
      copy[at] = copy[at]! ^ (1 << m.bit);
      return copy;
    case "truncate":
      return copy.subarray(0, at);
    case "insert":
      return Uint8Array.from([...copy.subarray(0, at), ...m.bytes, ...copy.subarray(at)]);
    case "delete":
      return Uint8Array.from([...copy.subarray(0, at), ...copy.subarray(at + m.count)]);
  }
};

/** A file whose header is `text` (length prefix consistent) followed by `data`. */
const withHeader = (text: string, data: Uint8Array): Uint8Array => {
  const h = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
};

/** Replaces the value at a path in a JSON tree (path indices taken modulo the children). */
const replaceAt = (tree: unknown, steps: readonly number[], value: unknown): unknown => {
  if (steps.length === 0 || typeof tree !== "object" || tree === null) return value;
  const entries = Array.isArray(tree) ? tree.map((v, i) => [String(i), v] as const) : Object.entries(tree);
  if (entries.length === 0) return value;
  const [key, child] = entries[steps[0]! % entries.length]!;
  const replaced = replaceAt(child, steps.slice(1), value);
  if (Array.isArray(tree)) return tree.map((v, i) => (String(i) === key ? replaced : v));
  return Object.fromEntries(entries.map(([k, v]) => [k, k === key ? replaced : v]));
};

describe("checkpoint decoder fuzzing", () => {
  it("arbitrary bytes give a typed error", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => void decodeChecked(bytes)), { numRuns: 2000 });
  });

  it("arbitrary headers behind a consistent length prefix give a typed error", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.json({ maxDepth: 4 })), fc.uint8Array({ maxLength: 64 }), (text, data) => void decodeChecked(withHeader(text, data))),
      { numRuns: 1500 },
    );
  });

  it("mutated valid files decode or give a typed error, quickly", () => {
    let slowest = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        slowest = Math.max(slowest, decodeChecked(mutations.reduce(mutate, validBytes)));
      }),
      { numRuns: 3000 },
    );
    expect(slowest).toBeLessThan(250);
  });

  it("mutations confined to the header bytes give a typed error or a well-formed checkpoint", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 8, max: 8 + headerLength - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), (edits) => {
        const copy = Uint8Array.from(validBytes);
        for (const [at, v] of edits) copy[at] = v;
        decodeChecked(copy);
      }),
      { numRuns: 2000 },
    );
  });

  it("arbitrary JSON values spliced into a valid header give a typed error or a well-formed checkpoint", () => {
    const header = JSON.parse(new TextDecoder().decode(validBytes.subarray(8, 8 + headerLength))) as unknown;
    const data = validBytes.subarray(8 + headerLength);
    const hostileNumbers = fc.constantFrom(-1, 1e300, 2 ** 53, 2 ** 31, 0.5, -0, 1e-320, Number.MAX_SAFE_INTEGER);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 4 }), fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostileNumbers, fc.constantFrom("__proto__", "F16", "")), (steps, value) => {
        decodeChecked(withHeader(JSON.stringify(replaceAt(header, steps, value)), data));
      }),
      { numRuns: 2000 },
    );
  });

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tg-fuzz-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("the file reader agrees with the byte decoder on mutated files", () => {
    const file = path.join(tmp, "f.safetensors");
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        const bytes = mutations.reduce(mutate, validBytes);
        fs.writeFileSync(file, bytes);
        const fromFile = readCheckpoint(file);
        const fromBytes = decodeCheckpoint(bytes);
        expect(E.isRight(fromFile)).toBe(E.isRight(fromBytes));
        if (E.isLeft(fromFile) && E.isLeft(fromBytes)) {
          expect(fromFile.left.reason).toBe(fromBytes.left.reason);
          expect(fromFile.left.message).toBe(`${file}: ${fromBytes.left.message}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});
