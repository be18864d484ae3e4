/**
 * Shape ops: reshape, flatten, transpose/permute, broadcastTo, expandDims, squeeze,
 * concat, slice, pad, gather/take and scatterAdd. Negative axes count from the end.
 *
 * Static types: literal arguments give the exact result shape (sizes computed with
 * digit arithmetic); a mistake is a type error at the offending argument (see
 * `src/types/reshape.ts` and `src/types/indexing.ts`).
 */
import { Op, type DType } from "../ops.js";
import { formatShape, normalizeAxis } from "../graph/shapes.js";
import { captureLocation } from "../graph/location.js";
import { ShapeError } from "../errors.js";
import type { Shape } from "../types/dims.js";
import type { AnyTensor, Tensor } from "../tensor.js";
import type { DTypeClassError, IndexDTypeError } from "../types/dtypes.js";
import type { SingleAxisError } from "../types/reduce.js";
import type {
  BroadcastToError,
  ExpandDimsError,
  ExpandDimsShape,
  FlattenShape,
  InvalidDimError,
  ReshapeError,
  SqueezeError,
  SqueezeShape,
  TransposeError,
  TransposeShape,
} from "../types/reshape.js";
import type {
  ConcatAxisError,
  ConcatDType,
  ConcatError,
  ConcatShape,
  GatherShape,
  PadShape,
  ScatterAddUpdatesError,
  SliceShape,
} from "../types/indexing.js";
import { withStaticType, type Check, type ErrorOf, type FirstError, type OpResult } from "../types/result.js";
import { apply } from "./apply.js";

type RDim = number | string;
const rt = (shape: Shape): RDim[] => shape.map((d) => d as unknown as RDim);
const axisOf = (axis: number, rank: number): number => normalizeAxis(axis, rank) ?? axis;

/**
 * Same elements, new shape (row-major). The element count must not change.
 * @example const flat = reshape(images, [B, 784]); // [B, 28, 28] -> [B, 784]
 */
export const reshape = <S extends Shape, D extends DType, const T extends Shape>(
  x: Tensor<S, D>,
  shape: Check<ReshapeError<S, T>, T>,
): OpResult<ReshapeError<S, T>, T, D> => withStaticType(apply(Op.Reshape, [x], { shape: rt(shape as Shape) }));

/**
 * Multiplies the dims from `startAxis` (default 1) on into one: a reshape.
 * @example const v = flatten(images); // [B, 224, 224, 3] -> [B, 150528]
 */
export const flatten = <S extends Shape, D extends DType, const Start extends number = 1>(
  x: Check<ErrorOf<FlattenShape<S, Start>>, Tensor<S, D>>,
  startAxis?: Start,
): OpResult<never, FlattenShape<S, Start>, D> => {
  const t = x as AnyTensor;
  const shape = t.node.shape;
  const start = (startAxis ?? 1) as number;
  const at = normalizeAxis(start, shape.length);
  const fail = (detail: string): never => {
    throw new ShapeError("flatten", detail, captureLocation());
  };
  if (at === undefined) return fail(`axis ${start} out of range for rank ${shape.length} (${formatShape(shape)})`);
  const rest = shape.slice(at);
  const symbolic = rest.find((d): d is string => typeof d === "string");
  if (symbolic !== undefined && rest.length > 1) return fail(`cannot flatten symbolic dim ${symbolic} of ${formatShape(shape)} from axis ${start}`);
  const size = rest.length === 1 ? rest[0]! : rest.reduce<number>((n, d) => n * (d as number), 1);
  return withStaticType(apply(Op.Reshape, [t], { shape: [...shape.slice(0, at), size] }));
};

/**
 * Permutes axes; reverses them when `perm` is omitted.
 * @example const xt = transpose(x, [0, 2, 1]); // [B, T, C] -> [B, C, T]
 */
export const transpose = <S extends Shape, D extends DType, const P extends readonly number[] | undefined = undefined>(
  x: Tensor<S, D>,
  perm?: Check<TransposeError<S, P>, P>,
): OpResult<TransposeError<S, P>, TransposeShape<S, P>, D> => {
  const r = x.node.shape.length;
  const p = perm as readonly number[] | undefined;
  return withStaticType(
    apply(Op.Transpose, [x], { perm: p === undefined ? Array.from({ length: r }, (_, i) => r - 1 - i) : p.map((a) => axisOf(a, r)) }),
  );
};
/** Alias of `transpose`. @example const y = permute(x, [1, 0]); */
export const permute = transpose;

/**
 * Repeats size-1 (or missing leading) dims to reach `shape`.
 * @example const b = broadcastTo(bias, [B, 10]); // [10] -> [B, 10]
 */
export const broadcastTo = <S extends Shape, D extends DType, const T extends Shape>(
  x: Tensor<S, D>,
  shape: Check<BroadcastToError<S, T>, T>,
): OpResult<BroadcastToError<S, T>, T, D> => withStaticType(apply(Op.BroadcastTo, [x], { shape: rt(shape as Shape) }));

/**
 * Inserts a size-1 dim at `axis` (negative counts from the end of the result).
 * @example const col = expandDims(v, -1); // [3] -> [3, 1]
 */
export const expandDims = <S extends Shape, D extends DType, const Ax extends number>(
  x: Tensor<S, D>,
  axis: Check<ExpandDimsError<S, Ax>, Ax>,
): OpResult<ExpandDimsError<S, Ax>, ExpandDimsShape<S, Ax>, D> =>
  withStaticType(apply(Op.ExpandDims, [x], { axis: axisOf(axis as number, x.node.shape.length + 1) }));

/**
 * Removes size-1 dims: the given axes (each must be 1), or all of them.
 * @example const v = squeeze(col, 1); // [3, 1] -> [3]
 */
export const squeeze = <S extends Shape, D extends DType, const Ax extends number | readonly number[] | undefined = undefined>(
  x: Tensor<S, D>,
  axes?: Check<SqueezeError<S, Ax>, Ax>,
): OpResult<SqueezeError<S, Ax>, SqueezeShape<S, Ax>, D> => {
  const r = x.node.shape.length;
  const given = axes as number | readonly number[] | undefined;
  const list =
    given === undefined
      ? x.node.shape.flatMap((d, i) => (d === 1 ? [i] : []))
      : (typeof given === "number" ? [given] : [...given]).map((a) => axisOf(a, r));
  return withStaticType(apply(Op.Squeeze, [x], { axes: [...list].sort((a, b) => a - b) }));
};

/**
 * Joins tensors along `axis`; all other dims must agree, and sizes along `axis` add.
 * @example const h = concat([a, b], -1); // [B, 3] and [B, 4] -> [B, 7]
 */
export const concat = <const Xs extends readonly AnyTensor[], const Ax extends number>(
  xs: Check<ConcatError<Xs, Ax>, Xs>,
  axis: Check<ConcatAxisError<Xs, Ax>, Ax>,
): OpResult<ConcatError<Xs, Ax> | ConcatAxisError<Xs, Ax>, ConcatShape<Xs, Ax>, ConcatDType<Xs>> => {
  const inputs = xs as readonly AnyTensor[];
  return withStaticType(apply(Op.Concat, inputs, { axis: axisOf(axis as number, inputs[0]?.node.shape.length ?? 0) }));
};

/** One axis range for `slice`: `[start, end]` or `[start, end, step]`; negative indices count from the end. @example const r: SliceRange = [0, -1, 2]; */
export type SliceRange = readonly [number, number] | readonly [number, number, number] | null;

/**
 * Takes ranges along the leading axes (`null` keeps an axis whole).
 * @example const firstTwo = slice(x, [null, [0, 2]]); // [B, 5] -> [B, 2]
 */
export const slice = <S extends Shape, D extends DType, const R extends readonly SliceRange[]>(
  x: Tensor<S, D>,
  ranges: Check<ErrorOf<SliceShape<S, R>>, R>,
): OpResult<ErrorOf<SliceShape<S, R>>, SliceShape<S, R>, D> => {
  const axes: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const steps: number[] = [];
  (ranges as readonly SliceRange[]).forEach((r, ax) => {
    if (r === null) return;
    const d = x.node.shape[ax];
    const fix = (i: number): number => (typeof d === "number" && i < 0 ? i + d : i);
    axes.push(ax);
    starts.push(fix(r[0]));
    ends.push(fix(r[1]));
    steps.push(r[2] ?? 1);
  });
  return withStaticType(apply(Op.Slice, [x], { axes, starts, ends, steps }));
};

/**
 * Zero padding: `[before, after]` per axis.
 * @example const p = pad(x, [[0, 0], [1, 1]]); // [B, 3] -> [B, 5]
 */
export const pad = <S extends Shape, D extends DType, const W extends readonly (readonly [number, number])[]>(
  x: Tensor<S, D>,
  widths: Check<ErrorOf<PadShape<S, W>>, W>,
): OpResult<ErrorOf<PadShape<S, W>>, PadShape<S, W>, D> => {
  const w = widths as readonly (readonly [number, number])[];
  return withStaticType(apply(Op.Pad, [x], { before: w.map((p) => p[0]), after: w.map((p) => p[1]) }));
};

/**
 * Takes entries of `x` along `axis` at i32 `indices` of any shape.
 * @example const vectors = gather(embeddings, tokens); // [1000, 64] at i32 [B, 20] -> [B, 20, 64]
 */
export const gather = <S extends Shape, D extends DType, SI extends Shape, DI extends DType, const Ax extends number = 0>(
  x: Tensor<S, D>,
  indices: Check<IndexDTypeError<"gather", DI, SI>, Tensor<SI, DI>>,
  axis?: Check<SingleAxisError<"gather", S, Ax>, Ax>,
): OpResult<IndexDTypeError<"gather", DI, SI> | SingleAxisError<"gather", S, Ax>, GatherShape<S, SI, Ax>, D> =>
  withStaticType(apply(Op.Gather, [x, indices as AnyTensor], { axis: axisOf((axis ?? 0) as number, x.node.shape.length) }));
/** Alias of `gather`. @example const rows = take(table, ids); */
export const take = gather;

/**
 * Zeros of `shape`, with `updates` added at `indices` along `axis` (the adjoint of gather).
 * @example const grads = scatterAdd(rows, tokens, 0, [1000, 64]); // rows: [B, 20, 64]
 */
export const scatterAdd = <
  SU extends Shape,
  DU extends DType,
  SI extends Shape,
  DI extends DType,
  const Ax extends number,
  const T extends Shape,
>(
  updates: Check<FirstError<[DTypeClassError<"scatterAdd", DU, SU>, ScatterAddUpdatesError<SU, SI, Ax, T>]>, Tensor<SU, DU>>,
  indices: Check<IndexDTypeError<"scatterAdd", DI, SI>, Tensor<SI, DI>>,
  axis: Check<SingleAxisError<"scatterAdd", T, Ax>, Ax>,
  shape: Check<InvalidDimError<"scatterAdd", T>, T>,
): OpResult<
  | DTypeClassError<"scatterAdd", DU, SU>
  | ScatterAddUpdatesError<SU, SI, Ax, T>
  | IndexDTypeError<"scatterAdd", DI, SI>
  | SingleAxisError<"scatterAdd", T, Ax>
  | InvalidDimError<"scatterAdd", T>,
  T,
  DU
> => {
  const target = shape as Shape;
  return withStaticType(
    apply(Op.ScatterAdd, [updates as AnyTensor, indices as AnyTensor], { axis: axisOf(axis as number, target.length), shape: rt(target) }),
  );
};
