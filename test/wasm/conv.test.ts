/**
 * Convolutions on the wasm backend (im2col / col2im in WebAssembly, then the GEMM)
 * against the JS backend: conv2d, its input gradient and its filter gradient (through
 * `grad`), for strides, dilations, explicit and "same" padding, channel groups,
 * depthwise and pointwise kernels, odd sizes, batches split into several chunked products;
 * within float32 tolerance, with every conv step running as wasm.
 */
import { describe, expect, it } from "vitest";
import * as tg from "../../src/index.js";
import type { Conv2dOptions } from "../../src/types/conv.js";
import { compile } from "../../runtime/program.js";
import { tensorValue, type TensorValue } from "../../runtime/value.js";
import { wasmFeatures } from "../../runtime/wasm/features.js";
import { f32Mismatches, randomF32 } from "./support.js";

interface Case {
  readonly x: readonly [number, number, number, number];
  readonly w: readonly [number, number, number, number];
  readonly options: Conv2dOptions;
}

const CASES: Case[] = [
  { x: [2, 3, 9, 11], w: [4, 3, 3, 3], options: {} },
  { x: [2, 3, 9, 11], w: [4, 3, 3, 3], options: { padding: "same" } },
  { x: [3, 4, 13, 10], w: [6, 4, 3, 2], options: { stride: [2, 3], padding: [[1, 2], [0, 1]] } },
  { x: [2, 2, 12, 12], w: [5, 2, 3, 3], options: { dilation: 2, padding: "same" } },
  { x: [2, 6, 8, 7], w: [4, 3, 3, 3], options: { groups: 2, padding: "same" } },
  { x: [2, 5, 9, 9], w: [5, 1, 3, 3], options: { groups: 5, stride: 2, padding: "same" } },
  { x: [3, 8, 6, 5], w: [7, 8, 1, 1], options: {} },
  { x: [1, 16, 28, 28], w: [32, 16, 3, 3], options: { padding: "same" } },
  // Batched in chunks of images: 39 (image, group) pairs of 121 KB of cols make a chunk of 34 and one of 5 starting in group 1.
  { x: [13, 6, 41, 41], w: [6, 2, 3, 3], options: { groups: 3, padding: "same" } },
  { x: [9, 16, 14, 14], w: [16, 16, 3, 3], options: { padding: "same" } },
];

/** conv2d of case `c` and both gradients (through a random probe), with seeded feeds. */
const convGraph = (c: Case, seed: number): { graph: tg.Graph; feeds: Record<string, TensorValue> } => {
  const x = tg.erase(tg.input("x", [...c.x], "f32"));
  const w = tg.erase(tg.param("w", [...c.w], "f32"));
  const y = tg.erase(tg.conv2d(x as never, w as never, c.options) as never) as tg.Tensor<readonly number[], "f32">;
  const probe = tg.erase(tg.input("probe", y.node.shape as number[], "f32"));
  const loss = tg.sum(tg.mul(y as never, probe as never) as never) as tg.AnyTensor;
  const [dx, dw] = tg.grad(loss, [x as tg.AnyTensor, w as tg.AnyTensor]) as tg.AnyTensor[];
  const graph = tg.buildGraph({ y: y as tg.AnyTensor, dx: dx!, dw: dw! });
  const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
  const feeds = {
    x: tensorValue("f32", c.x, randomF32(size(c.x), seed)),
    w: tensorValue("f32", c.w, randomF32(size(c.w), seed + 1)),
    probe: tensorValue("f32", y.node.shape as number[], randomF32(size(y.node.shape as number[]), seed + 2)),
  };
  return { graph, feeds };
};

describe.skipIf(!wasmFeatures().simd)("wasm convolutions", () => {
  it.each(CASES.map((c) => [JSON.stringify(c), c] as const))("conv2d and both gradients match the JS kernels: %s", (_name, c) => {
    const { graph, feeds } = convGraph(c, 1);
    const fast = compile(graph);
    const steps = fast.plan(feeds).steps.filter((s) => s.op.startsWith("conv2d"));
    expect(steps.map((s) => s.op).sort()).toEqual(["conv2d", "conv2dBackpropFilter", "conv2dBackpropInput"]);
    expect(steps.every((s) => s.backend === "wasm")).toBe(true);
    const got = fast.runNamed(feeds);
    const want = compile(graph, { backend: "js" }).runNamed(feeds);
    for (const name of ["y", "dx", "dw"]) expect(f32Mismatches(got[name]!.data, want[name]!.data, 2e-5, 2e-5), name).toEqual([]);
    // Runs again on the same plan (cols and descriptors reused) with the same result.
    const again = fast.runNamed(feeds);
    for (const name of ["y", "dx", "dw"]) expect([...again[name]!.data]).toEqual([...got[name]!.data]);
  });

  it("gives bit-identical results (filter gradient included) on one and two threads", () => {
    const { graph, feeds } = convGraph({ x: [13, 6, 41, 41], w: [8, 6, 3, 3], options: { padding: "same" } }, 5);
    const one = compile(graph, { threads: 1 }).runNamed(feeds);
    const two = compile(graph, { threads: 2 }).runNamed(feeds);
    const want = compile(graph, { backend: "js" }).runNamed(feeds);
    for (const name of ["y", "dx", "dw"]) {
      const [a, b] = [one[name]!.data, two[name]!.data];
      expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), name).toBe(true);
      expect(f32Mismatches(b, want[name]!.data, 2e-5, 2e-5), name).toEqual([]);
    }
  });
});
