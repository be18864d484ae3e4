/**
 * Training steps of the two example models against the same models written in jax-js and
 * in tfjs on its wasm backend: the ResNet-style CNN of `examples/mnist-resnet.ts` (batch
 * 64, 28x28) and the character Transformer of `examples/char-transformer.ts` (batch 32,
 * context 64). All three start from typegrad's initial params (copied by name) and train
 * with Adam (lr 1e-3, β 0.9 / 0.999, ε 1e-8) on a fixed random batch; batch norm runs in
 * training mode on batch statistics and updates its running statistics in all three.
 *
 * - typegrad: `createTrainer` on the example's loss, default (wasm) backend, one compiled
 *   step program per call, the previous state's arrays recycled as `fit` does.
 * - jax-js (wasm device): `jit` of `valueAndGrad` (with the batch-norm statistics as aux)
 *   plus the Adam update, one jitted function per step.
 * - tfjs-wasm: variables and `optimizer.minimize` with `tf.train.adam`. Convolutions are
 *   NHWC (what tfjs' CPU backends implement). tfjs-backend-wasm 4.22 registers no
 *   `Conv2DBackpropFilter` or `UnsortedSegmentSum` kernel, so when they are missing the
 *   filter gradient is a `tf.customGrad` (im2col patches · dy on the wasm matMul) and the
 *   embedding is a one-hot matMul; everything else is stock tfjs.
 *
 * Peers are optional: a missing one prints "not installed".
 */
import * as tg from "../src/index.js";
import { compile } from "../runtime/program.js";
import type { TensorValue } from "../runtime/value.js";
import * as resnet from "../examples/mnist-resnet.js";
import * as chars from "../examples/char-transformer.js";
import { markdownTable, measure, type Contender, type Timing } from "./measure.js";
import { loadPeers, type TfBackend } from "./peers.js";
import { loadJax } from "./wasmPeers.js";
import { values } from "./wasm.js";

export const RESNET_BATCH = 64;
export const TRANSFORMER_BATCH = 32;
const LEARNING_RATE = 1e-3;
const [BETA1, BETA2, EPSILON] = [0.9, 0.999, 1e-8];
const BN_MOMENTUM = 0.9;
const BN_EPSILON = 1e-5;
const LN_EPSILON = 1e-5;
const SEED = 7;

// ---------- shared inputs ----------

/** Deterministic uniform values in [0, 1) (the fast-backend benchmark's generator, shifted). */
const uniform = (n: number, seed: number): Float32Array => values(n, seed).map((v) => (v + 1) / 2);

const ints = (n: number, bound: number, seed: number): Int32Array => Int32Array.from(uniform(n, seed), (u) => Math.min(bound - 1, Math.floor(u * bound)));

export interface ModelCase {
  readonly name: string;
  readonly batch: number;
  /** The typegrad trainer (the example's loss and params, plain Adam). */
  readonly trainer: tg.Trainer;
  /** Our feeds for one batch. */
  readonly feeds: Readonly<Record<string, TensorValue>>;
}

export const resnetCase = (): ModelCase => {
  const b = RESNET_BATCH;
  return {
    name: `ResNet CNN (MNIST 28x28), batch ${b}`,
    batch: b,
    trainer: tg.createTrainer({ loss: resnet.loss, params: resnet.params, state: resnet.train.updates, optimizer: tg.adam(), learningRate: LEARNING_RATE, name: "resnetBench" }),
    feeds: { x: tg.tensorValue("f32", [b, 784], uniform(b * 784, 11)), labels: tg.tensorValue("i32", [b], Int32Array.from({ length: b }, (_, i) => (i * 7) % 10)) },
  };
};

export const transformerCase = (): ModelCase => {
  const [b, t, v] = [TRANSFORMER_BATCH, chars.CONTEXT, chars.vocab.length];
  return {
    name: `char Transformer (${chars.BLOCKS} blocks, dim ${chars.DIM}, ${chars.HEADS} heads, context ${t}), batch ${b}`,
    batch: b,
    trainer: tg.createTrainer({ loss: chars.loss, params: chars.params, optimizer: tg.adam(), learningRate: LEARNING_RATE, name: "transformerBench" }),
    feeds: { tokens: tg.tensorValue("i32", [b, t], ints(b * t, v, 12)), targets: tg.tensorValue("i32", [b, t], ints(b * t, v, 13)) },
  };
};

/** A contender that also reports its first-step loss and the number of trained values. */
interface ModelContender extends Contender {
  readonly firstLoss: () => number;
  readonly paramCount: () => number;
}

/** Copies of the initial values (our own arrays get recycled by later steps). */
const snapshot = (values: Readonly<Record<string, TensorValue>>): Record<string, TensorValue> =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { ...v, data: v.data.slice() } as TensorValue]));

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, d) => a * d, 1);

/** typegrad: `trainer.trainStep`, the previous state's arrays recycled (as `fit` does). */
const oursContender = (c: ModelCase, start: tg.TrainState): ModelContender => {
  let state = start;
  let previous: tg.TrainState | undefined;
  let firstLoss = Number.NaN;
  return {
    label: "typegrad",
    run: () => {
      const recycle = previous === undefined ? undefined : { ...previous.params, ...previous.optimizer };
      const r = c.trainer.trainStep(state, c.feeds, recycle === undefined ? {} : { recycle });
      previous = state;
      state = r.state;
      if (Number.isNaN(firstLoss)) firstLoss = r.loss;
    },
    firstLoss: () => firstLoss,
    paramCount: () => c.trainer.stepGraph.paramNames.reduce((a, n) => a + sizeOf(start.params[n]!.shape), 0),
  };
};

// ---------- jax-js ----------

/** The slice of jax-js used here (arrays are reference counted: passing one consumes it, `.ref` adds a reference). */
interface JArr {
  readonly ref: JArr;
  readonly shape: number[];
  add(o: JArr | number): JArr;
  sub(o: JArr | number): JArr;
  mul(o: JArr | number): JArr;
  div(o: JArr | number): JArr;
  sum(axis?: number | number[], opts?: { keepdims?: boolean }): JArr;
  mean(axis?: number | number[], opts?: { keepdims?: boolean }): JArr;
  max(axis?: number | number[], opts?: { keepdims?: boolean }): JArr;
  reshape(shape: number[]): JArr;
  slice(...index: (number | null)[]): JArr;
  transpose(perm: number[]): JArr;
  data(): Promise<Float32Array>;
  dispose(): void;
}
type JTree = Record<string, JArr>;
interface Jax {
  numpy: {
    array(values: Float32Array | Int32Array, opts?: { dtype?: unknown }): JArr;
    int32: unknown;
    bool: unknown;
    tri(n: number, m: number, k: number, opts: { dtype: unknown }): JArr;
    transpose(x: JArr, perm: number[]): JArr;
    matmul(a: JArr, b: JArr): JArr;
    square(x: JArr): JArr;
    sqrt(x: JArr): JArr;
    where(c: JArr, a: JArr, b: JArr | number): JArr;
    take(a: JArr, indices: JArr, axis: number): JArr;
    zeros(shape: number[]): JArr;
  };
  nn: {
    relu(x: JArr): JArr;
    gelu(x: JArr, opts: { approximate: boolean }): JArr;
    logSoftmax(x: JArr, axis: number): JArr;
    softmax(x: JArr, axis: number): JArr;
    oneHot(x: JArr, classes: number): JArr;
  };
  lax: { conv(lhs: JArr, rhs: JArr, strides: number[], padding: "SAME"): JArr };
  random: { key(seed: number): JArr; split(key: JArr, n: number): JArr; bernoulli(key: JArr, p: number, shape: number[]): JArr };
  jit<A extends unknown[], R>(f: (...args: A) => R): (...args: A) => R;
  valueAndGrad<A extends unknown[], Aux>(f: (p: JTree, ...rest: A) => [JArr, Aux], opts: { hasAux: true }): (p: JTree, ...rest: A) => [[JArr, Aux], JTree];
  blockUntilReady(tree: unknown): Promise<unknown>;
}

/** A per-site dropout in jax-js (inverted, keep probability 1 - rate). */
const jaxDropout = (jax: Jax, x: JArr, rate: number, key: JArr): JArr =>
  jax.numpy.where(jax.random.bernoulli(key, 1 - rate, x.shape), x.mul(1 / (1 - rate)), 0);

/** Batch norm over axes `axes` in training mode; returns the output and the batch statistics (flattened). */
const jaxBatchNorm = (jax: Jax, x: JArr, scale: JArr, offset: JArr, channels: number): { y: JArr; mu: JArr; variance: JArr } => {
  const mu = x.ref.mean([0, 2, 3], { keepdims: true });
  const centered = x.sub(mu.ref);
  const variance = jax.numpy.square(centered.ref).mean([0, 2, 3], { keepdims: true });
  const per = (p: JArr): JArr => p.reshape([1, channels, 1, 1]);
  const y = centered.div(jax.numpy.sqrt(variance.ref.add(BN_EPSILON))).mul(per(scale)).add(per(offset));
  return { y, mu: mu.reshape([channels]), variance: variance.reshape([channels]) };
};

const jaxLayerNorm = (jax: Jax, x: JArr, scale: JArr, offset: JArr): JArr => {
  const centered = x.sub(x.ref.mean(-1, { keepdims: true }));
  const variance = jax.numpy.square(centered.ref).mean(-1, { keepdims: true });
  return centered.div(jax.numpy.sqrt(variance.add(LN_EPSILON))).mul(scale).add(offset);
};

/** A model for jax-js: loss with aux (new values of the state), and which param names are trained vs state. */
interface JaxModel {
  readonly trained: readonly string[];
  readonly state: readonly string[];
  /** Loss and the batch statistics of each state param (running mean/var sites), given the trained params, batch arrays and a key. */
  readonly loss: (p: JTree, x: JArr, y: JArr, key: JArr) => [JArr, JTree];
  readonly batch: () => { x: JArr; y: JArr };
}

const jaxResnet = (jax: Jax, c: ModelCase, names: readonly string[]): JaxModel => {
  const { numpy: np, nn, lax } = jax;
  const b = c.batch;
  const bnSites: string[] = [];
  const loss = (p: JTree, x: JArr, y: JArr): [JArr, JTree] => {
    const stats: JTree = {};
    const bn = (h: JArr, site: string): JArr => {
      const channels = h.shape[1]!;
      const r = jaxBatchNorm(jax, h, p[`${site}.scale`]!, p[`${site}.offset`]!, channels);
      stats[`${site}.runningMean`] = r.mu;
      stats[`${site}.runningVar`] = r.variance;
      return r.y;
    };
    const conv = (h: JArr, w: string, stride: number): JArr => lax.conv(h, p[w]!, [stride, stride], "SAME");
    const stem = nn.relu(bn(conv(x.reshape([b, 1, 28, 28]), "stem.w", 1), "stemNorm"));
    const [ch, hw] = [stem.shape[1]!, stem.shape[2]! / 2];
    let h = stem.reshape([b, ch, hw, 2, hw, 2]).max([3, 5]);
    for (const block of ["block1", "block2"] as const) {
      const spec = resnet.params[block];
      const a = nn.relu(bn(conv(h.ref, `${block}.conv1.w`, spec.stride), `${block}.bn1`));
      const main = bn(conv(a, `${block}.conv2.w`, 1), `${block}.bn2`);
      const shortcut = spec.projection === undefined ? h : bn(conv(h, `${block}.shortcut.w`, spec.stride), `${block}.shortcutBn`);
      h = nn.relu(main.add(shortcut));
    }
    const logits = np.matmul(h.mean([2, 3]), p["head.W"]!).add(p["head.b"]!);
    return [nn.logSoftmax(logits, -1).mul(y).sum().mul(-1 / b), stats];
  };
  for (const n of names) if (n.endsWith(".runningMean")) bnSites.push(n.slice(0, -".runningMean".length));
  const state = bnSites.flatMap((s) => [`${s}.runningMean`, `${s}.runningVar`]);
  return {
    trained: names.filter((n) => !state.includes(n)),
    state,
    loss: (p, x, y, key) => {
      key.dispose();
      return loss(p, x, y);
    },
    batch: () => {
      const oneHot = new Float32Array(b * 10);
      (c.feeds.labels!.data as Int32Array).forEach((l, i) => (oneHot[i * 10 + l] = 1));
      return { x: np.array(Float32Array.from(c.feeds.x!.data)).reshape([b, 784]), y: np.array(oneHot).reshape([b, 10]) };
    },
  };
};

const jaxTransformer = (jax: Jax, c: ModelCase, names: readonly string[]): JaxModel => {
  const { numpy: np, nn } = jax;
  const [b, t, e, heads, v] = [c.batch, chars.CONTEXT, chars.DIM, chars.HEADS, chars.vocab.length];
  const dense = (p: JTree, h: JArr, name: string): JArr => np.matmul(h, p[`${name}.W`]!).add(p[`${name}.b`]!);
  const loss = (p: JTree, tokens: JArr, targets: JArr, key: JArr): [JArr, JTree] => {
    const keys = jax.random.split(key, 2 * chars.BLOCKS);
    const causal = np.tri(t, t, 0, { dtype: np.bool });
    let site = 0;
    const drop = (h: JArr): JArr => jaxDropout(jax, h, chars.DROPOUT, keys.ref.slice(site++));
    let h = np.take(p["tokens.table"]!, tokens, 0).add(p["positions"]!);
    for (let i = 0; i < chars.BLOCKS; i++) {
      const name = `block${i}`;
      const a = jaxLayerNorm(jax, h.ref, p[`${name}.norm1.scale`]!, p[`${name}.norm1.offset`]!);
      // nn.dotProductAttention needs einsum, which uses iterator helpers that Node 20 lacks: written out instead.
      const split = (proj: string, x: JArr, perm: number[]): JArr => dense(p, x, `${name}.attention.${proj}`).reshape([b, t, heads, e / heads]).transpose(perm);
      const scores = np.matmul(split("query", a.ref, [0, 2, 1, 3]), split("key", a.ref, [0, 2, 3, 1])).mul(1 / Math.sqrt(e / heads));
      const weights = nn.softmax(np.where(causal.ref, scores, -1e9), -1);
      const attended = np.matmul(weights, split("value", a, [0, 2, 1, 3])).transpose([0, 2, 1, 3]).reshape([b, t, e]);
      h = h.add(drop(dense(p, attended, `${name}.attention.output`)));
      const inner = nn.gelu(dense(p, jaxLayerNorm(jax, h.ref, p[`${name}.norm2.scale`]!, p[`${name}.norm2.offset`]!), `${name}.hidden`), { approximate: false });
      h = h.add(drop(dense(p, inner, `${name}.out`)));
    }
    keys.dispose();
    causal.dispose();
    const logits = dense(p, jaxLayerNorm(jax, h, p["finalNorm.scale"]!, p["finalNorm.offset"]!), "readout");
    return [nn.logSoftmax(logits, -1).mul(nn.oneHot(targets, v)).sum().mul(-1 / (b * t)), {}];
  };
  return {
    trained: names,
    state: [],
    loss,
    batch: () => ({
      x: np.array(Int32Array.from(c.feeds.tokens!.data), { dtype: np.int32 }).reshape([b, t]),
      y: np.array(Int32Array.from(c.feeds.targets!.data), { dtype: np.int32 }).reshape([b, t]),
    }),
  };
};

/** jax-js: one jitted function per step, `valueAndGrad` (aux: batch statistics) and Adam. */
const jaxContender = (jax: Jax, model: JaxModel, initial: Readonly<Record<string, TensorValue>>): ModelContender => {
  const np = jax.numpy;
  const step = jax.jit((p: JTree, m: JTree, v: JTree, s: JTree, x: JArr, y: JArr, c1: JArr, c2: JArr, key: JArr): [JArr, JTree, JTree, JTree, JTree] => {
    const [[loss, stats], grads] = jax.valueAndGrad(model.loss, { hasAux: true })(Object.fromEntries(Object.entries(p).map(([k, a]) => [k, a.ref])), x, y, key);
    const [np2, nm, nv, ns]: [JTree, JTree, JTree, JTree] = [{}, {}, {}, {}];
    for (const k of model.trained) {
      const g = grads[k]!;
      nm[k] = m[k]!.mul(BETA1).add(g.ref.mul(1 - BETA1));
      nv[k] = v[k]!.mul(BETA2).add(np.square(g).mul(1 - BETA2));
      np2[k] = p[k]!.sub(nm[k]!.ref.mul(c1.ref).div(np.sqrt(nv[k]!.ref.mul(c2.ref)).add(EPSILON)).mul(LEARNING_RATE));
    }
    for (const k of model.state) ns[k] = s[k]!.mul(BN_MOMENTUM).add(stats[k]!.mul(1 - BN_MOMENTUM));
    c1.dispose();
    c2.dispose();
    return [loss, np2, nm, nv, ns];
  });
  let st: { p: JTree; m: JTree; v: JTree; s: JTree; x: JArr; y: JArr; t: number } | undefined;
  let firstLoss = Number.NaN;
  const scalar = (x: number): JArr => np.array(Float32Array.of(x)).reshape([]);
  return {
    label: "jax-js",
    prepare: () => {
      if (st !== undefined) return;
      const arr = (name: string): JArr => np.array(Float32Array.from(initial[name]!.data)).reshape([...initial[name]!.shape]);
      const tree = (names: readonly string[], f: (n: string) => JArr): JTree => Object.fromEntries(names.map((n) => [n, f(n)]));
      const zeros = (n: string): JArr => np.zeros([...initial[n]!.shape]);
      st = { p: tree(model.trained, arr), m: tree(model.trained, zeros), v: tree(model.trained, zeros), s: tree(model.state, arr), ...model.batch(), t: 0 };
    },
    run: async () => {
      const s = st!;
      s.t++;
      const out = step(s.p, s.m, s.v, s.s, s.x.ref, s.y.ref, scalar(1 / (1 - BETA1 ** s.t)), scalar(1 / (1 - BETA2 ** s.t)), jax.random.key(s.t));
      const [loss, p, m, v, state] = out;
      const value = (await loss.data())[0]!;
      await jax.blockUntilReady([p, m, v, state]);
      Object.assign(s, { p, m, v, s: state });
      if (Number.isNaN(firstLoss)) firstLoss = value;
    },
    dispose: () => {
      if (st === undefined) return;
      for (const a of [...[st.p, st.m, st.v, st.s].flatMap((tr) => Object.values(tr)), st.x, st.y]) a.dispose();
    },
    firstLoss: () => firstLoss,
    paramCount: () => model.trained.reduce((a, n) => a + sizeOf(initial[n]!.shape), 0),
  };
};

// ---------- tfjs ----------

/** The slice of the TensorFlow.js API used here. */
interface TfT {
  readonly shape: number[];
  dataSync(): Float32Array | Int32Array | Uint8Array;
  dispose(): void;
}
interface TfVar extends TfT {
  assign(value: TfT): void;
}
type Nums = number | number[];
interface Tf {
  tensor(values: Float32Array | Int32Array, shape: number[], dtype?: string): TfT;
  variable(initial: TfT, trainable?: boolean): TfVar;
  add(a: TfT, b: TfT | number): TfT;
  sub(a: TfT, b: TfT | number): TfT;
  mul(a: TfT, b: TfT | number): TfT;
  div(a: TfT, b: TfT | number): TfT;
  sqrt(x: TfT): TfT;
  erf(x: TfT): TfT;
  relu(x: TfT): TfT;
  softmax(x: TfT): TfT;
  mean(x: TfT, axis: Nums, keepDims?: boolean): TfT;
  moments(x: TfT, axes: Nums, keepDims?: boolean): { mean: TfT; variance: TfT };
  reshape(x: TfT, shape: number[]): TfT;
  transpose(x: TfT, perm: number[]): TfT;
  matMul(a: TfT, b: TfT, transposeA?: boolean, transposeB?: boolean): TfT;
  conv2d(x: TfT, w: TfT, strides: number, pad: "same"): TfT;
  conv2dTranspose(dy: TfT, w: TfT, outputShape: number[], strides: number, pad: "same"): TfT;
  maxPool(x: TfT, size: number, strides: number, pad: "valid"): TfT;
  pad(x: TfT, paddings: [number, number][]): TfT;
  stridedSlice(x: TfT, begin: number[], end: number[], strides: number[]): TfT;
  concat(xs: TfT[], axis: number): TfT;
  // tfjs-backend-wasm 4.22 writes int bits when oneHot is asked for float32: cast instead.
  oneHot(indices: TfT, depth: number): TfT;
  cast(x: TfT, dtype: string): TfT;
  dropout(x: TfT, rate: number, noiseShape?: number[], seed?: number): TfT;
  keep<T extends TfT>(x: T): T;
  tidy<T>(f: () => T): T;
  customGrad(f: (...args: unknown[]) => { value: TfT; gradFunc: (dy: TfT, saved: TfT[]) => TfT[] }): (...args: TfT[]) => TfT;
  getKernel(name: string, backend: string): unknown;
  getBackend(): string;
  losses: { softmaxCrossEntropy(onehotLabels: TfT, logits: TfT): TfT };
  train: { adam(lr: number, beta1: number, beta2: number, epsilon: number): { minimize(f: () => TfT, returnCost: boolean, varList?: TfVar[]): TfT | null; dispose(): void } };
}

/** tfjs 'same' padding for one spatial dim (the extra element after, as typegrad and jax-js). */
const samePads = (size: number, kernel: number, stride: number): [number, number] => {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
};

/**
 * NHWC convolution with HWIO weights. When the backend lacks `Conv2DBackpropFilter`, a
 * `customGrad`: forward `conv2d`, input gradient `conv2dTranspose`, filter gradient as
 * im2col patches (strided slices of the padded input) times dy.
 */
const tfConv = (tf: Tf, stride: number): ((x: TfT, w: TfT) => TfT) => {
  if (tf.getKernel("Conv2DBackpropFilter", tf.getBackend()) !== undefined) return (x, w) => tf.conv2d(x, w, stride, "same");
  return tf.customGrad((...args: unknown[]) => {
    const [x, w, save] = args as [TfT, TfT, (ts: TfT[]) => void];
    save([x, w]);
    return {
      value: tf.conv2d(x, w, stride, "same"),
      gradFunc: (dy, [xs, ws]) => {
        const [n, h, wd, ci] = xs!.shape as [number, number, number, number];
        const [kh, kw, , co] = ws!.shape as [number, number, number, number];
        const [ho, wo] = [dy.shape[1]!, dy.shape[2]!];
        const dx = tf.conv2dTranspose(dy, ws!, xs!.shape, stride, "same");
        const padded = tf.pad(xs!, [[0, 0], samePads(h, kh, stride), samePads(wd, kw, stride), [0, 0]]);
        const patches: TfT[] = [];
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) patches.push(tf.stridedSlice(padded, [0, i, j, 0], [n, i + stride * (ho - 1) + 1, j + stride * (wo - 1) + 1, ci], [1, stride, stride, 1]));
        const cols = tf.reshape(patches.length === 1 ? patches[0]! : tf.concat(patches, 3), [n * ho * wo, kh * kw * ci]);
        const dw = tf.reshape(tf.matMul(cols, tf.reshape(dy, [n * ho * wo, co]), true, false), [kh, kw, ci, co]);
        return [dx, dw];
      },
    };
  });
};

/** OIHW (typegrad) -> HWIO (tfjs). */
const hwio = (v: TensorValue): Float32Array => {
  const [o, i, kh, kw] = v.shape as [number, number, number, number];
  const out = new Float32Array(v.data.length);
  for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = v.data[((a * i + b) * kh + y) * kw + x]!;
  return out;
};

interface TfModel {
  /** Trained variables by name, state variables by name. */
  readonly vars: Record<string, TfVar>;
  readonly state: Record<string, TfVar>;
  /** The loss; may push batch statistics (kept) to `stats` for the state updates after the step. */
  readonly loss: (stats: Record<string, TfT>, step: number) => TfT;
  readonly dispose: () => void;
}

const tfResnet = (tf: Tf, c: ModelCase, initial: Readonly<Record<string, TensorValue>>): TfModel => {
  const b = c.batch;
  const vars: Record<string, TfVar> = {};
  const state: Record<string, TfVar> = {};
  for (const [name, v] of Object.entries(initial)) {
    const t = v.shape.length === 4 ? tf.tensor(hwio(v), [v.shape[2]!, v.shape[3]!, v.shape[1]!, v.shape[0]!]) : tf.tensor(Float32Array.from(v.data), [...v.shape]);
    const isState = name.endsWith(".runningMean") || name.endsWith(".runningVar");
    (isState ? state : vars)[name] = tf.variable(t, !isState);
    t.dispose();
  }
  const x = tf.tensor(Float32Array.from(c.feeds.x!.data), [b, 28, 28, 1]);
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor(Int32Array.from(c.feeds.labels!.data), [b], "int32"), 10), "float32"));
  const convs = new Map<number, (x: TfT, w: TfT) => TfT>([1, 2].map((s) => [s, tfConv(tf, s)]));
  const loss = (stats: Record<string, TfT>): TfT => {
    const bn = (h: TfT, site: string): TfT => {
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      stats[`${site}.runningMean`] = tf.keep(mean);
      stats[`${site}.runningVar`] = tf.keep(variance);
      return tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, BN_EPSILON))), vars[`${site}.scale`]!), vars[`${site}.offset`]!);
    };
    const conv = (h: TfT, w: string, stride: number): TfT => convs.get(stride)!(h, vars[w]!);
    let h = tf.maxPool(tf.relu(bn(conv(x, "stem.w", 1), "stemNorm")), 2, 2, "valid");
    for (const block of ["block1", "block2"] as const) {
      const spec = resnet.params[block];
      const a = tf.relu(bn(conv(h, `${block}.conv1.w`, spec.stride), `${block}.bn1`));
      const main = bn(conv(a, `${block}.conv2.w`, 1), `${block}.bn2`);
      const shortcut = spec.projection === undefined ? h : bn(conv(h, `${block}.shortcut.w`, spec.stride), `${block}.shortcutBn`);
      h = tf.relu(tf.add(main, shortcut));
    }
    const logits = tf.add(tf.matMul(tf.mean(h, [1, 2]), vars["head.W"]!), vars["head.b"]!);
    return tf.losses.softmaxCrossEntropy(y, logits);
  };
  return { vars, state, loss, dispose: () => [...Object.values(vars), ...Object.values(state), x, y].forEach((t) => t.dispose()) };
};

const tfTransformer = (tf: Tf, c: ModelCase, initial: Readonly<Record<string, TensorValue>>): TfModel => {
  const [b, t, e, heads, v] = [c.batch, chars.CONTEXT, chars.DIM, chars.HEADS, chars.vocab.length];
  const d = e / heads;
  const vars: Record<string, TfVar> = {};
  for (const [name, val] of Object.entries(initial)) {
    const tensor = tf.tensor(Float32Array.from(val.data), [...val.shape]);
    vars[name] = tf.variable(tensor);
    tensor.dispose();
  }
  const gatherHasGrad = tf.getKernel("UnsortedSegmentSum", tf.getBackend()) !== undefined;
  const tokens = tf.tensor(Int32Array.from(c.feeds.tokens!.data), [b * t], "int32");
  const tokenOneHot = tf.tidy(() => tf.cast(tf.oneHot(tokens, v), "float32"));
  const targets = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor(Int32Array.from(c.feeds.targets!.data), [b * t], "int32"), v), "float32"));
  const maskBias = tf.tensor(Float32Array.from({ length: t * t }, (_, i) => (i % t <= Math.floor(i / t) ? 0 : -1e9)), [t, t]);
  const gather = (tf as unknown as { gather(x: TfT, i: TfT): TfT }).gather;
  const dense = (h: TfT, name: string): TfT => tf.add(tf.matMul(h, vars[`${name}.W`]!), vars[`${name}.b`]!);
  const layerNorm = (h: TfT, name: string): TfT => {
    const { mean, variance } = tf.moments(h, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, LN_EPSILON))), vars[`${name}.scale`]!), vars[`${name}.offset`]!);
  };
  const gelu = (h: TfT): TfT => tf.mul(tf.mul(h, 0.5), tf.add(tf.erf(tf.mul(h, Math.SQRT1_2)), 1));
  const loss = (_stats: Record<string, TfT>, step: number): TfT => {
    let site = 0;
    const drop = (h: TfT): TfT => tf.dropout(h, chars.DROPOUT, undefined, step * 16 + site++);
    const embedded = gatherHasGrad ? gather(vars["tokens.table"]!, tokens) : tf.matMul(tokenOneHot, vars["tokens.table"]!);
    let h = tf.reshape(tf.add(tf.reshape(embedded, [b, t, e]), vars["positions"]!), [b * t, e]);
    for (let i = 0; i < chars.BLOCKS; i++) {
      const name = `block${i}`;
      const a = layerNorm(h, `${name}.norm1`);
      const split = (proj: string): TfT => tf.transpose(tf.reshape(dense(a, `${name}.attention.${proj}`), [b, t, heads, d]), [0, 2, 1, 3]);
      const scores = tf.add(tf.mul(tf.matMul(split("query"), split("key"), false, true), 1 / Math.sqrt(d)), maskBias);
      const attended = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), split("value")), [0, 2, 1, 3]), [b * t, e]);
      h = tf.add(h, drop(dense(attended, `${name}.attention.output`)));
      h = tf.add(h, drop(dense(gelu(dense(layerNorm(h, `${name}.norm2`), `${name}.hidden`)), `${name}.out`)));
    }
    return tf.losses.softmaxCrossEntropy(targets, dense(layerNorm(h, "finalNorm"), "readout"));
  };
  return { vars, state: {}, loss, dispose: () => [...Object.values(vars), tokens, tokenOneHot, targets, maskBias].forEach((x) => x.dispose()) };
};

/** tfjs: `optimizer.minimize` with Adam; batch-norm running statistics assigned after each step. */
const tfContender = (backend: TfBackend, build: (tf: Tf) => TfModel): ModelContender => {
  const tf = backend.tf as unknown as Tf;
  let st: { model: TfModel; optimizer: ReturnType<Tf["train"]["adam"]>; step: number } | undefined;
  let firstLoss = Number.NaN;
  return {
    label: backend.label,
    prepare: async () => {
      await backend.use();
      st ??= { model: build(tf), optimizer: tf.train.adam(LEARNING_RATE, BETA1, BETA2, EPSILON), step: 0 };
    },
    run: () => {
      const s = st!;
      const stats: Record<string, TfT> = {};
      const step = ++s.step;
      const cost = s.optimizer.minimize(() => s.model.loss(stats, step), true, Object.values(s.model.vars));
      for (const [name, running] of Object.entries(s.model.state)) {
        const batch = stats[name]!;
        running.assign(tf.tidy(() => tf.add(tf.mul(running, BN_MOMENTUM), tf.mul(batch, 1 - BN_MOMENTUM))));
      }
      Object.values(stats).forEach((x) => x.dispose());
      if (cost === null) return;
      const loss = cost.dataSync()[0]!;
      cost.dispose();
      if (Number.isNaN(firstLoss)) firstLoss = loss;
    },
    dispose: () => {
      st?.model.dispose();
      st?.optimizer.dispose();
    },
    firstLoss: () => firstLoss,
    paramCount: () => Object.values(st?.model.vars ?? {}).reduce((a, x) => a + sizeOf(x.shape), 0),
  };
};

// ---------- the section ----------

export interface ModelBenchOptions {
  readonly rounds: number;
  readonly minBatchSeconds: number;
  /** Also profile our step programs (slowest steps). */
  readonly profile?: boolean;
}

/** Rows of the slowest-steps tables. */
const PROFILE_ROWS = 12;

/** The slowest steps of our compiled step program on the case's feeds. */
export const profileOurs = (c: ModelCase, state: tg.TrainState, runs: number): string => {
  const program = compile(c.trainer.stepGraph.graph, { allowExtraFeeds: true });
  const scalar = (v: number, dtype: "f32" | "i32" = "f32"): TensorValue => tg.tensorValue(dtype, [], dtype === "f32" ? Float32Array.of(v) : Int32Array.of(v));
  const feeds = { ...c.feeds, ...state.params, ...state.optimizer, [c.trainer.stepGraph.lrInput]: scalar(LEARNING_RATE), [c.trainer.stepGraph.stepInput]: scalar(1), [tg.STEP_KEY_INPUT]: scalar(1, "i32") };
  const rows = program
    .profile(feeds, runs)
    .slice(0, PROFILE_ROWS)
    .map((s) => [`${s.step.kind} ${s.step.ops.slice(0, 6).join(" → ")}${s.step.ops.length > 6 ? " …" : ""}`, s.step.backend, `[${s.step.shape.join(", ")}]`, s.ms.toFixed(2)]);
  return markdownTable([`slowest steps of our ${c.name.split(" (")[0]} step`, "backend", "output shape", "ms"], rows);
};

/**
 * The model section of `npm run bench`: one table (ms per training step, ratios peer / ours),
 * first-step losses and param counts per implementation, and a note on what differs.
 * @example console.log(await benchModels({ rounds: 5, minBatchSeconds: 0.5 }));
 */
export const benchModels = async (options: ModelBenchOptions): Promise<string> => {
  const tf = await loadPeers(new Set(["tfjs-wasm"]));
  const jaxLoaded = await loadJax();
  const jax = jaxLoaded.peer as unknown as Jax | undefined;
  const peerLabels = ["jax-js", "tfjs-wasm"];
  const status = new Map([["jax-js", jaxLoaded.status], ["tfjs-wasm", tf.status.get("tfjs-wasm") ?? "not installed"]]);
  const rows: string[][] = [];
  const checks: string[][] = [];
  const profiles: string[] = [];
  const cases: [ModelCase, (jax: Jax, c: ModelCase, names: readonly string[]) => JaxModel, (tf: Tf, c: ModelCase, init: Readonly<Record<string, TensorValue>>) => TfModel][] = [
    [resnetCase(), jaxResnet, tfResnet],
    [transformerCase(), jaxTransformer, tfTransformer],
  ];
  for (const [c, jaxModel, tfModel] of cases) {
    const start = c.trainer.init(SEED);
    const initial = snapshot(start.params);
    const contenders: ModelContender[] = [
      oursContender(c, start),
      ...(jax === undefined ? [] : [jaxContender(jax, jaxModel(jax, c, Object.keys(initial)), initial)]),
      ...tf.backends.map((b) => tfContender(b, (t) => tfModel(t, c, initial))),
    ];
    const timings: Timing[] = await measure(contenders, options);
    const ours = timings[0]!.seconds * 1000;
    const cells = peerLabels.flatMap((label) => {
      const t = timings.find((x) => x.label === label);
      if (t === undefined) return [status.get(label)!.startsWith("@") ? "—" : status.get(label)!, ""];
      return [(t.seconds * 1000).toFixed(1), `${(t.seconds * 1000 / ours).toFixed(2)}x`];
    });
    rows.push([c.name, ours.toFixed(1), ...cells]);
    for (const [i, k] of contenders.entries()) {
      const ms = timings[i]!.samples.map((x) => x * 1000);
      checks.push([c.name.split(" (")[0]!, k.label, k.firstLoss().toFixed(4), k.paramCount().toLocaleString("en-US"), `${Math.min(...ms).toFixed(1)}–${Math.max(...ms).toFixed(1)}`]);
    }
    if (options.profile === true) profiles.push(profileOurs(c, start, 3));
    process.stderr.write(`model ${c.name} done\n`);
  }
  const header = ["case", "typegrad ms", ...peerLabels.flatMap((l) => [`${l} ms`, `${l} / ours`])];
  const note = [
    "Same initial params (typegrad's, copied by name), same fixed random batch, Adam (lr 1e-3), batch norm in training mode with running-statistics updates in all three.",
    "Dropout 0.1 (4 sites) in all three, each library's own random masks, so first-step Transformer losses differ slightly.",
    "tfjs convolutions are NHWC; tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter / UnsortedSegmentSum kernels, so the tfjs version uses a customGrad filter gradient (im2col · dy) and a one-hot matMul embedding.",
    "The examples' learning-rate schedules and the Transformer's gradient clipping are left out everywhere (plain Adam).",
  ];
  return [
    `### Model training steps, ms per step (lower is better; ratio = peer time / ours, above 1 means typegrad is faster)`,
    "",
    `Peers: ${[...status].map(([l, s]) => `${l}: ${s}`).join("; ")}`,
    "",
    markdownTable(header, rows),
    "",
    note.map((n) => `- ${n}`).join("\n"),
    "",
    markdownTable(["model", "implementation", "first-step loss", "trained params", "ms per step, rounds min–max"], checks),
    ...profiles.flatMap((p) => ["", p]),
  ].join("\n");
};
