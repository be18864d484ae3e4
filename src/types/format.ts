/**
 * Printing dims and shapes inside type-level error messages.
 *
 * Takes dims and shapes; gives string literal types in the same notation as runtime
 * messages (`formatShape`): `[batch, 784]`. Symbolic dims print by name, unknown
 * (`number`) dims as `number`, and a shape of unknown rank as `[...]`.
 */
import type { Sym } from "./dims.js";

/**
 * A dim as text: `784`, `batch` for `Sym<'batch'>`, `number` when unknown.
 * @example type T = ShowDim<Sym<"batch">>; // "batch"
 */
export type ShowDim<D> = number extends D
  ? "number"
  : D extends number
    ? `${D}`
    : D extends Sym<infer N>
      ? string extends N
        ? "symbolic"
        : N
      : "?";

type JoinDims<S extends readonly unknown[], Acc extends string = "", First extends boolean = true> = S extends readonly [
  infer H,
  ...infer T,
]
  ? JoinDims<T, First extends true ? ShowDim<H> : `${Acc}, ${ShowDim<H>}`, false>
  : Acc;

/**
 * A shape as text, like the runtime's `formatShape`.
 * @example type T = ShowShape<[Sym<"batch">, 784]>; // "[batch, 784]"
 */
export type ShowShape<S extends readonly unknown[]> = number extends S["length"] ? "[...]" : `[${JoinDims<S>}]`;

/** A list of numbers as text: `[0, -1]`. */
export type ShowList<L> = L extends readonly unknown[]
  ? number extends L["length"]
    ? "number[]"
    : `[${JoinNumbers<L>}]`
  : L extends number
    ? `${L}`
    : "undefined";

type JoinNumbers<S extends readonly unknown[], Acc extends string = "", First extends boolean = true> = S extends readonly [
  infer H,
  ...infer T,
]
  ? JoinNumbers<T, First extends true ? ShowNumber<H> : `${Acc}, ${ShowNumber<H>}`, false>
  : Acc;
type ShowNumber<N> = N extends number ? (number extends N ? "number" : `${N}`) : N extends null ? "null" : "?";
