/**
 * The printed gradient graph of a small model: every gradient node says which forward node
 * it came from (`# grad of %5`) and carries that node's source line. (This file is kept
 * short and stable because the snapshots contain its line numbers.)
 */
import { expect, it } from "vitest";
import * as tg from "../../src/index.js";

const x = tg.input("x", [tg.sym("batch"), 2], "f32");
const y = tg.input("y", [tg.sym("batch"), 1], "f32");
const W = tg.param("W", [2, 1], "f32");
const b = tg.param("b", [1], "f32");

function predict(): tg.Tensor<tg.Shape, tg.DType> {
  return tg.tanh(tg.add(tg.matmul(x, W), b));
}
const loss = tg.mean(tg.square(tg.sub(predict(), y)));

it("prints the gradient graph with origins and source lines", () => {
  const { value, grads } = tg.valueAndGrad(loss, { W, b });
  expect(tg.graphToText(tg.buildGraph({ loss: value, dW: grads.W, db: grads.b }, "train"))).toMatchInlineSnapshot(`
    "graph train(x: f32[batch,2], W: f32[2,1], b: f32[1], y: f32[batch,1]) {
      %4: f32[] = constant 1                                # grad of %11 · test/compiler/grad-dump.test.ts:17
      %5: f32[] = constant 2                                # grad of %10 · test/compiler/grad-dump.test.ts:17
      %6: f32[batch,1] = matmul x W                         # test/compiler/grad-dump.test.ts:15
      %7: f32[batch,1] = add %6 b                           # test/compiler/grad-dump.test.ts:15
      %8: f32[batch,1] = tanh %7                            # test/compiler/grad-dump.test.ts:15
      %9: f32[batch,1] = sub %8 y                           # test/compiler/grad-dump.test.ts:17
      %10: f32[batch,1] = square %9                         # test/compiler/grad-dump.test.ts:17
      %11: f32[] = mean[axes=[0,1]] %10                     # test/compiler/grad-dump.test.ts:17
      %12: f32[1,1] = reshape[shape=[1,1]] %4               # grad of %11 · test/compiler/grad-dump.test.ts:17
      %13: f32[batch] = broadcastTo[shape=[batch]] %4       # grad of %11 · test/compiler/grad-dump.test.ts:17
      %14: f32[] = sum[axes=[0]] %13                        # grad of %11 · test/compiler/grad-dump.test.ts:17
      %15: f32[1,1] = div %12 %14                           # grad of %11 · test/compiler/grad-dump.test.ts:17
      %16: f32[batch,1] = broadcastTo[shape=[batch,1]] %15  # grad of %11 · test/compiler/grad-dump.test.ts:17
      %17: f32[batch,1] = mul %9 %5                         # grad of %10 · test/compiler/grad-dump.test.ts:17
      %18: f32[batch,1] = mulNoNan %16 %17                  # grad of %10 · test/compiler/grad-dump.test.ts:17
      %19: f32[batch,1] = square %8                         # grad of %8 · test/compiler/grad-dump.test.ts:15
      %20: f32[batch,1] = sub %4 %19                        # grad of %8 · test/compiler/grad-dump.test.ts:15
      %21: f32[batch,1] = mulNoNan %18 %20                  # grad of %8 · test/compiler/grad-dump.test.ts:15
      %22: f32[2,1] = matmul[transposeA] x %21              # grad of %6 · test/compiler/grad-dump.test.ts:15
      %23: f32[1] = sum[axes=[0]] %21                       # grad of %7 · test/compiler/grad-dump.test.ts:15
      return loss=%11, dW=%22, db=%23
    }"
  `);
});

it("marks gradient-of-gradient nodes with the gradient node they came from", () => {
  const p = tg.input("p", [3], "f64");
  const dp = tg.grad(tg.sum(tg.sin(p)), p);
  const ddp = tg.grad(tg.sum(dp), p);
  expect(tg.graphToText(tg.buildGraph({ dp, ddp }, "second"))).toMatchInlineSnapshot(`
    "graph second(p: f64[3]) {
      %0: f64[] = constant 1                  # grad of sum f64[] · test/compiler/grad-dump.test.ts:50
      %2: f64[1] = reshape[shape=[1]] %0      # grad of sum f64[] · test/compiler/grad-dump.test.ts:50
      %3: f64[3] = broadcastTo[shape=[3]] %2  # grad of sum f64[] · test/compiler/grad-dump.test.ts:50
      %4: f64[3] = cos p                      # grad of sin f64[3] · test/compiler/grad-dump.test.ts:50
      %5: f64[3] = mulNoNan %3 %4             # grad of sin f64[3] · test/compiler/grad-dump.test.ts:50
      %6: f64[3] = mulNoNan %3 %3             # grad of %5 · test/compiler/grad-dump.test.ts:50
      %7: f64[3] = sin p                      # grad of %4 · test/compiler/grad-dump.test.ts:50
      %8: f64[3] = neg %7                     # grad of %4 · test/compiler/grad-dump.test.ts:50
      %9: f64[3] = mulNoNan %6 %8             # grad of %4 · test/compiler/grad-dump.test.ts:50
      return dp=%5, ddp=%9
    }"
  `);
});
