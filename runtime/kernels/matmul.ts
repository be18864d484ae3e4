/**
 * Reference batched matrix product over the last two axes, with transposeA/transposeB
 * and NumPy-broadcast batch dims.
 *
 * Takes a [...batchA, m, k] (or [..., k, m] when transposeA) and b [...batchB, k, n] (or
 * [..., n, k] when transposeB), as checked by the shape rule. Guarantees: every output
 * element is written (k = 0 gives zeros); products are accumulated in double in order of
 * k and rounded once on store. Straightforward loops (row-axpy when b's rows are
 * contiguous, dot products otherwise); the fast tiled kernel lives elsewhere.
 */
import type { Op } from "../../src/ops.js";
import { arg, type Kernel } from "./kernel.js";
import { broadcastStrides, offsetTable, sizeOf } from "./strided.js";

/** Offsets of each batch's matrix in an operand, walking the output's batch dims. */
const batchOffsets = (shape: readonly number[], outBatch: readonly number[]): Int32Array => {
  const matrix = shape[shape.length - 1]! * shape[shape.length - 2]!;
  const strides = broadcastStrides(shape.slice(0, -2), outBatch).map((s) => s * matrix);
  return offsetTable(outBatch, strides);
};

export const matmulKernel: Kernel<typeof Op.MatMul> = (inputs, params, out) => {
  const [a, b] = [arg(inputs, 0), arg(inputs, 1)];
  const rank = out.shape.length;
  const [m, n] = [out.shape[rank - 2]!, out.shape[rank - 1]!];
  const aCols = a.shape[a.shape.length - 1]!;
  const bCols = b.shape[b.shape.length - 1]!;
  const k = params.transposeA ? a.shape[a.shape.length - 2]! : aCols;
  // A(i, p) = ad[aBase + i*ai + p*ap]; B(p, j) = bd[bBase + p*bp + j*bj].
  const [ai, ap] = params.transposeA ? [1, aCols] : [aCols, 1];
  const [bp, bj] = params.transposeB ? [1, bCols] : [bCols, 1];
  const outBatch = out.shape.slice(0, -2);
  const aOffsets = batchOffsets(a.shape, outBatch);
  const bOffsets = batchOffsets(b.shape, outBatch);
  const [ad, bd, o] = [a.data, b.data, out.data];
  const row = new Float64Array(n);
  const batches = sizeOf(outBatch);
  for (let t = 0; t < batches; t++) {
    const [aBase, bBase, cBase] = [aOffsets[t]!, bOffsets[t]!, t * m * n];
    for (let i = 0; i < m; i++) {
      const aRow = aBase + i * ai;
      const cRow = cBase + i * n;
      if (bj === 1) {
        row.fill(0);
        for (let p = 0; p < k; p++) {
          const x = ad[aRow + p * ap]!;
          const bRow = bBase + p * bp;
          for (let j = 0; j < n; j++) row[j]! += x * bd[bRow + j]!;
        }
        for (let j = 0; j < n; j++) o[cRow + j] = row[j]!;
      } else {
        for (let j = 0; j < n; j++) {
          const bCol = bBase + j * bj;
          let s = 0;
          for (let p = 0; p < k; p++) s += ad[aRow + p * ap]! * bd[bCol + p * bp]!;
          o[cRow + j] = s;
        }
      }
    }
  }
};
