/**
 * ONNX parity over the op-spec table: every row, in f64 and f32 (and i32 / bool where the
 * shape rules accept the row retyped), exported and run in ONNX Runtime on seeded inputs
 * from the row's domains, against typegrad's reference interpreter. Tolerance on
 * |a - b| / max(1, |b|): f32 1e-5, f64 1e-10, integers and masks exact.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ALL_OPS, type DType } from "../../src/ops.js";
import { buildGraphE } from "../../src/graph/graph.js";
import { compareValues, PARITY_TOLERANCE } from "../../compiler/onnx/parity.js";
import { opSpecTable } from "../support/opspec.js";
import { rowFeeds, rowVariant, runInOrt, runInTypegrad, seeded } from "./support.js";

const DTYPES: readonly DType[] = ["f64", "f32", "i32", "bool"];
const TRIALS = 3;
const largest: Record<DType, { error: number; row: string }> = {
  f64: { error: 0, row: "" },
  f32: { error: 0, row: "" },
  i32: { error: 0, row: "" },
  bool: { error: 0, row: "" },
};

const cases = opSpecTable.flatMap((row) => DTYPES.map((dtype) => [`${row.name} (${dtype})`, row, dtype] as const));

describe("ONNX Runtime vs the interpreter on every op-spec row", () => {
  it("covers every op in f64 and f32", () => {
    const covered = new Set(opSpecTable.filter((r) => rowVariant(r, "f32") !== undefined && rowVariant(r, "f64") !== undefined).map((r) => r.op));
    expect(ALL_OPS.filter((op) => !covered.has(op))).toEqual([]);
  });

  it.each(cases)("%s", async (_, row, dtype) => {
    const root = rowVariant(row, dtype);
    if (root === undefined) return; // the shape rules reject this row in this dtype
    const built = buildGraphE([root], { name: row.name.replace(/\W+/g, "_"), outputNames: ["out"] });
    if (built._tag === "Left") throw new Error(built.left.message);
    const graph = built.right;
    const rand = seeded(row.name.length * 7919 + DTYPES.indexOf(dtype));
    for (let trial = 0; trial < TRIALS; trial++) {
      const feeds = rowFeeds(row, root, rand);
      const [actual, expected] = [(await runInOrt(graph, feeds)).out!, runInTypegrad(graph, feeds).out!];
      expect(actual.dtype, `${row.name} dtype`).toBe(expected.dtype);
      expect(actual.shape, `${row.name} shape`).toEqual(expected.shape);
      const { maxError, index } = compareValues(actual, expected);
      if (maxError > largest[dtype].error) largest[dtype] = { error: maxError, row: row.name };
      expect(maxError, `${row.name} ${dtype} trial ${trial}: element ${index} onnx ${actual.data[index]} vs typegrad ${expected.data[index]}`).toBeLessThanOrEqual(
        PARITY_TOLERANCE[dtype],
      );
    }
  });

  afterAll(() => {
    for (const d of DTYPES) console.log(`largest ${d} error over the op-spec rows: ${largest[d].error.toExponential(2)}${largest[d].row === "" ? "" : ` (${largest[d].row})`}`);
  });
});


