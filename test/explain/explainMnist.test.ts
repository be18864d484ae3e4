/**
 * The explain-mnist example (small run): without a checkpoint it trains the MLP briefly,
 * then explains held-out digits; integrated gradients are complete within 1% at 64 steps
 * and the SVG has a row per digit.
 */
import { describe, expect, it } from "vitest";
import { explainMnist } from "../../examples/explain-mnist.js";

describe("examples/explain-mnist.ts (small run)", () => {
  it("explains test digits with complete integrated gradients and draws them", async () => {
    const { svg, digits, source, written } = await explainMnist({ digits: 4, checkpoint: "test/explain/no-such-checkpoint.safetensors", epochs: 1, train: 1000, out: null });
    expect(source).toBe("trained");
    expect(written).toBeNull();
    expect(digits).toHaveLength(4);
    for (const d of digits) {
      expect(Math.abs(d.gap)).toBeGreaterThan(0);
      expect(d.completenessError).toBeLessThanOrEqual(0.01);
    }
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/\(predicted \d\)/g)).toHaveLength(4);
    expect(svg).toContain("integrated gradients");
  });
});
