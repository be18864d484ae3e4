/**
 * Batched matmul on the tiled GEMM: transposeA/transposeB read in place, NumPy-broadcast
 * batch dims, and a plan made once per concrete shape.
 *
 * Takes the concrete shapes of a ([...batchA, m, k], or [..., k, m] with transposeA) and
 * b ([...batchB, k, n], or [..., n, k] with transposeB), as the shape rule checked them.
 * `planMatmul` precomputes each batch's operand offsets; `runMatmul` then only calls the
 * GEMM. Guarantees: the same values, bit for bit, as the reference matmul kernel (see
 * `gemm.ts`); every output element is written; operands are never copied whole (only
 * cache-sized packed panels). When b has no real batch dims and a is neither transposed
 * nor broadcast, the batch is folded into the rows of one large product.
 */
import type { Op, OpParams } from "../../src/ops.js";
import type { TensorValue } from "../value.js";
import type { Kernel } from "../kernels/kernel.js";
import { broadcastStrides, offsetTable, sizeOf } from "../kernels/strided.js";
import { createGemmScratch, gemm, gemmScratchBytes, type GemmScratch } from "./gemm.js";

/** One matmul at fixed shapes: a GEMM of m x k by k x n for each of `batches` offset triples. */
export interface MatmulPlan {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** A(i, p) = a[aOffsets[t] + i·aRow + p·aCol]. */
  readonly aRow: number;
  readonly aCol: number;
  /** B(p, j) = b[bOffsets[t] + p·bRow + j·bCol]. */
  readonly bRow: number;
  readonly bCol: number;
  readonly aOffsets: Int32Array;
  readonly bOffsets: Int32Array;
  /** Output matrix t starts at t·m·n. */
  readonly batches: number;
  /** Multiply-adds times two: the flop count of one run. */
  readonly flops: number;
}

const matrixOffsets = (shape: readonly number[], outBatch: readonly number[]): Int32Array => {
  const matrix = shape[shape.length - 1]! * shape[shape.length - 2]!;
  return offsetTable(outBatch, broadcastStrides(shape.slice(0, -2), outBatch).map((s) => s * matrix));
};

/**
 * Plans a batched matmul for concrete shapes (`outShape` as the shape rule gives it).
 * @example planMatmul([8, 3, 4], [4, 5], { transposeA: false, transposeB: false }, [8, 3, 5]) // one 24x4 by 4x5 GEMM
 */
export const planMatmul = (
  aShape: readonly number[],
  bShape: readonly number[],
  params: OpParams[typeof Op.MatMul],
  outShape: readonly number[],
): MatmulPlan => {
  const rank = outShape.length;
  const [m, n] = [outShape[rank - 2]!, outShape[rank - 1]!];
  const aCols = aShape[aShape.length - 1]!;
  const bCols = bShape[bShape.length - 1]!;
  const k = params.transposeA ? aShape[aShape.length - 2]! : aCols;
  const [aRow, aCol] = params.transposeA ? [1, aCols] : [aCols, 1];
  const [bRow, bCol] = params.transposeB ? [1, bCols] : [bCols, 1];
  const outBatch = outShape.slice(0, -2);
  const batches = sizeOf(outBatch);
  const flops = 2 * batches * m * n * k;
  const aBatch = aShape.slice(0, -2);
  const bHasBatch = sizeOf(bShape.slice(0, -2)) !== 1;
  const aFullBatch = sizeOf(aBatch) === batches;
  if (!params.transposeA && !bHasBatch && aFullBatch && batches > 1) {
    // Consecutive a matrices are consecutive rows: one (batches·m) x k product.
    return { m: batches * m, n, k, aRow, aCol, bRow, bCol, aOffsets: new Int32Array(1), bOffsets: new Int32Array(1), batches: 1, flops };
  }
  return { m, n, k, aRow, aCol, bRow, bCol, aOffsets: matrixOffsets(aShape, outBatch), bOffsets: matrixOffsets(bShape, outBatch), batches, flops };
};

/** Scratch for every plan in `plans` (sized by the largest). */
export const scratchFor = (plans: readonly MatmulPlan[]): GemmScratch => {
  const max = (f: (p: MatmulPlan) => number): number => plans.reduce((acc, p) => Math.max(acc, f(p)), 1);
  return createGemmScratch(max((p) => p.m), max((p) => p.n), max((p) => p.k));
};

/** Bytes of `scratchFor(plans)`. */
export const scratchBytesFor = (plans: readonly MatmulPlan[]): number => {
  if (plans.length === 0) return 0;
  const max = (f: (p: MatmulPlan) => number): number => plans.reduce((acc, p) => Math.max(acc, f(p)), 1);
  return gemmScratchBytes(max((p) => p.m), max((p) => p.n), max((p) => p.k));
};

/**
 * Runs a planned matmul: `out.data` gets a·b. `scratch` must cover the plan (`scratchFor`).
 * @example runMatmul(plan, a.data, b.data, out.data, scratchFor([plan]));
 */
export const runMatmul = (plan: MatmulPlan, a: TensorValue["data"], b: TensorValue["data"], out: TensorValue["data"], scratch: GemmScratch): void => {
  const { m, n, k, aRow, aCol, bRow, bCol, aOffsets, bOffsets, batches } = plan;
  const size = m * n;
  for (let t = 0; t < batches; t++) gemm(m, n, k, a, aOffsets[t]!, aRow, aCol, b, bOffsets[t]!, bRow, bCol, out, t * size, n, scratch);
};

/**
 * The tiled matmul as a kernel-table entry (plans and allocates scratch on every call;
 * a compiled program plans once per binding instead).
 * @example tiledMatmulKernel([a, b], { transposeA: false, transposeB: true }, out);
 */
export const tiledMatmulKernel: Kernel<typeof Op.MatMul> = (inputs, params, out) => {
  const [a, b] = [inputs[0], inputs[1]];
  if (a === undefined || b === undefined) throw new RangeError(`matmul called with ${inputs.length} inputs, needs 2`);
  const plan = planMatmul(a.shape, b.shape, params, out.shape);
  runMatmul(plan, a.data, b.data, out.data, scratchFor([plan]));
};
