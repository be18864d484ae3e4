/**
 * The MNIST classifier of examples/mnist-mlp.ts (784-256-256-10, ReLU) as a model module
 * for the `typegrad` CLI. Each layer is its own function, so pictures, the HTML view and
 * summaries group the graph by layer ("hidden #1", "hidden #2", "output").
 *
 *   npx typegrad summary examples/models/mnist-mlp.ts
 *   npx typegrad dump examples/models/mnist-mlp.ts --format svg -o mnist-mlp.svg
 *   npx typegrad dump examples/models/mnist-mlp.ts --grad --optimized --format html -o mnist-grad.html
 */
import { add, input, matmul, param, relu, softmaxCrossEntropy, sym, type Shape, type Tensor } from "../../src/index.js";

type F32 = Tensor<Shape, "f32">;

const batch = sym("batch");

/** The input signature: images as rows of 784 pixels, and their digit labels. */
export const inputs = {
  x: input("x", [batch, 784], "f32"),
  labels: input("labels", [batch], "i32"),
};

interface Dense {
  readonly W: F32;
  readonly b: F32;
}
const denseParams = (name: string, fanIn: number, fanOut: number): Dense => ({
  W: param(`${name}.W`, [fanIn, fanOut], "f32", { kind: "heNormal" }),
  b: param(`${name}.b`, [fanOut], "f32", { kind: "zeros" }),
});

export const params = {
  hidden1: denseParams("hidden1", 784, 256),
  hidden2: denseParams("hidden2", 256, 256),
  output: denseParams("output", 256, 10),
};

function hidden(p: Dense, x: F32): F32 {
  return relu(add(matmul(x, p.W), p.b));
}

function output(p: Dense, x: F32): F32 {
  return add(matmul(x, p.W), p.b);
}

/** The model: two hidden ReLU layers, then class scores. */
export function model({ x }: { readonly x: F32 }): { logits: F32 } {
  const h1 = hidden(params.hidden1, x);
  const h2 = hidden(params.hidden2, h1);
  return { logits: output(params.output, h2) };
}

/** Mean softmax cross-entropy of the logits against the labels. */
export function loss({ logits }: { readonly logits: F32 }, { labels }: { readonly labels: Tensor<Shape, "i32"> }): F32 {
  return softmaxCrossEntropy(logits, labels);
}
