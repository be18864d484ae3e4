/**
 * The textbook first network, done right: a 2-4-1 MLP (tanh hidden layer, linear output),
 * weights from a normal distribution, plain gradient descent with learning rate 0.1 for
 * 100 epochs on MSE, data X = [[1, 0], [-1, 0]], Y = [[1], [-1]].
 *
 * Run: npx tsx examples/seed-mlp.ts
 */
import { pathToFileURL } from "node:url";
import { input, sym, tanh, mlp, mse, sgd, createTrainer, tensorValue } from "../src/index.js";

const batch = sym("batch");
const x = input("x", [batch, 2], "f32");
const y = input("y", [batch, 1], "f32");

/** The model's params: dense layers 2->4->1, weights ~ N(0, 1), biases 0. */
export const params = mlp.init("seed", [2, 4, 1], { init: { kind: "normal", mean: 0, std: 1 } });
/** The model: tanh hidden layer, linear output. */
export const model = mlp(params, tanh);
export const loss = mse(model(x), y);

export const X = tensorValue("f32", [2, 2], [1, 0, -1, 0]);
export const Y = tensorValue("f32", [2, 1], [1, -1]);

/** Trains for `epochs` full-batch steps; returns the loss after each. */
export const trainSeedMlp = (epochs = 100, seed = 1, log: (line: string) => void = () => {}): number[] => {
  const trainer = createTrainer({ loss, params, optimizer: sgd(), learningRate: 0.1, name: "seedMlpStep" });
  let state = trainer.init(seed);
  const losses: number[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const r = trainer.trainStep(state, { x: X, y: Y });
    state = r.state;
    losses.push(r.loss);
    log(`epoch ${String(epoch).padStart(3)}  loss ${r.loss.toExponential(4)}`);
  }
  return losses;
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const losses = trainSeedMlp(100, 1, console.log);
  const last = losses[losses.length - 1]!;
  console.log(last < 1e-3 ? `final loss ${last.toExponential(3)} < 1e-3` : `final loss ${last} did not reach 1e-3`);
}
