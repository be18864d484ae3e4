/**
 * Type-level dtype rules: which dtypes each op accepts, mirroring the runtime rules in
 * `compiler/rules/shape.ts`, and the messages for a wrong or mismatched dtype.
 *
 * Takes dtype types; gives `never` (fine) or a message string. A dtype that is not a
 * single literal (`DType`, `FloatDType`) is unknown statically and passes every check.
 */
import type { DType, Op } from "../ops.js";
import type { ShowShape } from "./format.js";

/** What an op accepts: floats only, any dtype but bool, or any dtype. @example type C = OpDTypeClasses["exp"]; // "float" */
export type DTypeClass = "float" | "numeric" | "any";

type CompleteTable<T extends { readonly [K in Op]: DTypeClass }> = T;

/**
 * The dtype class of every op, one entry per op: adding an op to `Op` makes this a type
 * error until it has an entry. Leaves and casts take any dtype.
 * @example type C = OpDTypeClasses["relu"]; // "numeric": f32, f64 or i32
 */
export type OpDTypeClasses = CompleteTable<{
  input: "any";
  param: "any";
  constant: "any";
  neg: "numeric";
  abs: "numeric";
  sign: "numeric";
  exp: "float";
  log: "float";
  sqrt: "float";
  square: "numeric";
  tanh: "float";
  sigmoid: "float";
  relu: "numeric";
  gelu: "float";
  softplus: "float";
  sin: "float";
  cos: "float";
  erf: "float";
  add: "numeric";
  sub: "numeric";
  mul: "numeric";
  div: "float";
  pow: "float";
  maximum: "numeric";
  minimum: "numeric";
  mulNoNan: "float";
  less: "numeric";
  lessEqual: "numeric";
  greater: "numeric";
  greaterEqual: "numeric";
  equal: "any";
  notEqual: "any";
  where: "any";
  sum: "numeric";
  mean: "float";
  max: "numeric";
  min: "numeric";
  logsumexp: "float";
  argmax: "numeric";
  reshape: "any";
  transpose: "any";
  broadcastTo: "any";
  expandDims: "any";
  squeeze: "any";
  concat: "any";
  slice: "any";
  pad: "any";
  gather: "any";
  scatterAdd: "numeric";
  matmul: "float";
  softmax: "float";
  logSoftmax: "float";
  oneHot: "any";
  cast: "any";
  stopGradient: "any";
  conv2d: "float";
  conv2dBackpropInput: "float";
  conv2dBackpropFilter: "float";
  maxPool2d: "float";
  maxPool2dBackprop: "float";
  maxPool2dSelect: "float";
  avgPool2d: "float";
  avgPool2dBackprop: "float";
  randomUniform: "any";
}>;

/** True when `D` is exactly one dtype literal. */
export type IsSingleDType<D> = [D] extends ["f32"]
  ? true
  : [D] extends ["f64"]
    ? true
    : [D] extends ["i32"]
      ? true
      : [D] extends ["bool"]
        ? true
        : false;

type Rejected = { float: "i32" | "bool"; numeric: "bool"; any: never };
type ClassText = { float: "f32 or f64"; numeric: "f32, f64 or i32"; any: "any dtype" };

/**
 * The message when op `K` gets a tensor of dtype `D` it cannot take, else `never`.
 * @example type E = DTypeClassError<"exp", "i32", [3]>; // "⛔ exp: needs f32 or f64, got i32 [3]"
 */
export type DTypeClassError<K extends Op, D, S extends readonly unknown[]> = [D] extends [never]
  ? never
  : [D] extends [Rejected[OpDTypeClasses[K]]]
    ? `⛔ ${K}: needs ${ClassText[OpDTypeClasses[K]]}, got ${D & string} ${ShowShape<S>}`
    : never;

/**
 * The message when two operands have different known dtypes, else `never`.
 * @example type E = DTypeMismatchError<"add", "f32", "f64", [2], [2]>; // "⛔ add: dtypes differ: f32 (lhs [2]) vs f64 (rhs [2])"
 */
export type DTypeMismatchError<
  K extends string,
  DA,
  DB,
  SA extends readonly unknown[],
  SB extends readonly unknown[],
  What extends string = "dtypes",
  LA extends string = "lhs",
  LB extends string = "rhs",
> = [IsSingleDType<DA>, IsSingleDType<DB>] extends [true, true]
  ? [DA] extends [DB]
    ? never
    : `⛔ ${K}: ${What} differ: ${DA & string} (${LA} ${ShowShape<SA>}) vs ${DB & string} (${LB} ${ShowShape<SB>})`
  : never;

/** The message when an index operand is not i32, else `never`. */
export type IndexDTypeError<K extends string, D, S extends readonly unknown[], What extends string = "indices"> = IsSingleDType<D> extends true
  ? [D] extends ["i32"]
    ? never
    : `⛔ ${K}: ${What} must be i32, got ${D & string} ${ShowShape<S>}`
  : never;

/** The known one of two dtypes (the first when both or neither are known). */
export type KnownDType<DA extends DType, DB extends DType> = IsSingleDType<DA> extends true ? DA : IsSingleDType<DB> extends true ? DB : DA;
