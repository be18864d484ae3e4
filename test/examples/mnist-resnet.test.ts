import { describe, expect, it } from "vitest";
import { trainMnistResnet } from "../../examples/mnist-resnet.js";

describe("MNIST ResNet example (small run; the full run is npx tsx examples/mnist-resnet.ts)", () => {
  it("learns: the loss falls over three epochs on 512 digits and test accuracy is far above chance", async () => {
    const { result, test } = await trainMnistResnet({ epochs: 3, train: 512, test: 300, batchSize: 32 });
    expect(result.history).toHaveLength(3);
    expect(result.history[2]!.trainLoss).toBeLessThan(result.history[0]!.trainLoss);
    expect(result.history[2]!.trainLoss).toBeLessThan(Math.log(10));
    expect(test.accuracy!).toBeGreaterThan(0.4);
  }, 120_000);
});
