/**
 * The type-level dtype table (`OpDTypeClasses`, used for compile-time errors) agrees
 * with the runtime shape rules: for every elementwise op and reduction, the runtime
 * rule accepts i32 and bool inputs exactly when the static class does.
 */
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { inferShape } from "../../compiler/rules/shape.js";
import { BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS, type DType, type Op, type OpParams } from "../../src/ops.js";
import type { DTypeClass, OpDTypeClasses } from "../../src/types/dtypes.js";

type Checked = (typeof UNARY_OPS)[number] | (typeof BINARY_OPS)[number] | (typeof COMPARE_OPS)[number] | (typeof REDUCE_OPS)[number];

// Each value must equal the static table's entry (a wrong one is a type error here).
const staticClasses: { readonly [K in Checked]: OpDTypeClasses[K] } = {
  neg: "numeric", abs: "numeric", sign: "numeric", exp: "float", log: "float", sqrt: "float", square: "numeric",
  tanh: "float", sigmoid: "float", relu: "numeric", gelu: "float", softplus: "float", sin: "float", cos: "float",
  erf: "float", add: "numeric", sub: "numeric", mul: "numeric", div: "float", pow: "float", maximum: "numeric",
  minimum: "numeric", mulNoNan: "float", less: "numeric", lessEqual: "numeric", greater: "numeric",
  greaterEqual: "numeric", equal: "any", notEqual: "any", sum: "numeric", mean: "float", max: "numeric",
  min: "numeric", logsumexp: "float",
};

const accepts = (c: DTypeClass, d: DType): boolean => c === "any" || (c === "numeric" ? d !== "bool" : d === "f32" || d === "f64");

const runtimeAccepts = (op: Checked, d: DType): boolean => {
  const arg = { shape: [2, 3], dtype: d };
  const isReduce = (REDUCE_OPS as readonly Op[]).includes(op);
  const isUnary = (UNARY_OPS as readonly Op[]).includes(op);
  const params = (isReduce ? { axes: [1], keepdims: false } : {}) as OpParams[typeof op];
  return E.isRight(inferShape(op, isUnary || isReduce ? [arg] : [arg, arg], params));
};

describe("static dtype classes match the runtime rules", () => {
  for (const op of Object.keys(staticClasses) as Checked[]) {
    it(op, () => {
      for (const d of ["f32", "f64", "i32", "bool"] as const) {
        expect(runtimeAccepts(op, d), `${op} on ${d}`).toBe(accepts(staticClasses[op], d));
      }
    });
  }
});
