import { describe, expect, it } from "vitest";
import { ALL_OPS } from "../../src/ops.js";
import { input } from "../../src/index.js";
import { opSpecTable } from "../support/opspec.js";

describe("op-spec table", () => {
  it("has a row for every op", () => {
    const covered = new Set(opSpecTable.map((r) => r.op));
    expect(ALL_OPS.filter((op) => !covered.has(op))).toEqual([]);
  });

  it.each(opSpecTable.map((r) => [r.name, r] as const))("%s builds with a valid runtime shape", (_, row) => {
    const xs = row.inputs.map((s, i) => input(`in${i}`, s.shape, s.dtype));
    const out = row.build(xs);
    expect(out.node.shape.every((d) => typeof d === "number" && d >= 0)).toBe(true);
  });
});
