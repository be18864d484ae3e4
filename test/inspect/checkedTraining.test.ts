import { describe, expect, it } from "vitest";
import { add, cast, createTrainer, input, mlp, mse, mul, scalar, sgd, sym, tanh, tensorValue } from "../../src/index.js";
import { stepKey } from "../../src/nn/state.js";
import { checkedTrainer } from "../../src/inspect/checkedTraining.js";
import { NonFiniteError } from "../../src/inspect/nonFinite.js";

const batch = sym("batch");
const x = input("x", [batch, 2], "f32");
const y = input("y", [batch, 1], "f32");
const params = mlp.init("ct", [2, 3, 1], { init: { kind: "normal", mean: 0, std: 1 } });
const loss = mse(mlp(params, tanh)(x), y);
const data = { x: tensorValue("f32", [2, 2], [1, 0, -1, 0]), y: tensorValue("f32", [2, 1], [1, -1]) };

describe("checkedTrainer", () => {
  it("changes nothing while steps stay finite", () => {
    const plain = createTrainer({ loss, params, optimizer: sgd(), learningRate: 0.1 });
    const checked = checkedTrainer(plain);
    let a = plain.init(3);
    let b = checked.init(3);
    for (let i = 0; i < 5; i++) {
      const ra = plain.trainStep(a, data);
      const rb = checked.trainStep(b, data);
      expect(rb.loss).toBe(ra.loss);
      a = ra.state;
      b = rb.state;
    }
    expect(Array.from(b.params["ct.0.W"]!.data)).toEqual(Array.from(a.params["ct.0.W"]!.data));
  });

  it("stops a diverging run at the first non-finite node of the step, naming the step", () => {
    // A learning rate of 1e30 sends the params past f32's range within a few steps.
    const trainer = checkedTrainer(createTrainer({ loss, params, optimizer: sgd(), learningRate: 1e30, name: "diverging" }));
    let state = trainer.init(3);
    let error: unknown;
    let steps = 0;
    for (; steps < 20 && error === undefined; steps++) {
      try {
        state = trainer.trainStep(state, data).state;
      } catch (e) {
        error = e;
      }
    }
    expect(error).toBeInstanceOf(NonFiniteError);
    const e = error as NonFiniteError;
    expect(e.message).toMatch(new RegExp(`^training step ${state.step + 1} \\(epoch 1\\): `));
    // The node is in the step graph, with an id, and every input of it is finite unless it is a leaf.
    expect(e.report.node.id).toBeTypeOf("number");
    if (e.report.inputs.length > 0) for (const i of e.report.inputs) expect(i.range.nan + i.range.posInf + i.range.negInf).toBe(0);
  });

  it("replays a step with every feed the trainer gives it (here the dropout key)", () => {
    const keyed = add(loss, mul(scalar(0), cast(stepKey(), "f32")));
    const trainer = checkedTrainer(createTrainer({ loss: keyed, params, optimizer: sgd(), learningRate: 1e30, name: "keyed" }));
    expect(trainer.stepGraph.graph.nodes.some((n) => n.op === "input" && n.params.name === "train.key")).toBe(true);
    let state = trainer.init(3);
    const run = (): void => {
      for (let i = 0; i < 20; i++) state = trainer.trainStep(state, data).state;
    };
    expect(run).toThrow(NonFiniteError);
  });
});
