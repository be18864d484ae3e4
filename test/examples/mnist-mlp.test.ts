import { describe, expect, it } from "vitest";
import { trainMnistMlp } from "../../examples/mnist-mlp.js";

describe("MNIST MLP example (small run; the full run is npm start)", () => {
  it("learns: loss falls and test accuracy passes 85% after two epochs on 1,500 digits", async () => {
    const { result, test } = await trainMnistMlp({ epochs: 2, train: 1500, test: 500 });
    expect(result.history).toHaveLength(2);
    expect(result.history[1]!.trainLoss).toBeLessThan(result.history[0]!.trainLoss);
    expect(test.accuracy!).toBeGreaterThan(0.85);
  });
});
