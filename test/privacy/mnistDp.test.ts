/**
 * The mnist-dp example (small run; the full run is `npx tsx examples/mnist-dp.ts`): DP-SGD
 * on 2,000 digits for 3 epochs learns, and the reported (ε, δ) is the accountant's for the
 * steps taken at sampling rate 256 / 2000.
 */
import { describe, expect, it } from "vitest";
import { DP_SETTINGS, trainMnistDp } from "../../examples/mnist-dp.js";
import { dpSgdPrivacy } from "../../src/privacy/accountant.js";

describe("examples/mnist-dp.ts (small run)", () => {
  it("learns under DP-SGD and reports (ε, δ) for the steps taken", async () => {
    const { test, privacy, result } = await trainMnistDp({ epochs: 3, train: 2000, test: 500 });
    expect(result.history[2]!.trainLoss).toBeLessThan(result.history[0]!.trainLoss);
    expect(test.accuracy!).toBeGreaterThan(0.5);
    expect(result.state.step).toBe(24);
    expect(privacy).toEqual(dpSgdPrivacy({ datasetSize: 2000, batchSize: DP_SETTINGS.batchSize, noiseMultiplier: DP_SETTINGS.noiseMultiplier, steps: 24, delta: 1e-5 }));
  });
});
