/**
 * The type-level shape system's public types: what failed ops return, and the shape
 * rules users may name when they write typed helpers of their own.
 */
export type { Failed, Check, Operand } from "./result.js";
export type { ShowDim, ShowShape } from "./format.js";
export type { AddNat, MulNat, SubNat, ProductNat, SumNat, DivCeilNat, DivFloorNat, CompareNat } from "./arith.js";
export type { BroadcastShapes } from "./elementwise.js";
export type { ReduceShape } from "./reduce.js";
export type { FlattenShape, TransposeShape, SqueezeShape, ExpandDimsShape } from "./reshape.js";
export type { ConcatShape, SliceShape, PadShape, GatherShape } from "./indexing.js";
export type { MatmulShape } from "./linalg.js";
export type { OpDTypeClasses, DTypeClass } from "./dtypes.js";
export type { Conv2dShape, Pool2dShape, GlobalPoolShape, Conv2dOptions, Pool2dOptions, Padding, Pair } from "./conv.js";
