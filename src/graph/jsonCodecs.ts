/**
 * io-ts building blocks for the graph JSON document, and its limits.
 *
 * Takes untrusted values (from `JSON.parse`); every codec here fails fast on the first
 * bad field with a message written for people, and never builds anything larger than
 * its input. Records are closed (an unknown field is an error, not silently dropped),
 * unions dispatch on a tag (so an error names the field, not a union member), numbers
 * are range-checked integers or floats whose non-finite values and -0 are spelled as
 * strings (`"NaN"`, `"Infinity"`, `"-Infinity"`, `"-0"`), because JSON has no such
 * numbers and node hashes tell -0 from 0.
 */
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import type { RuntimeDim, RuntimeShape } from "../ops.js";

/** A JSON value as `JSON.stringify` writes it. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** A codec from untrusted input to `A`, encoding to JSON. */
export type Codec<A> = t.Type<A, Json, unknown>;

/**
 * The documented limits of a graph document. A document over any of them is refused
 * before its nodes are built.
 * @example GRAPH_JSON_LIMITS.maxNodes // 1_000_000
 */
export const GRAPH_JSON_LIMITS = {
  /** Characters of JSON text. */
  maxDocumentChars: 64 * 1024 * 1024,
  /** Depth of nested arrays and objects (a valid document needs 5). */
  maxNesting: 10,
  /** Nodes, graph nodes and detached nodes together. */
  maxNodes: 1_000_000,
  /** Inputs of one node (concat is the only op with more than three). */
  maxInputs: 65_536,
  /** Dims of one shape. */
  maxRank: 32,
  /** Largest numeric dim: 2^31 - 1. */
  maxDim: 2_147_483_647,
  /** Largest element count of one shape, over its numeric dims: 2^31 - 1. */
  maxElements: 2_147_483_647,
  /** Characters of a name, file path or function name. */
  maxStringLength: 4096,
  /** Enclosing function names recorded in one source location. */
  maxFunctions: 64,
} as const;

/** Keys refused anywhere in a document: they alter prototypes when copied carelessly. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

export const isPlainObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/** A short description of a value for messages; never prints a whole array or object. */
export const describeValue = (u: unknown): string => {
  if (u === undefined) return "nothing";
  if (u === null) return "null";
  if (Array.isArray(u)) return `an array of ${u.length}`;
  if (typeof u === "object") return "an object";
  if (typeof u === "string") return JSON.stringify(u.length > 40 ? `${u.slice(0, 40)}…` : u);
  if (typeof u === "number") return Object.is(u, -0) ? "-0" : String(u);
  return String(u);
};

/**
 * Builds a codec from a validating function; `is` runs the same validation, so
 * `is(undefined)` tells whether a field may be absent.
 */
export const makeCodec = <A>(name: string, validate: t.Validate<unknown, A>, encode: (a: A) => Json): Codec<A> => {
  const codec: Codec<A> = new t.Type<A, Json, unknown>(
    name,
    (u): u is A => E.isRight(validate(u, [{ key: "", type: codec, actual: u }])),
    validate,
    encode,
  );
  return codec;
};

/** An integer in [min, max]. */
export const integer = (min: number, max: number): Codec<number> =>
  makeCodec(
    `integer in [${min}, ${max}]`,
    (u, c) =>
      typeof u === "number" && Number.isInteger(u) && u >= min && u <= max
        ? t.success(u)
        : t.failure(u, c, `expected an integer in [${min}, ${max}], got ${describeValue(u)}`),
    (a) => a,
  );

/** A 32-bit signed integer, for axes and slice bounds (their shape rules check ranges). */
export const int32 = integer(-2_147_483_648, 2_147_483_647);

const SPECIAL_FLOATS: Readonly<Record<string, number>> = { NaN: Number.NaN, Infinity: Infinity, "-Infinity": -Infinity, "-0": -0 };

/** A float: a finite JSON number, or `"NaN"`, `"Infinity"`, `"-Infinity"`, `"-0"`. */
export const float: Codec<number> = makeCodec(
  "float",
  (u, c) => {
    if (typeof u === "number") {
      return Number.isFinite(u)
        ? t.success(u)
        : t.failure(u, c, `the number overflows a double; write "Infinity" or "-Infinity" if that is meant`);
    }
    if (typeof u === "string" && hasOwn(SPECIAL_FLOATS, u)) return t.success(SPECIAL_FLOATS[u]!);
    return t.failure(u, c, `expected a number (or "NaN", "Infinity", "-Infinity", "-0"), got ${describeValue(u)}`);
  },
  (a) => (Number.isNaN(a) ? "NaN" : a === Infinity ? "Infinity" : a === -Infinity ? "-Infinity" : Object.is(a, -0) ? "-0" : a),
);

export const boolean: Codec<boolean> = makeCodec(
  "boolean",
  (u, c) => (typeof u === "boolean" ? t.success(u) : t.failure(u, c, `expected true or false, got ${describeValue(u)}`)),
  (a) => a,
);

/** A string of at most `maxStringLength` characters, non-empty unless `allowEmpty`. */
export const boundedString = (what: string, allowEmpty = false): Codec<string> =>
  makeCodec(
    what,
    (u, c) => {
      if (typeof u !== "string") return t.failure(u, c, `expected ${what} (a string), got ${describeValue(u)}`);
      if (!allowEmpty && u.length === 0) return t.failure(u, c, `${what} must not be empty`);
      if (u.length > GRAPH_JSON_LIMITS.maxStringLength)
        return t.failure(u, c, `${what} has ${u.length} characters; the limit is ${GRAPH_JSON_LIMITS.maxStringLength}`);
      return t.success(u);
    },
    (a) => a,
  );

/** Exactly the string `value`. */
export const literal = <L extends string | number>(value: L): Codec<L> =>
  makeCodec(
    JSON.stringify(value),
    (u, c) => (u === value ? t.success(value) : t.failure(u, c, `expected ${JSON.stringify(value)}, got ${describeValue(u)}`)),
    (a) => a,
  );

/** One of a fixed list of strings (dtypes, ops). */
export const oneOf = <L extends string>(what: string, values: readonly L[]): Codec<L> => {
  const allowed = new Set<string>(values);
  const listed = values.length <= 12 ? `: one of ${values.join(", ")}` : "";
  return makeCodec(
    what,
    (u, c) =>
      typeof u === "string" && allowed.has(u)
        ? t.success(u as L)
        : t.failure(u, c, `${describeValue(u)} is not a known ${what}${listed}`),
    (a) => a,
  );
};

/** A field that may be absent. `null` is not absence: it is an error. */
export const optional = <A>(codec: Codec<A>): t.Type<A | undefined, Json | undefined, unknown> =>
  new t.Type<A | undefined, Json | undefined, unknown>(
    `${codec.name} (optional)`,
    (u): u is A | undefined => u === undefined || codec.is(u),
    (u, c) => (u === undefined ? t.success(undefined) : codec.validate(u, c)),
    (a) => (a === undefined ? undefined : codec.encode(a)),
  );

/** An array of at most `maxLength` items; the length is checked before any item. */
export const boundedArray = <A>(what: string, item: Codec<A>, maxLength: number): Codec<readonly A[]> =>
  makeCodec(
    what,
    (u, c) => {
      if (!Array.isArray(u)) return t.failure(u, c, `expected ${what} (an array), got ${describeValue(u)}`);
      if (u.length > maxLength) return t.failure(u, c, `${what} has ${u.length} entries; the limit is ${maxLength}`);
      const out = new Array<A>(u.length);
      for (let i = 0; i < u.length; i++) {
        const r = item.validate(u[i], t.appendContext(c, String(i), item, u[i]));
        if (E.isLeft(r)) return r;
        out[i] = r.right;
      }
      return t.success(out);
    },
    (a) => a.map((x) => item.encode(x)),
  );

const SYMBOLIC_DIM = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** A dim: an integer in [0, 2^31 - 1], or a symbolic name (an identifier of at most 64 characters). */
export const dim: Codec<RuntimeDim> = makeCodec(
  "dim",
  (u, c) => {
    if (typeof u === "number") {
      return Number.isInteger(u) && u >= 0 && u <= GRAPH_JSON_LIMITS.maxDim
        ? t.success(u)
        : t.failure(u, c, `dim ${describeValue(u)} is not an integer in [0, ${GRAPH_JSON_LIMITS.maxDim}]`);
    }
    if (typeof u === "string")
      return SYMBOLIC_DIM.test(u) ? t.success(u) : t.failure(u, c, `symbolic dim ${describeValue(u)} is not an identifier of at most 64 characters`);
    return t.failure(u, c, `expected a dim (an integer or a symbolic name), got ${describeValue(u)}`);
  },
  (a) => a,
);

const dims = boundedArray("a shape", dim, GRAPH_JSON_LIMITS.maxRank);

/** A shape: at most 32 dims, whose numeric dims multiply to at most 2^31 - 1 elements. */
export const shape: Codec<RuntimeShape> = makeCodec(
  "shape",
  (u, c) => {
    const r = dims.validate(u, c);
    if (E.isLeft(r)) return r;
    let elements = 1;
    for (const d of r.right) {
      if (typeof d === "number") elements *= d;
      if (elements > GRAPH_JSON_LIMITS.maxElements)
        return t.failure(u, c, `shape [${r.right.join(", ")}] has more than ${GRAPH_JSON_LIMITS.maxElements} elements (the limit)`);
    }
    return t.success(r.right);
  },
  (a) => [...a],
);

/** Codecs for every field of `T`; optional fields take `optional(...)` codecs. */
export type FieldCodecs<T> = { readonly [K in keyof T]-?: t.Type<T[K], Json | undefined, unknown> };

/**
 * A closed record: the listed fields (checked in the order given), and no others.
 * Absent optional fields stay absent in the result.
 */
export const closedRecord = <T extends object>(what: string, fields: FieldCodecs<T>): Codec<T> => {
  const keys = Object.keys(fields) as (keyof T & string)[];
  return makeCodec(
    what,
    (u, c) => {
      if (!isPlainObject(u)) return t.failure(u, c, `expected ${what} (an object), got ${describeValue(u)}`);
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const codec = fields[k];
        const present = hasOwn(u, k);
        const v = present ? u[k] : undefined;
        const ctx = t.appendContext(c, k, codec, v);
        if (!present && !codec.is(undefined)) return t.failure(undefined, ctx, `missing field (${what} needs ${requiredKeys(fields, keys)})`);
        const r = codec.validate(v, ctx);
        if (E.isLeft(r)) return r;
        if (r.right !== undefined) out[k] = r.right;
      }
      for (const k of Object.keys(u)) {
        if (!hasOwn(fields, k)) {
          const known = keys.length === 0 ? `${what} has no fields` : `${what} has ${keys.join(", ")}`;
          return t.failure(u[k], t.appendContext(c, k, t.unknown, u[k]), `unknown field (${known})`);
        }
      }
      return t.success(out as T);
    },
    (a) => {
      const out: Record<string, Json> = {};
      for (const k of keys) {
        const v = a[k];
        if (v === undefined) continue;
        const j = fields[k].encode(v);
        if (j !== undefined) out[k] = j;
      }
      return out;
    },
  );
};

const requiredKeys = <T>(fields: FieldCodecs<T>, keys: readonly (keyof T & string)[]): string =>
  keys.filter((k) => !fields[k].is(undefined)).join(", ");

/**
 * A union of closed records told apart by the string field `tag`; the member codec
 * validates the whole object, so errors name the member's fields.
 */
export const taggedUnion = <T extends object, Tag extends keyof T & string>(
  what: string,
  tag: Tag,
  members: { readonly [K in T[Tag] & string]: Codec<Extract<T, { readonly [P in Tag]: K }>> },
): Codec<T> => {
  const names = Object.keys(members);
  const listed = names.length <= 12 ? `: one of ${names.join(", ")}` : "";
  const memberOf = (name: string): Codec<T> | undefined =>
    hasOwn(members, name) ? (members[name as T[Tag] & string] as unknown as Codec<T>) : undefined;
  return makeCodec(
    what,
    (u, c) => {
      if (!isPlainObject(u)) return t.failure(u, c, `expected ${what} (an object), got ${describeValue(u)}`);
      const v = u[tag];
      const member = typeof v === "string" ? memberOf(v) : undefined;
      if (member === undefined) {
        const ctx = t.appendContext(c, tag, t.string, v);
        return v === undefined
          ? t.failure(v, ctx, `missing field (${what} needs a ${tag})`)
          : t.failure(v, ctx, `${describeValue(v)} is not a known ${tag}${listed}`);
      }
      return member.validate(u, c);
    },
    (a) => memberOf(String(a[tag]))!.encode(a),
  );
};

/** Where a validation error happened: `nodes[12].inputs[1]` (empty for the document itself). */
export const contextPath = (c: t.Context): string =>
  c
    .slice(1)
    .map((e) => (/^\d+$/.test(e.key) ? `[${e.key}]` : `.${e.key}`))
    .join("")
    .replace(/^\./, "");

/** The first io-ts error as a path and a message. */
export const firstError = (errors: t.Errors): { readonly path: string; readonly message: string } => {
  const e = errors[0];
  if (e === undefined) return { path: "", message: "invalid document" };
  const last = e.context[e.context.length - 1];
  return { path: contextPath(e.context), message: e.message ?? `expected ${last?.type.name ?? "a value"}, got ${describeValue(e.value)}` };
};
