/**
 * Strided iteration shared by the kernels: row-major strides, broadcast strides (0 on
 * broadcast axes), a row visitor over several operands, strided copies and offset tables.
 *
 * Takes concrete shapes (non-negative integers). Guarantees: every element of `shape`
 * is visited exactly once, in row-major order; nothing is visited when a dim is 0; a
 * rank-0 shape is one element.
 */
import type { TypedArray } from "../value.js";

/** Number of elements of a concrete shape (1 for rank 0). */
export const sizeOf = (shape: readonly number[]): number => {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
};

/** Row-major strides of a concrete shape. */
export const contiguousStrides = (shape: readonly number[]): number[] => {
  const strides = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i]!;
  }
  return strides;
};

/**
 * Strides for reading an operand of `inShape` while walking `outShape` under NumPy
 * broadcasting: missing leading axes and size-1 axes get stride 0.
 */
export const broadcastStrides = (inShape: readonly number[], outShape: readonly number[]): number[] => {
  const own = contiguousStrides(inShape);
  const lead = outShape.length - inShape.length;
  return outShape.map((_, i) => (i < lead || inShape[i - lead] === 1 ? 0 : own[i - lead]!));
};

/**
 * Visits `shape` one innermost row at a time. `strides[k]` are operand k's strides over
 * `shape`; `visit` gets each operand's offset of the row start, each operand's stride
 * along the row, and the row length.
 */
export const forEachRow = (
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  visit: (offsets: readonly number[], rowStrides: readonly number[], length: number) => void,
): void => {
  const rank = shape.length;
  const operands = strides.length;
  if (rank === 0) {
    visit(new Array<number>(operands).fill(0), new Array<number>(operands).fill(0), 1);
    return;
  }
  if (shape.some((d) => d === 0)) return;
  const last = rank - 1;
  const length = shape[last]!;
  const rowStrides = strides.map((s) => s[last]!);
  const offsets = new Array<number>(operands).fill(0);
  const index = new Array<number>(rank).fill(0);
  for (;;) {
    visit(offsets, rowStrides, length);
    let ax = last - 1;
    for (; ax >= 0; ax--) {
      index[ax]!++;
      for (let k = 0; k < operands; k++) offsets[k]! += strides[k]![ax]!;
      if (index[ax]! < shape[ax]!) break;
      for (let k = 0; k < operands; k++) offsets[k]! -= strides[k]![ax]! * shape[ax]!;
      index[ax] = 0;
    }
    if (ax < 0) return;
  }
};

/**
 * Copies a strided view: element `i` (a multi-index over `shape`) goes from
 * `src[srcOffset + i·srcStrides]` to `dst[dstOffset + i·dstStrides]`, converting between
 * array types by plain assignment.
 */
export const copyStrided = (
  src: TypedArray,
  srcOffset: number,
  srcStrides: readonly number[],
  dst: TypedArray,
  dstOffset: number,
  dstStrides: readonly number[],
  shape: readonly number[],
): void => {
  // forEachRow's walk written out: copies run once per row of every transpose, slice,
  // concat and broadcast, and a row visitor call per row cost more than short rows' copies.
  const rank = shape.length;
  if (rank === 0) {
    dst[dstOffset] = src[srcOffset]!;
    return;
  }
  for (let ax = 0; ax < rank; ax++) if (shape[ax] === 0) return;
  const last = rank - 1;
  const n = shape[last]!;
  const ss = srcStrides[last]!;
  const ds = dstStrides[last]!;
  const index = new Array<number>(rank).fill(0);
  let s = srcOffset;
  let d = dstOffset;
  for (;;) {
    if (ss === 1 && ds === 1) for (let i = 0; i < n; i++) dst[d + i] = src[s + i]!;
    else for (let i = 0; i < n; i++) dst[d + i * ds] = src[s + i * ss]!;
    let ax = last - 1;
    for (; ax >= 0; ax--) {
      index[ax]!++;
      s += srcStrides[ax]!;
      d += dstStrides[ax]!;
      if (index[ax]! < shape[ax]!) break;
      s -= srcStrides[ax]! * shape[ax]!;
      d -= dstStrides[ax]! * shape[ax]!;
      index[ax] = 0;
    }
    if (ax < 0) return;
  }
};

/** The offsets `i·strides` of every multi-index `i` over `shape`, in row-major order. */
export const offsetTable = (shape: readonly number[], strides: readonly number[]): Int32Array => {
  const table = new Int32Array(sizeOf(shape));
  let at = 0;
  forEachRow(shape, [strides], (offsets, rowStrides, n) => {
    const base = offsets[0]!;
    const step = rowStrides[0]!;
    for (let i = 0; i < n; i++) table[at++] = base + i * step;
  });
  return table;
};
