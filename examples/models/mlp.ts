/**
 * A small model module for the `typegrad` CLI: the 2-4-1 network of examples/seed-mlp.ts
 * (tanh hidden layer, linear output, mean squared error). Its inputs are declared as a
 * plain signature (`{ shape, dtype }`, "batch" being a symbolic dim) rather than tensors.
 *
 *   npx typegrad dump examples/models/mlp.ts --format text
 *   npx typegrad dump examples/models/mlp.ts --grad --format dot
 */
import { add, matmul, mse, param, tanh, type Shape, type Tensor } from "../../src/index.js";

type F32 = Tensor<Shape, "f32">;

export const name = "mlp";

export const inputs = {
  x: { shape: ["batch", 2], dtype: "f32" },
  y: { shape: ["batch", 1], dtype: "f32" },
};

export const params = {
  hidden: { W: param("hidden.W", [2, 4], "f32", { kind: "normal", mean: 0, std: 1 }), b: param("hidden.b", [4], "f32", { kind: "zeros" }) },
  out: { W: param("out.W", [4, 1], "f32", { kind: "normal", mean: 0, std: 1 }), b: param("out.b", [1], "f32", { kind: "zeros" }) },
};

function dense(p: { readonly W: F32; readonly b: F32 }, x: F32): F32 {
  return add(matmul(x, p.W), p.b);
}

export function model({ x }: Readonly<Record<string, F32>>): F32 {
  return dense(params.out, tanh(dense(params.hidden, x!)));
}

export function loss(prediction: F32, { y }: Readonly<Record<string, F32>>): F32 {
  return mse(prediction, y!);
}
