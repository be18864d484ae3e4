/**
 * Runtime shape helpers shared by shape rules, kernels and dumps.
 * Dims are numbers or symbolic names (strings). All functions are pure.
 */
import type { RuntimeDim, RuntimeShape } from "../ops.js";

export const formatDim = (d: RuntimeDim): string => String(d);
export const formatShape = (s: RuntimeShape): string => `[${s.map(formatDim).join(", ")}]`;
export const compactShape = (s: RuntimeShape): string => `[${s.map(formatDim).join(",")}]`;

export const dimsEqual = (a: RuntimeDim, b: RuntimeDim): boolean => a === b;
export const shapesEqual = (a: RuntimeShape, b: RuntimeShape): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

export const isConcrete = (s: RuntimeShape): s is readonly number[] => s.every((d) => typeof d === "number");

/** Number of elements of a concrete shape. */
export const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Row-major strides of a concrete shape. */
export const stridesOf = (s: readonly number[]): number[] => {
  const st = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s[i] ?? 1;
  }
  return st;
};

/**
 * Element count as (product of numeric dims, sorted symbolic names), so that
 * [batch, 28, 28] and [batch, 784] compare equal without knowing batch.
 */
export const symbolicSize = (s: RuntimeShape): { readonly n: number; readonly syms: string } => {
  let n = 1;
  const syms: string[] = [];
  for (const d of s) {
    if (typeof d === "number") n *= d;
    else syms.push(d);
  }
  return { n, syms: syms.sort().join("*") };
};

/** NumPy broadcasting; returns the failing dim pair on mismatch. */
export const broadcastShapes = (
  a: RuntimeShape,
  b: RuntimeShape,
): { ok: true; shape: RuntimeShape } | { ok: false; axisFromEnd: number; da: RuntimeDim; db: RuntimeDim } => {
  const rank = Math.max(a.length, b.length);
  const out: RuntimeDim[] = new Array<RuntimeDim>(rank);
  for (let i = 1; i <= rank; i++) {
    const da = i <= a.length ? a[a.length - i]! : 1;
    const db = i <= b.length ? b[b.length - i]! : 1;
    if (da === db || db === 1) out[rank - i] = da;
    else if (da === 1) out[rank - i] = db;
    else return { ok: false, axisFromEnd: i, da, db };
  }
  return { ok: true, shape: out };
};

/** Axis in [-rank, rank) to [0, rank), or undefined when out of range. */
export const normalizeAxis = (axis: number, rank: number): number | undefined =>
  Number.isInteger(axis) && axis >= -rank && axis < rank ? (axis < 0 ? axis + rank : axis) : undefined;

/** Substitutes bound values for symbolic dims; unbound names stay. */
export const bindShape = (s: RuntimeShape, bindings: ReadonlyMap<string, number>): RuntimeShape =>
  s.map((d) => (typeof d === "string" ? (bindings.get(d) ?? d) : d));
