/**
 * Feed validation and binding of symbolic dims.
 *
 * Takes the leaves (inputs and params) of the graph being run and the user's feeds,
 * keyed by leaf name. Returns, as an Either, the size bound to every symbolic dim, or a
 * `FeedError` naming the feed, its declared shape (symbolic names kept), the shape fed
 * and the leaf's source location. Checks: every leaf is fed, no feed is unused (unless
 * allowed), each feed is a well-formed value (shape of non-negative integers, typed array
 * of the dtype's class holding exactly that many elements), dtype and rank match, concrete
 * dims match, and each symbolic dim has one size across all feeds. Pure.
 */
import * as E from "fp-ts/lib/Either.js";
import { Op, type DType, type RuntimeShape } from "../src/ops.js";
import type { Node } from "../src/graph/node.js";
import { formatLoc } from "../src/graph/location.js";
import { formatShape } from "../src/graph/shapes.js";
import { ValidationError } from "../src/errors.js";
import type { TensorValue } from "./value.js";

/** The size bound to each symbolic dim name. */
export type DimBindings = ReadonlyMap<string, number>;

export type FeedProblem = "missing" | "extra" | "malformed" | "dtype" | "rank" | "dim" | "conflict" | "nonFinite";

/**
 * A feed does not fit the graph. `feed` is the leaf name (the JSON-style path is
 * `feeds.<name>`); `problem` says what kind of mismatch it is.
 * @example
 * try { evaluate(outputs, feeds) } catch (e) { if (e instanceof FeedError && e.problem === "missing") ... }
 */
export class FeedError extends ValidationError {
  // `name` stays "ValidationError" (the base fixes it); tell them apart with instanceof or `problem`.
  constructor(
    readonly problem: FeedProblem,
    readonly feed: string,
    message: string,
  ) {
    super(message, `feeds.${feed}`);
  }
}

export interface BindOptions {
  /** Accept feeds that name no leaf of the graph (default false: usually a misspelling). */
  readonly allowExtraFeeds?: boolean;
  /** Checked mode: reject float feeds holding NaN or ±Infinity, naming the first such element. */
  readonly checkFinite?: boolean;
}

/** Row-major index -> `[i, j, ...]` text. */
const indexText = (flat: number, shape: readonly number[]): string => {
  const idx: number[] = [];
  for (let ax = shape.length - 1; ax >= 0; ax--) {
    const d = shape[ax]!;
    idx.unshift(d === 0 ? 0 : flat % d);
    flat = d === 0 ? 0 : Math.floor(flat / d);
  }
  return `[${idx.join(", ")}]`;
};

const firstNonFinite = (value: TensorValue): number => {
  if (value.dtype !== "f32" && value.dtype !== "f64") return -1;
  const data = value.data;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
};

type Leaf = Extract<Node, { op: typeof Op.Input | typeof Op.Param }>;

const isLeaf = (n: Node): n is Leaf => n.op === Op.Input || n.op === Op.Param;

const ARRAY_OF: { readonly [D in DType]: string } = { f32: "Float32Array", f64: "Float64Array", i32: "Int32Array", bool: "Uint8Array" };

const arrayMatches = (dtype: DType, data: unknown): boolean => {
  switch (dtype) {
    case "f32":
      return data instanceof Float32Array;
    case "f64":
      return data instanceof Float64Array;
    case "i32":
      return data instanceof Int32Array;
    case "bool":
      return data instanceof Uint8Array;
  }
};

const arrayName = (data: unknown): string =>
  data !== null && typeof data === "object" ? (data.constructor?.name ?? "object") : data === null ? "null" : typeof data;

/** "input 'x' (declared f32[batch, 784] at model.ts:12)" */
export const describeLeaf = (leaf: Leaf): string =>
  `${leaf.op} '${leaf.params.name}' (declared ${leaf.dtype}${formatShape(leaf.shape)} at ${formatLoc(leaf.loc)})`;

const fedText = (v: TensorValue): string => `${v.dtype}${formatShape(v.shape)}`;

/** Shape and data problems of a value, independent of any graph. */
const malformation = (v: unknown): string | undefined => {
  if (v === null || typeof v !== "object") return `is ${v === null ? "null" : typeof v}, not a tensor value { dtype, shape, data }`;
  const { dtype, shape, data } = v as Partial<Record<"dtype" | "shape" | "data", unknown>>;
  if (typeof dtype !== "string" || !(dtype in ARRAY_OF)) return `has dtype ${JSON.stringify(dtype)}, expected one of f32, f64, i32, bool`;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0))
    return `has shape ${JSON.stringify(shape)}: a shape is an array of non-negative integers`;
  if (!arrayMatches(dtype as DType, data)) return `holds a ${arrayName(data)} for dtype ${dtype}, which needs a ${ARRAY_OF[dtype as DType]}`;
  const n = (shape as number[]).reduce((a, b) => a * b, 1);
  const length = (data as ArrayLike<number>).length;
  return length === n ? undefined : `holds ${length} elements but its shape ${formatShape(shape as number[])} needs ${n}`;
};

interface Binder {
  readonly size: number;
  readonly leaf: Leaf;
  readonly fed: TensorValue;
}

/**
 * Validates `feeds` against the graph's leaves and binds its symbolic dims.
 * @example bindFeeds(graphInputs(g), { x: tensorValue("f32", [8, 2], data) }) // Right(Map { batch => 8 })
 */
export const bindFeeds = (
  leaves: readonly Node[],
  feeds: Readonly<Record<string, TensorValue>>,
  options: BindOptions = {},
): E.Either<FeedError, DimBindings> => {
  const fed = feeds as Readonly<Record<string, TensorValue | undefined>>;
  const leafNodes = leaves.filter(isLeaf);
  const names = new Set(leafNodes.map((l) => l.params.name));
  if (options.allowExtraFeeds !== true) {
    const extra = Object.keys(feeds).find((k) => !names.has(k));
    if (extra !== undefined) {
      const known = [...names].sort().map((n) => `'${n}'`).join(", ");
      return E.left(new FeedError("extra", extra, `feed '${extra}' names no input or param of the graph (its leaves are ${known === "" ? "none" : known})`));
    }
  }
  const binders = new Map<string, Binder>();
  for (const leaf of leafNodes) {
    const name = leaf.params.name;
    const value = Object.prototype.hasOwnProperty.call(fed, name) ? fed[name] : undefined;
    if (value === undefined) {
      const given = Object.keys(feeds).sort().map((n) => `'${n}'`).join(", ");
      return E.left(new FeedError("missing", name, `missing feed for ${describeLeaf(leaf)}; fed: ${given === "" ? "nothing" : given}`));
    }
    const bad = malformation(value);
    if (bad !== undefined) return E.left(new FeedError("malformed", name, `the feed for ${describeLeaf(leaf)} ${bad}`));
    if (value.dtype !== leaf.dtype) return E.left(new FeedError("dtype", name, `${describeLeaf(leaf)} was fed ${fedText(value)}: dtype must be ${leaf.dtype}`));
    if (value.shape.length !== leaf.shape.length)
      return E.left(new FeedError("rank", name, `${describeLeaf(leaf)} was fed ${fedText(value)}: rank must be ${leaf.shape.length}, got ${value.shape.length}`));
    if (options.checkFinite === true) {
      const at = firstNonFinite(value);
      if (at >= 0)
        return E.left(new FeedError("nonFinite", name, `${describeLeaf(leaf)} was fed ${fedText(value)} holding ${value.data[at]} at ${indexText(at, value.shape)} (checked mode rejects NaN and Infinity)`));
    }
    for (let ax = 0; ax < leaf.shape.length; ax++) {
      const want = leaf.shape[ax]!;
      const got = value.shape[ax]!;
      if (typeof want === "number") {
        if (want !== got) return E.left(new FeedError("dim", name, `${describeLeaf(leaf)} was fed ${fedText(value)}: dim ${ax} must be ${want}, got ${got}`));
        continue;
      }
      const prior = binders.get(want);
      if (prior === undefined) binders.set(want, { size: got, leaf, fed: value });
      else if (prior.size !== got)
        return E.left(
          new FeedError(
            "conflict",
            name,
            `symbolic dim '${want}' is bound to ${prior.size} by ${describeLeaf(prior.leaf)}, fed ${fedText(prior.fed)}, ` +
              `and to ${got} by ${describeLeaf(leaf)}, fed ${fedText(value)}`,
          ),
        );
    }
  }
  return E.right(new Map([...binders].map(([dim, b]) => [dim, b.size])));
};

/** `bindFeeds` for the public boundary: throws the FeedError. */
export const bindFeedsOrThrow = (leaves: readonly Node[], feeds: Readonly<Record<string, TensorValue>>, options: BindOptions = {}): DimBindings => {
  const r = bindFeeds(leaves, feeds, options);
  if (E.isLeft(r)) throw r.left;
  return r.right;
};

/**
 * Substitutes bound sizes; returns the first unbound name instead when there is one.
 * @example concreteShape(["batch", 3], new Map([["batch", 8]])) // Right([8, 3])
 */
export const concreteShape = (shape: RuntimeShape, bindings: DimBindings): E.Either<string, number[]> => {
  const out: number[] = [];
  for (const d of shape) {
    if (typeof d === "number") out.push(d);
    else {
      const size = bindings.get(d);
      if (size === undefined) return E.left(d);
      out.push(size);
    }
  }
  return E.right(out);
};

/** "batch=8, seq=3" for messages. */
export const formatBindings = (bindings: DimBindings): string =>
  bindings.size === 0 ? "no symbolic dims" : [...bindings].map(([k, v]) => `${k}=${v}`).join(", ");
