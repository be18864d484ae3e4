/**
 * Data-movement kernels: leaves, constants, reshape-like copies, transpose, broadcastTo,
 * concat, slice, pad, gather, scatterAdd and oneHot.
 *
 * Takes inputs and params checked by the shape rules, and an output of the rule's shape.
 * Guarantees: every output element is written (pad, scatterAdd and oneHot clear the
 * output first); gather and scatterAdd throw a RangeError naming the index, its
 * position, the axis and its size when an index is outside [0, size); oneHot gives a
 * zero row for a label outside [0, depth).
 */
import type { Op } from "../../src/ops.js";
import type { TensorValue } from "../value.js";
import { arg, type Kernel } from "./kernel.js";
import { broadcastStrides, contiguousStrides, copyStrided, sizeOf } from "./strided.js";

/** Copies all elements in row-major order (reshape, expandDims, squeeze, stopGradient). */
export const copyKernel =
  <K extends Op>(): Kernel<K> =>
  (inputs, _params, out) => {
    const x = arg(inputs, 0);
    const n = sizeOf(out.shape);
    if (x.data === out.data) return;
    if (x.data.length === n && out.data.length === n && x.dtype === out.dtype) out.data.set(x.data);
    else for (let i = 0; i < n; i++) out.data[i] = x.data[i]!;
  };

/**
 * Leaves (input, param) are bound by the executor: it passes the fed value as
 * `inputs[0]` and the kernel copies it into `out`. Calling it without one is a bug in
 * the caller, reported as such.
 */
export const leafKernel =
  <K extends typeof Op.Input | typeof Op.Param>(): Kernel<K> =>
  (inputs, params, out) => {
    if (inputs.length !== 1) throw new RangeError(`${params.name}: leaf kernels copy the bound value, which must be passed as the only input (got ${inputs.length} inputs)`);
    copyKernel<K>()(inputs, params, out);
  };

/** constant: fills from `params.values` (one value fills the whole shape). */
export const constantKernel: Kernel<typeof Op.Constant> = (_inputs, params, out) => {
  const n = sizeOf(out.shape);
  const values = params.values;
  if (values.length === 1) out.data.fill(out.dtype === "bool" ? (values[0] ? 1 : 0) : values[0]!, 0, n);
  else for (let i = 0; i < n; i++) out.data[i] = out.dtype === "bool" ? (values[i] ? 1 : 0) : values[i]!;
};

export const transposeKernel: Kernel<typeof Op.Transpose> = (inputs, params, out) => {
  const x = arg(inputs, 0);
  const strides = contiguousStrides(x.shape);
  copyStrided(x.data, 0, params.perm.map((p) => strides[p]!), out.data, 0, contiguousStrides(out.shape), out.shape);
};

export const broadcastToKernel: Kernel<typeof Op.BroadcastTo> = (inputs, _params, out) => {
  const x = arg(inputs, 0);
  copyStrided(x.data, 0, broadcastStrides(x.shape, out.shape), out.data, 0, contiguousStrides(out.shape), out.shape);
};

export const concatKernel: Kernel<typeof Op.Concat> = (inputs, params, out) => {
  const outStrides = contiguousStrides(out.shape);
  let at = 0;
  for (const x of inputs) {
    copyStrided(x.data, 0, contiguousStrides(x.shape), out.data, at * outStrides[params.axis]!, outStrides, x.shape);
    at += x.shape[params.axis]!;
  }
};

export const sliceKernel: Kernel<typeof Op.Slice> = (inputs, params, out) => {
  const x = arg(inputs, 0);
  const strides = contiguousStrides(x.shape);
  const srcStrides = [...strides];
  let offset = 0;
  params.axes.forEach((ax, i) => {
    offset += params.starts[i]! * strides[ax]!;
    srcStrides[ax] = strides[ax]! * params.steps[i]!;
  });
  copyStrided(x.data, offset, srcStrides, out.data, 0, contiguousStrides(out.shape), out.shape);
};

export const padKernel: Kernel<typeof Op.Pad> = (inputs, params, out) => {
  const x = arg(inputs, 0);
  const outStrides = contiguousStrides(out.shape);
  out.data.fill(0, 0, sizeOf(out.shape));
  const offset = params.before.reduce((acc, b, ax) => acc + b * outStrides[ax]!, 0);
  copyStrided(x.data, 0, contiguousStrides(x.shape), out.data, offset, outStrides, x.shape);
};

/** Splits `shape` around `axis` into (outer size, axis size, inner size). */
const around = (shape: readonly number[], axis: number): [number, number, number] => [
  sizeOf(shape.slice(0, axis)),
  shape[axis]!,
  sizeOf(shape.slice(axis + 1)),
];

const checkIndex = (op: string, index: number, position: number, indices: TensorValue, axis: number, size: number): void => {
  if (index < 0 || index >= size)
    throw new RangeError(
      `${op}: index ${index} (at position ${position} of the indices [${indices.shape.join(", ")}]) is out of range for axis ${axis} of size ${size}`,
    );
};

/** gather: out[pre, j, post] = x[pre, indices[j], post]. */
export const gatherKernel: Kernel<typeof Op.Gather> = (inputs, params, out) => {
  const [x, indices] = [arg(inputs, 0), arg(inputs, 1)];
  const [outer, size, inner] = around(x.shape, params.axis);
  const count = sizeOf(indices.shape);
  const [xd, id, o] = [x.data, indices.data, out.data];
  for (let j = 0; j < count; j++) checkIndex("gather", id[j]!, j, indices, params.axis, size);
  for (let p = 0; p < outer; p++) {
    for (let j = 0; j < count; j++) {
      const src = (p * size + id[j]!) * inner;
      const dst = (p * count + j) * inner;
      for (let q = 0; q < inner; q++) o[dst + q] = xd[src + q]!;
    }
  }
};

/** scatterAdd: zeros of `params.shape`, then out[pre, indices[j], post] += updates[pre, j, post]. */
export const scatterAddKernel: Kernel<typeof Op.ScatterAdd> = (inputs, params, out) => {
  const [updates, indices] = [arg(inputs, 0), arg(inputs, 1)];
  const [outer, size, inner] = around(out.shape, params.axis);
  const count = sizeOf(indices.shape);
  const [ud, id, o] = [updates.data, indices.data, out.data];
  for (let j = 0; j < count; j++) checkIndex("scatterAdd", id[j]!, j, indices, params.axis, size);
  o.fill(0, 0, sizeOf(out.shape));
  for (let p = 0; p < outer; p++) {
    for (let j = 0; j < count; j++) {
      const dst = (p * size + id[j]!) * inner;
      const src = (p * count + j) * inner;
      for (let q = 0; q < inner; q++) o[dst + q] = o[dst + q]! + ud[src + q]!;
    }
  }
};

/** oneHot: a row of `depth` zeros with a 1 at the label; a label outside [0, depth) gives a zero row. */
export const oneHotKernel: Kernel<typeof Op.OneHot> = (inputs, params, out) => {
  const labels = arg(inputs, 0);
  const depth = params.depth;
  const count = sizeOf(labels.shape);
  out.data.fill(0, 0, count * depth);
  for (let i = 0; i < count; i++) {
    const label = labels.data[i]!;
    if (label >= 0 && label < depth) out.data[i * depth + label] = 1;
  }
};
