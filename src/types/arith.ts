/**
 * Type-level arithmetic on non-negative integer literals, for dim sizes.
 *
 * Takes number literals; gives number literals (or `never` when an operand is not a
 * non-negative integer literal). Tuple-length arithmetic dies above 9,999 elements
 * (TS2799), so sizes such as `224 * 224 * 3` are computed on decimal digit strings with
 * the lookup tables below, least significant digit first. Every recursion here is
 * tail-recursive and runs once per digit, so 15-digit sizes are cheap.
 */

type Digit = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9";
type Bit = 0 | 1;

interface DigitIndex {
  "0": 0;
  "1": 1;
  "2": 2;
  "3": 3;
  "4": 4;
  "5": 5;
  "6": 6;
  "7": 7;
  "8": 8;
  "9": 9;
}
interface Increment {
  "0": "1";
  "1": "2";
  "2": "3";
  "3": "4";
  "4": "5";
  "5": "6";
  "6": "7";
  "7": "8";
  "8": "9";
  "9": "0";
}

// Two-digit table entries are written high digit first, e.g. 7 + 8 = "15".
/** a + b as two digits: carry, then digit. */
interface AddTable {
  "0": ["00", "01", "02", "03", "04", "05", "06", "07", "08", "09"];
  "1": ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10"];
  "2": ["02", "03", "04", "05", "06", "07", "08", "09", "10", "11"];
  "3": ["03", "04", "05", "06", "07", "08", "09", "10", "11", "12"];
  "4": ["04", "05", "06", "07", "08", "09", "10", "11", "12", "13"];
  "5": ["05", "06", "07", "08", "09", "10", "11", "12", "13", "14"];
  "6": ["06", "07", "08", "09", "10", "11", "12", "13", "14", "15"];
  "7": ["07", "08", "09", "10", "11", "12", "13", "14", "15", "16"];
  "8": ["08", "09", "10", "11", "12", "13", "14", "15", "16", "17"];
  "9": ["09", "10", "11", "12", "13", "14", "15", "16", "17", "18"];
}
/** a * b as two digits: high, then low. */
interface MulTable {
  "0": ["00", "00", "00", "00", "00", "00", "00", "00", "00", "00"];
  "1": ["00", "01", "02", "03", "04", "05", "06", "07", "08", "09"];
  "2": ["00", "02", "04", "06", "08", "10", "12", "14", "16", "18"];
  "3": ["00", "03", "06", "09", "12", "15", "18", "21", "24", "27"];
  "4": ["00", "04", "08", "12", "16", "20", "24", "28", "32", "36"];
  "5": ["00", "05", "10", "15", "20", "25", "30", "35", "40", "45"];
  "6": ["00", "06", "12", "18", "24", "30", "36", "42", "48", "54"];
  "7": ["00", "07", "14", "21", "28", "35", "42", "49", "56", "63"];
  "8": ["00", "08", "16", "24", "32", "40", "48", "56", "64", "72"];
  "9": ["00", "09", "18", "27", "36", "45", "54", "63", "72", "81"];
}
/** a - b as borrow (0 or 1), then digit ((10 + a - b) mod 10 when borrowing). */
interface SubTable {
  "0": ["00", "19", "18", "17", "16", "15", "14", "13", "12", "11"];
  "1": ["01", "00", "19", "18", "17", "16", "15", "14", "13", "12"];
  "2": ["02", "01", "00", "19", "18", "17", "16", "15", "14", "13"];
  "3": ["03", "02", "01", "00", "19", "18", "17", "16", "15", "14"];
  "4": ["04", "03", "02", "01", "00", "19", "18", "17", "16", "15"];
  "5": ["05", "04", "03", "02", "01", "00", "19", "18", "17", "16"];
  "6": ["06", "05", "04", "03", "02", "01", "00", "19", "18", "17"];
  "7": ["07", "06", "05", "04", "03", "02", "01", "00", "19", "18"];
  "8": ["08", "07", "06", "05", "04", "03", "02", "01", "00", "19"];
  "9": ["09", "08", "07", "06", "05", "04", "03", "02", "01", "00"];
}
/** How a compares with b. */
interface CmpTable {
  "0": ["eq", "lt", "lt", "lt", "lt", "lt", "lt", "lt", "lt", "lt"];
  "1": ["gt", "eq", "lt", "lt", "lt", "lt", "lt", "lt", "lt", "lt"];
  "2": ["gt", "gt", "eq", "lt", "lt", "lt", "lt", "lt", "lt", "lt"];
  "3": ["gt", "gt", "gt", "eq", "lt", "lt", "lt", "lt", "lt", "lt"];
  "4": ["gt", "gt", "gt", "gt", "eq", "lt", "lt", "lt", "lt", "lt"];
  "5": ["gt", "gt", "gt", "gt", "gt", "eq", "lt", "lt", "lt", "lt"];
  "6": ["gt", "gt", "gt", "gt", "gt", "gt", "eq", "lt", "lt", "lt"];
  "7": ["gt", "gt", "gt", "gt", "gt", "gt", "gt", "eq", "lt", "lt"];
  "8": ["gt", "gt", "gt", "gt", "gt", "gt", "gt", "gt", "eq", "lt"];
  "9": ["gt", "gt", "gt", "gt", "gt", "gt", "gt", "gt", "gt", "eq"];
}

type Entry<T extends { readonly [D in Digit]: readonly string[] }, A extends Digit, B extends Digit> = T[A][DigitIndex[B]];
/** A two-digit table entry as [high, low]. */
type Pair<S> = S extends `${infer H extends Digit}${infer L extends Digit}` ? [H, L] : never;

type Head<S extends string> = S extends `${infer H extends Digit}${string}` ? H : "0";
type Tail<S extends string> = S extends `${Digit}${infer T}` ? T : "";

/** Reverses a string (digit strings are at most ~16 characters). */
type Reverse<S extends string, Acc extends string = ""> = S extends `${infer H}${infer T}` ? Reverse<T, `${H}${Acc}`> : Acc;

// ---- reversed digit strings (least significant digit first) --------------------------

/** a + b + carry as [carry out, digit]. */
type AddDigits<A extends Digit, B extends Digit, C extends Bit> = C extends 0
  ? Pair<Entry<AddTable, A, B>>
  : Pair<Entry<AddTable, A, B>> extends [infer K extends Digit, infer D extends Digit]
    ? D extends "9"
      ? ["1", "0"]
      : [K, Increment[D]]
    : never;

type AddR<A extends string, B extends string, C extends Bit = 0, Acc extends string = ""> = [A, B] extends ["", ""]
  ? C extends 1
    ? `${Acc}1`
    : Acc
  : AddDigits<Head<A>, Head<B>, C> extends [infer K extends Digit, infer D extends Digit]
    ? AddR<Tail<A>, Tail<B>, K extends "1" ? 1 : 0, `${Acc}${D}`>
    : never;

/** A (reversed) times one digit; `C` is the carry digit. */
type MulDigitR<A extends string, B extends Digit, C extends Digit = "0", Acc extends string = ""> = A extends ""
  ? C extends "0"
    ? Acc
    : `${Acc}${C}`
  : Pair<Entry<MulTable, Head<A>, B>> extends [infer H extends Digit, infer L extends Digit]
    ? Pair<Entry<AddTable, L, C>> extends [infer K extends Digit, infer D extends Digit]
      ? MulDigitR<Tail<A>, B, K extends "1" ? Increment[H] : H, `${Acc}${D}`>
      : never
    : never;

type MulR<A extends string, B extends string, Shift extends string = "", Acc extends string = "0"> = A extends "0"
  ? "0"
  : B extends ""
    ? Acc
    : Head<B> extends "0"
      ? MulR<A, Tail<B>, `${Shift}0`, Acc>
      : MulDigitR<A, Head<B>> extends infer P extends string
        ? AddR<Acc, `${Shift}${P}`> extends infer Sum extends string
          ? MulR<A, Tail<B>, `${Shift}0`, Sum>
          : never
        : never;

type Ordering = "lt" | "eq" | "gt";
type CmpR<A extends string, B extends string, Res extends Ordering = "eq"> = [A, B] extends ["", ""]
  ? Res
  : A extends ""
    ? "lt"
    : B extends ""
      ? "gt"
      : CmpR<Tail<A>, Tail<B>, Entry<CmpTable, Head<A>, Head<B>> extends "eq" ? Res : Entry<CmpTable, Head<A>, Head<B>> & Ordering>;

/** Drops high-order zeros (trailing in reversed form). */
type TrimR<S extends string> = S extends `${infer R}0` ? (R extends "" ? "0" : TrimR<R>) : S;

/** a - b - borrow as [borrow out, digit]. */
type SubDigits<A extends Digit, B extends Digit, Borrow extends Bit> = Borrow extends 0
  ? Pair<Entry<SubTable, A, B>>
  : Pair<Entry<SubTable, A, B>> extends [infer K extends Digit, infer D extends Digit]
    ? Pair<Entry<SubTable, D, "1">> extends [infer K2 extends Digit, infer D2 extends Digit]
      ? [K extends "1" ? "1" : K2, D2]
      : never
    : never;

/** A - B for A >= B (reversed). */
type SubR<A extends string, B extends string, Borrow extends Bit = 0, Acc extends string = ""> = A extends ""
  ? TrimR<Acc>
  : SubDigits<Head<A>, Head<B>, Borrow> extends [infer K extends Digit, infer D extends Digit]
    ? SubR<Tail<A>, Tail<B>, K extends "1" ? 1 : 0, `${Acc}${D}`>
    : never;

type Multiples = ["9", "8", "7", "6", "5", "4", "3", "2", "1"];
/** The largest digit q with B*q <= R, and R - B*q (all reversed). */
type QuotientDigit<R extends string, B extends string, Ks extends readonly Digit[] = Multiples> = Ks extends readonly [
  infer K extends Digit,
  ...infer Rest extends Digit[],
]
  ? MulDigitR<B, K> extends infer P extends string
    ? CmpR<P, R> extends "gt"
      ? QuotientDigit<R, B, Rest>
      : [K, SubR<R, P>]
    : never
  : ["0", R];

/** Long division of A (most significant digit first) by B (reversed): [quotient, remainder], both reversed. */
type DivModR<A extends string, B extends string, Rem extends string = "0", Q extends string = ""> = A extends `${infer H extends Digit}${infer T}`
  ? QuotientDigit<Rem extends "0" ? H : `${H}${Rem}`, B> extends [infer K extends Digit, infer R extends string]
    ? DivModR<T, B, R, `${K}${Q}`>
    : never
  : [TrimR<Q>, Rem];

// ---- number literals -----------------------------------------------------------------

/** True for a non-negative integer literal (not `number`, not 1.5, not -3, not 1e21). */
export type IsNatural<N> = N extends number
  ? number extends N
    ? false
    : `${N}` extends `${string}${"." | "-" | "e"}${string}`
      ? false
      : true
  : false;

type ToR<N extends number> = Reverse<`${N}`>;
type FromR<R extends string> = Reverse<R> extends `${infer N extends number}` ? N : never;
type Naturals<A, B> = [IsNatural<A>, IsNatural<B>] extends [true, true] ? true : false;

/** a + b. @example type S = AddNat<150000, 528>; // 150528 */
export type AddNat<A extends number, B extends number> = Naturals<A, B> extends true
  ? AddR<ToR<A>, ToR<B>> extends infer R extends string
    ? FromR<R>
    : never
  : never;
/** a * b. @example type P = MulNat<50176, 3>; // 150528 */
export type MulNat<A extends number, B extends number> = Naturals<A, B> extends true
  ? MulR<ToR<A>, ToR<B>> extends infer R extends string
    ? FromR<R>
    : never
  : never;
/** a - b, or `never` when b > a. @example type D = SubNat<28, 3>; // 25 */
export type SubNat<A extends number, B extends number> = Naturals<A, B> extends true
  ? CmpR<ToR<A>, ToR<B>> extends "lt"
    ? never
    : SubR<ToR<A>, ToR<B>> extends infer R extends string
      ? FromR<R>
      : never
  : never;
/** Compares a and b. @example type C = CompareNat<9, 10>; // "lt" */
export type CompareNat<A extends number, B extends number> = Naturals<A, B> extends true ? CmpR<ToR<A>, ToR<B>> : never;
/** ceil(a / b) for b > 0. @example type Q = DivCeilNat<10, 3>; // 4 */
export type DivCeilNat<A extends number, B extends number> = Naturals<A, B> extends true
  ? B extends 0
    ? never
    : DivModR<`${A}`, ToR<B>> extends [infer Q extends string, infer R extends string]
      ? R extends "0"
        ? FromR<Q>
        : AddR<Q, "1"> extends infer Q1 extends string
          ? FromR<Q1>
          : never
      : never
  : never;

/** floor(a / b) for b > 0. @example type Q = DivFloorNat<25, 2>; // 12 */
export type DivFloorNat<A extends number, B extends number> = Naturals<A, B> extends true
  ? B extends 0
    ? never
    : DivModR<`${A}`, ToR<B>> extends [infer Q extends string, string]
      ? FromR<Q>
      : never
  : never;

/** Product of a tuple of natural literals (1 for `[]`). @example type N = ProductNat<[224, 224, 3]>; // 150528 */
export type ProductNat<Ns extends readonly number[], Acc extends string = "1"> = Ns extends readonly [
  infer H extends number,
  ...infer T extends number[],
]
  ? IsNatural<H> extends true
    ? MulR<Acc, ToR<H>> extends infer P extends string
      ? ProductNat<T, P>
      : never
    : never
  : FromR<Acc>;

/** Sum of a tuple of natural literals (0 for `[]`). @example type N = SumNat<[1, 3, 2]>; // 6 */
export type SumNat<Ns extends readonly number[], Acc extends string = "0"> = Ns extends readonly [
  infer H extends number,
  ...infer T extends number[],
]
  ? IsNatural<H> extends true
    ? AddR<Acc, ToR<H>> extends infer P extends string
      ? SumNat<T, P>
      : never
    : never
  : FromR<Acc>;
