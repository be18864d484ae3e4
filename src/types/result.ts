/**
 * How type-level rules reach the DSL signatures.
 *
 * A rule gives a shape tuple or an error message (a string literal type starting with
 * `⛔ <op>:`). `Check<Err, T>` is the parameter type of the offending argument: `T` when
 * there is no error, else the message, so the editor shows the message at that argument.
 * A failed op returns `Failed`, a tensor of dynamic shape and dtype that passes every
 * later check, so one mistake gives one error.
 *
 * Apart from `withStaticType` (an identity) everything here exists only for the checker.
 */
import type { DType } from "../ops.js";
import type { Tensor } from "../tensor.js";
import type { DynamicShape, Shape } from "./dims.js";
import type { ReadonlyShape } from "./shapeTuples.js";

/**
 * What a failed op returns: dynamic shape and dtype, so errors do not cascade.
 * @example const bad = matmul(x, W); // mistake reported at W; bad: Failed, and add(bad, 1) reports nothing
 */
export type Failed = Tensor<DynamicShape, DType>;

/**
 * The parameter type of an argument that a rule checks: `T` when `Err` is `never`, else
 * the message. Inference sees `T` through the conditional type.
 * @example declare function f<S extends Shape>(x: Check<S extends readonly [] ? "⛔ f: needs rank >= 1" : never, Tensor<S>>): void;
 */
export type Check<Err, T> = [Err] extends [never] ? T : Err;

/** The error of a rule result (`never` when it is a shape). */
export type ErrorOf<R> = R extends string ? R : never;

/** The first of several possible errors (each `never` when absent). */
export type FirstError<Es extends readonly unknown[]> = Es extends readonly [infer H, ...infer T]
  ? [H] extends [never]
    ? FirstError<T>
    : H
  : never;

/** The tensor an op returns: `Failed` if any of its checks failed, else shape `R` and dtype `D`. */
export type OpResult<Err, R, D extends DType> = [Err] extends [never]
  ? R extends string
    ? Failed
    : R extends Shape
      ? Tensor<ReadonlyShape<R>, D>
      : Failed
  : Failed;

/** A tensor operand or a plain number (a scalar of the other operand's dtype). @example add(x, 1); // 1 is an Operand */
export type Operand = Tensor<Shape, DType> | number;

/** The shape of an operand (`[]` for a number). */
export type OperandShape<A> = A extends Tensor<infer S extends Shape, DType> ? S : readonly [];

/** The dtype of an operand; a number takes `Other` (f32 when both are numbers). */
export type OperandDType<A, Other = "f32"> = A extends Tensor<Shape, infer D>
  ? D
  : Other extends Tensor<Shape, infer D>
    ? D
    : "f32";

/**
 * Gives a DSL op's built tensor its computed static type (the identity at run time).
 * The DSL bodies need it because the result type is a conditional type over the
 * arguments' types, which TypeScript cannot check against a concrete value.
 */
export const withStaticType = <T>(t: Tensor<Shape, DType>): T => t as T;
