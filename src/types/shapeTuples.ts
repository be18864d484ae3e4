/**
 * Type-level helpers over dims and shape tuples: classifying dims, comparing them,
 * normalizing axes, and inserting or removing entries.
 *
 * Takes dims (number literals, `Sym<'name'>`, or `number`) and shape tuples; gives
 * tuples or literal results. A shape whose length is not a literal (`readonly Dim[]`)
 * has unknown rank: callers treat it as dynamic and let every check pass. All
 * recursions are tail-recursive and bounded by the rank.
 */
import type { Dim, Shape, Sym } from "./dims.js";

/** True when the rank of `S` is known statically (a tuple, not an array type). */
export type IsStatic<S extends readonly unknown[]> = number extends S["length"] ? false : true;

/** True when nothing is known about a dim: `number`, `Dim`, or `Sym<string>`. */
export type IsUnknownDim<D> = number extends D ? true : D extends Sym<infer N> ? (string extends N ? true : false) : false;

/** True for a named symbolic dim such as `Sym<'batch'>`. */
export type IsSymDim<D> = IsUnknownDim<D> extends true ? false : D extends Sym<string> ? true : false;

/** True for a number literal dim. */
export type IsLiteralDim<D> = IsUnknownDim<D> extends true ? false : D extends number ? true : false;

/** Exact type identity of two dims. */
export type SameDim<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Statically compatible dims: identical, or at least one unknown. */
export type DimCompatible<A, B> = IsUnknownDim<A> extends true ? true : IsUnknownDim<B> extends true ? true : SameDim<A, B>;

/** A shape as a readonly tuple, the form `input`/`param` give (`readonly [batch, 10]`), so all results print alike. */
export type ReadonlyShape<S extends Shape> = readonly [...S];

/** The indices of a tuple as a union of number literals: `Indices<[a, b]>` = `0 | 1`. */
export type Indices<S extends readonly unknown[], Acc extends unknown[] = [], Out = never> = S extends readonly [unknown, ...infer T]
  ? Indices<T, [...Acc, 0], Out | Acc["length"]>
  : Out;

type CountFromEnd<S extends readonly unknown[], P extends number, Dropped extends unknown[] = []> = Dropped["length"] extends P
  ? S["length"]
  : S extends readonly [...infer Init, unknown]
    ? CountFromEnd<Init, P, [...Dropped, 0]>
    : never;

/**
 * A literal axis of `S` in `[0, rank)`: negative axes count from the end; `never` when
 * out of range; `number` when the axis is not a literal.
 * @example type A = NormalizeAxis<[2, 3, 4], -1>; // 2
 */
export type NormalizeAxis<S extends readonly unknown[], Ax extends number> = number extends Ax
  ? number
  : `${Ax}` extends `-${infer P extends number}`
    ? CountFromEnd<S, P>
    : `${Ax}` extends Exclude<keyof S, keyof unknown[]>
      ? Ax
      : never;

/** True when a normalized axis is out of range. */
export type IsOutOfRange<I> = [I] extends [never] ? true : false;

/**
 * Normalizes a list of literal axes: the normalized tuple; `"out"` with the bad axis
 * when one is out of range; `"unknown"` when the list or an axis is not a literal.
 */
export type NormalizeAxisList<S extends readonly unknown[], L extends readonly number[], Acc extends number[] = []> =
  number extends L["length"]
    ? "unknown"
    : L extends readonly [infer H extends number, ...infer T extends number[]]
      ? NormalizeAxis<S, H> extends infer I
        ? [I] extends [never]
          ? ["out", H]
          : number extends I
            ? "unknown"
            : NormalizeAxisList<S, T, [...Acc, I & number]>
        : never
      : Acc;

/** True when a tuple of numbers repeats an entry. */
export type HasDuplicate<L extends readonly unknown[], Seen = never> = L extends readonly [infer H, ...infer T]
  ? [H] extends [Seen]
    ? true
    : HasDuplicate<T, Seen | H>
  : false;

/** `S` without the entries at the given indices (a union of literals). */
export type RemoveAt<S extends readonly unknown[], Drop, I extends unknown[] = [], Acc extends unknown[] = []> = S extends readonly [
  infer H,
  ...infer T,
]
  ? RemoveAt<T, Drop, [...I, 0], I["length"] extends Drop ? Acc : [...Acc, H]>
  : Acc;

/** `S` with the entries at the given indices replaced by `V`. */
export type ReplaceAt<S extends readonly unknown[], At, V, I extends unknown[] = [], Acc extends unknown[] = []> = S extends readonly [
  infer H,
  ...infer T,
]
  ? ReplaceAt<T, At, V, [...I, 0], [...Acc, I["length"] extends At ? V : H]>
  : Acc;

/** The first `N` entries of `S`. */
export type TakeFirst<S extends readonly unknown[], N extends number, Acc extends unknown[] = []> = Acc["length"] extends N
  ? Acc
  : S extends readonly [infer H, ...infer T]
    ? TakeFirst<T, N, [...Acc, H]>
    : Acc;

/** `S` without its first `N` entries. */
export type DropFirst<S extends readonly unknown[], N extends number, Count extends unknown[] = []> = Count["length"] extends N
  ? S
  : S extends readonly [unknown, ...infer T]
    ? DropFirst<T, N, [...Count, 0]>
    : [];

/** The entry at index `I` (a literal) of a tuple. */
export type At<S extends readonly unknown[], I extends number> = S[I];

/** The last dim of a shape (`never` for rank 0). */
export type LastDim<S extends readonly unknown[]> = S extends readonly [...unknown[], infer L] ? L : never;

/** Reverses a tuple. */
export type ReverseTuple<S extends readonly unknown[], Acc extends unknown[] = []> = S extends readonly [infer H, ...infer T]
  ? ReverseTuple<T, [H, ...Acc]>
  : Acc;

/** True when any dim of the shape is unknown (`number`). */
export type HasUnknownDim<S extends readonly unknown[]> = S extends readonly [infer H, ...infer T]
  ? IsUnknownDim<H> extends true
    ? true
    : HasUnknownDim<T>
  : false;

/** The dims of a shape that are symbolic names. */
export type SymDims<S extends readonly unknown[], Acc extends Dim[] = []> = S extends readonly [infer H extends Dim, ...infer T]
  ? SymDims<T, IsSymDim<H> extends true ? [...Acc, H] : Acc>
  : Acc;

/** The dims of a shape that are number literals. */
export type LiteralDims<S extends readonly unknown[], Acc extends number[] = []> = S extends readonly [infer H, ...infer T]
  ? LiteralDims<T, IsLiteralDim<H> extends true ? [...Acc, H & number] : Acc>
  : Acc;

/** The index of the first dim that is not a natural number literal, a name, or `number`, else `never`. */
export type FirstInvalidDim<S extends readonly unknown[], I extends unknown[] = []> = S extends readonly [infer H, ...infer T]
  ? IsUnknownDim<H> extends true
    ? FirstInvalidDim<T, [...I, 0]>
    : H extends number
      ? `${H}` extends `${string}${"." | "-" | "e"}${string}`
        ? I["length"]
        : FirstInvalidDim<T, [...I, 0]>
      : FirstInvalidDim<T, [...I, 0]>
  : never;
