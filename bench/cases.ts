/**
 * Benchmark cases: fp32 square matmul and one SGD training step of an MLP
 * 784-256-256-10 (tanh, softmax cross-entropy, batch 128), as typegrad programs and as
 * the same work in each peer. Our step is one compiled program computing the loss and
 * the new params; the params are fed on every step and replaced by the outputs.
 */
import * as tg from "../src/index.js";
import { compile, type Program } from "../runtime/program.js";
import { evaluate } from "../runtime/interpret.js";
import { tensorValue, type TensorValue } from "../runtime/value.js";
import type { Contender } from "./measure.js";
import type { OrtPeer, TfBackend, TfTensor } from "./peers.js";
import { exportOnnx } from "../src/deploy.js";
import type { OnnxSession } from "../compiler/onnx/session.js";

/** Deterministic values in [-1, 1). */
const randomValues = (n: number, seed: number): Float32Array => {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
};

// ---------- matmul ----------

/**
 * typegrad on its portable JavaScript backend (`backend: "js"`; the fast wasm backend is
 * timed by `bench/wasm.ts`): a compiled program for `matmul(a, b)` (output allocated on
 * every run, as users get it).
 */
export const matmulOurs = (n: number): Contender => {
  const a = tg.input("a", [n, n], "f32");
  const b = tg.input("b", [n, n], "f32");
  const program = compile(tg.buildGraph(tg.matmul(a, b)), { backend: "js" });
  const feeds = { a: tensorValue("f32", [n, n], randomValues(n * n, 1)), b: tensorValue("f32", [n, n], randomValues(n * n, 2)) };
  return { label: "typegrad", run: () => void program.run(feeds) };
};

/** The plain i-k-j loop on Float32Array: the baseline every JS implementation starts from. */
export const matmulPlainLoop = (n: number): Contender => {
  const [a, b, c] = [randomValues(n * n, 1), randomValues(n * n, 2), new Float32Array(n * n)];
  return {
    label: "js i-k-j loop",
    run: () => {
      c.fill(0);
      for (let i = 0; i < n; i++)
        for (let k = 0; k < n; k++) {
          const x = a[i * n + k]!;
          const row = k * n;
          const out = i * n;
          for (let j = 0; j < n; j++) c[out + j]! += x * b[row + j]!;
        }
    },
  };
};

/** tfjs `matMul` on one backend; `dataSync` makes it finish inside the timed region. */
export const matmulTf = (backend: TfBackend, n: number): Contender => {
  const { tf } = backend;
  let operands: [TfTensor, TfTensor] | undefined;
  return {
    label: backend.label,
    prepare: async () => {
      await backend.use();
      operands ??= [tf.tensor2d(randomValues(n * n, 1), [n, n]), tf.tensor2d(randomValues(n * n, 2), [n, n])];
    },
    run: () => {
      const c = tf.matMul(operands![0], operands![1]);
      c.dataSync();
      c.dispose();
    },
    dispose: () => operands?.forEach((t) => t.dispose()),
  };
};

/** ONNX Runtime running typegrad's ONNX export of `matmul(a, b)`. */
export const matmulOrt = (peer: OrtPeer, n: number): Contender => {
  const a = tg.input("a", [n, n], "f32");
  const b = tg.input("b", [n, n], "f32");
  const feeds = { a: tensorValue("f32", [n, n], randomValues(n * n, 1)), b: tensorValue("f32", [n, n], randomValues(n * n, 2)) };
  let session: OnnxSession | undefined;
  return {
    label: peer.label,
    prepare: async () => {
      session ??= await peer.open(exportOnnx({ c: tg.matmul(a, b) }));
    },
    run: async () => void (await session!.run(feeds)),
    dispose: () => void session?.release(),
  };
};

// ---------- MLP training step ----------

export const MLP_SIZES = [784, 256, 256, 10] as const;
export const MLP_BATCH = 128;
export const MLP_LEARNING_RATE = 0.05;

/** Output name of a param's new value (ONNX needs names distinct from the param's). */
export const nextName = (param: string): string => `next.${param}`;

/** The training-step graph: outputs `loss` and the new value of every param (`next.<param>`). */
export const mlpStepGraph = (): tg.Graph => {
  const x = tg.input("x", [tg.sym("batch"), MLP_SIZES[0]], "f32");
  const labels = tg.input("labels", [tg.sym("batch")], "i32");
  const params = tg.mlp.init("mlp", MLP_SIZES);
  const logits = tg.mlp(params, tg.tanh)(x) as tg.Tensor<readonly [tg.Sym<"batch">, 10], "f32">;
  const loss = tg.softmaxCrossEntropy(logits, labels);
  const leaves = tg.collectParams(params).map((node) => ({ node }) as tg.AnyTensor);
  const grads = tg.grad(loss, leaves) as tg.AnyTensor[];
  const lr = tg.scalar(MLP_LEARNING_RATE, "f32");
  const outputs: Record<string, tg.AnyTensor> = { loss };
  leaves.forEach((p, i) => (outputs[nextName((p.node.params as { name: string }).name)] = tg.sub(p, tg.mul(lr, grads[i]!))));
  return tg.buildGraph(outputs, "mlpStep");
};

/** A fixed batch: inputs in [-1, 1), labels 0..9. */
export const mlpBatch = (): { x: Float32Array; labels: Int32Array } => ({
  x: randomValues(MLP_BATCH * MLP_SIZES[0], 3),
  labels: Int32Array.from({ length: MLP_BATCH }, (_, i) => (i * 7) % 10),
});

/** Loss of the first step (same params and batch everywhere, so all implementations must agree). */
export interface LossProbe {
  readonly firstLoss: () => number;
}

export interface MlpOurs extends Contender, LossProbe {
  readonly program: () => Program;
  readonly compileSeconds: () => number;
  readonly feeds: () => Record<string, TensorValue>;
  /** The initial param values, shared with the peers. */
  readonly initialParams: () => Readonly<Record<string, TensorValue>>;
}

/**
 * One SGD step of a compiled `mlpStepGraph()` per call, params fed back, the way `fit`
 * runs a trainer: the arrays of the params two steps back (no longer referenced) are
 * handed to the program for reuse, so a step allocates no fresh param arrays.
 * @example const step = recyclingMlpStep(program, initial, data); step.run(); step.firstLoss();
 */
export const recyclingMlpStep = (
  program: () => Program,
  initial: Readonly<Record<string, TensorValue>>,
  data: Readonly<Record<string, TensorValue>>,
): { run(): void; params(): Record<string, TensorValue>; firstLoss(): number } => {
  let params: Record<string, TensorValue> = { ...initial };
  let previous: Record<string, TensorValue> | undefined;
  // The initial params are the caller's arrays: never handed out for reuse.
  let ours = false;
  let firstLoss = Number.NaN;
  return {
    run: () => {
      const reuse: Record<string, TensorValue> = {};
      if (previous !== undefined) for (const name of Object.keys(previous)) reuse[nextName(name)] = previous[name]!;
      const out = program().runNamed({ ...params, ...data }, { reuse });
      previous = ours ? params : undefined;
      ours = true;
      const next: Record<string, TensorValue> = {};
      for (const name of Object.keys(params)) next[name] = out[nextName(name)]!;
      params = next;
      if (Number.isNaN(firstLoss)) firstLoss = out.loss!.data[0]!;
    },
    params: () => params,
    firstLoss: () => firstLoss,
  };
};

/** typegrad on its portable JavaScript backend: compile once (timed separately), then one program run per step, params fed back (arrays recycled, as `fit` does). */
export const mlpOurs = (): MlpOurs => {
  const batch = mlpBatch();
  const data = { x: tensorValue("f32", [MLP_BATCH, MLP_SIZES[0]], batch.x), labels: tensorValue("i32", [MLP_BATCH], batch.labels) };
  let program: Program | undefined;
  let compileSeconds = 0;
  const graph = mlpStepGraph();
  const initial = tg.initParams(graph, 42)[0];
  const step = recyclingMlpStep(() => program!, initial, data);
  return {
    label: "typegrad",
    prepare: () => {
      if (program !== undefined) return;
      const t0 = performance.now();
      program = compile(mlpStepGraph(), { backend: "js" });
      compileSeconds = (performance.now() - t0) / 1000;
    },
    run: step.run,
    program: () => program!,
    compileSeconds: () => compileSeconds,
    feeds: () => ({ ...step.params(), ...data }),
    initialParams: () => initial,
    firstLoss: step.firstLoss,
  };
};

/** The same step graph run node by node by the reference interpreter (what `compile` speeds up). */
export const mlpInterpreter = (initial: Readonly<Record<string, TensorValue>>): Contender & LossProbe => {
  const graph = mlpStepGraph();
  const batch = mlpBatch();
  const data = { x: tensorValue("f32", [MLP_BATCH, MLP_SIZES[0]], batch.x), labels: tensorValue("i32", [MLP_BATCH], batch.labels) };
  let params: Record<string, TensorValue> = { ...initial };
  let firstLoss = Number.NaN;
  return {
    label: "reference interpreter",
    run: () => {
      const values = evaluate(graph.outputs, { ...params, ...data });
      const out = Object.fromEntries(graph.outputNames.map((name, i) => [name, values[i]!]));
      for (const name of Object.keys(params)) params[name] = out[nextName(name)]!;
      if (Number.isNaN(firstLoss)) firstLoss = out.loss!.data[0]!;
    },
    firstLoss: () => firstLoss,
  };
};

/** ONNX Runtime running typegrad's ONNX export of the same step graph, params fed back each step. */
export const mlpOrt = (peer: OrtPeer, initial: Readonly<Record<string, TensorValue>>): Contender & LossProbe => {
  const graph = mlpStepGraph();
  const batch = mlpBatch();
  const data = { x: tensorValue("f32", [MLP_BATCH, MLP_SIZES[0]], batch.x), labels: tensorValue("i32", [MLP_BATCH], batch.labels) };
  let params: Record<string, TensorValue> = { ...initial };
  let session: OnnxSession | undefined;
  let firstLoss = Number.NaN;
  return {
    label: peer.label,
    prepare: async () => {
      session ??= await peer.open(exportOnnx(graph, { paramsAs: "inputs" }));
    },
    run: async () => {
      const out = await session!.run({ ...params, ...data });
      for (const name of Object.keys(params)) params[name] = out[nextName(name)]!;
      if (Number.isNaN(firstLoss)) firstLoss = out.loss!.data[0]!;
    },
    dispose: () => void session?.release(),
    firstLoss: () => firstLoss,
  };
};

/**
 * tfjs: variables and `optimizer.minimize` (gradients by tfjs' tape), the idiomatic tfjs
 * training step, from the same initial params (`mlp.<layer>.W` / `.b`) as ours.
 */
export const mlpTf = (backend: TfBackend, initial: Readonly<Record<string, TensorValue>>): Contender & LossProbe => {
  const { tf } = backend;
  let state: { vars: TfTensor[]; x: TfTensor; y: TfTensor; step: () => TfTensor | null } | undefined;
  let firstLoss = Number.NaN;
  return {
    label: backend.label,
    prepare: async () => {
      await backend.use();
      if (state !== undefined) return;
      const vars: TfTensor[] = [];
      for (let i = 0; i + 1 < MLP_SIZES.length; i++) {
        const [W, b] = [initial[`mlp.${i}.W`], initial[`mlp.${i}.b`]];
        if (W === undefined || b === undefined) throw new Error(`no initial value for layer ${i} (params: ${Object.keys(initial).join(", ")})`);
        const w0 = tf.tensor2d(Float32Array.from(W.data), [MLP_SIZES[i]!, MLP_SIZES[i + 1]!]);
        const b0 = tf.tensor1d(Float32Array.from(b.data));
        vars.push(tf.variable(w0), tf.variable(b0));
        w0.dispose();
        b0.dispose();
      }
      const batch = mlpBatch();
      const x = tf.tensor2d(batch.x, [MLP_BATCH, MLP_SIZES[0]]);
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d(batch.labels, "int32"), 10));
      const optimizer = tf.train.sgd(MLP_LEARNING_RATE);
      const forward = (): TfTensor => {
        let h = x;
        for (let i = 0; i < vars.length; i += 2) {
          const z = tf.add(tf.matMul(h, vars[i]!), vars[i + 1]!);
          h = i + 2 < vars.length ? tf.tanh(z) : z;
        }
        return tf.losses.softmaxCrossEntropy(y, h);
      };
      state = { vars, x, y, step: () => optimizer.minimize(forward, true) };
    },
    run: () => {
      const cost = state!.step();
      if (cost === null) return;
      const loss = cost.dataSync()[0]!;
      if (Number.isNaN(firstLoss)) firstLoss = loss;
      cost.dispose();
    },
    dispose: () => {
      if (state === undefined) return;
      for (const t of [...state.vars, state.x, state.y]) t.dispose();
    },
    firstLoss: () => firstLoss,
  };
};
