import { describe, expect, it } from "vitest";
import { sample, trainCharTransformer, vocab } from "../../examples/char-transformer.js";

describe("character Transformer example (small run; the full run is npx tsx examples/char-transformer.ts)", () => {
  it("learns: the loss falls below the uniform and unigram rates within two short epochs, and it samples text", async () => {
    const { result, unigramBits, validationBits } = await trainCharTransformer({ epochs: 2, chars: 5000, stride: 16, batchSize: 16 });
    const bits = result.history.map((e) => e.trainLoss / Math.LN2);
    expect(bits[1]!).toBeLessThan(bits[0]!);
    expect(bits[1]!).toBeLessThan(Math.log2(vocab.length));
    expect(unigramBits).toBeGreaterThan(4);
    expect(validationBits).toBeLessThan(Math.log2(vocab.length));
    const text = sample(result.state.params, "Anne ", 20);
    expect(text).toHaveLength(20);
    expect([...text].every((c) => vocab.includes(c))).toBe(true);
  }, 180_000);
});
