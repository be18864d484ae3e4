/**
 * Type-level dims and shapes.
 *
 * A dim is a number literal (`784`), a named symbolic dim (`Sym<'batch'>`), or plain
 * `number` (unknown statically, checked at run time). At run time a symbolic dim is its
 * name, a string.
 */

declare const symTag: unique symbol;

/** A named symbolic dim, such as the batch size, bound when a program runs. */
export interface Sym<N extends string> {
  readonly [symTag]: N;
}

export type Dim = number | Sym<string>;
export type Shape = readonly Dim[];
/** The shape of a tensor whose shape is known only at run time. */
export type DynamicShape = readonly Dim[];
