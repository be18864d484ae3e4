/**
 * Peers of the fast-backend benchmark beyond `bench/peers.ts`: jax-js on its wasm device
 * (`init("wasm")`: its default init probes `navigator`), with the same matmul and the
 * same MLP training step as `jit(valueAndGrad)` plus the SGD update in one jitted
 * function; and onnxruntime-node with two intra-op threads. Both are optional: loaders
 * return undefined and a reason when the package is missing. jax-js is imported by path
 * from `bench/peers/node_modules` and typed here by hand (only the calls made).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as path from "node:path";
import { ortSessionFactory, type OrtModule, type OrtTensorLike } from "../compiler/onnx/session.js";
import type { TensorValue } from "../runtime/value.js";
import type { Contender } from "./measure.js";
import type { OrtPeer } from "./peers.js";
import { MLP_BATCH, MLP_LEARNING_RATE, MLP_SIZES, mlpBatch } from "./cases.js";

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const requireFrom = [createRequire(path.join(benchDir, "peers", "package.json")), createRequire(path.join(benchDir, "..", "package.json"))];

/** The version in the package.json of `name` found above a resolved entry file ("?" if none). */
const versionNear = (resolved: string, name: string): string => {
  for (let dir = path.dirname(resolved); dir !== path.dirname(dir); dir = path.dirname(dir))
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version ?? "?";
    } catch {
      // no package.json here: go up
    }
  return "?";
};

const resolve = (name: string): { path: string; version: string } | undefined => {
  for (const req of requireFrom)
    try {
      const resolved = req.resolve(name);
      let version = "?";
      try {
        version = (req(`${name}/package.json`) as { version?: string }).version ?? "?";
      } catch {
        // exports may hide package.json: read it from the package directory instead
        version = versionNear(resolved, name);
      }
      return { path: resolved, version };
    } catch {
      // try the next place
    }
  return undefined;
};

/** What a loader found: the peer, or why there is none. */
export type Loaded<T> = { readonly peer: T; readonly status: string } | { readonly peer: undefined; readonly status: string };

/** onnxruntime-node with `threads` intra-op threads. */
export const loadOrtThreads = async (threads: number): Promise<Loaded<OrtPeer>> => {
  const found = resolve("onnxruntime-node");
  if (found === undefined) return { peer: undefined, status: "not installed" };
  const loaded = (await import(pathToFileURL(found.path).href)) as OrtModule<OrtTensorLike> & { default?: OrtModule<OrtTensorLike> };
  const ort = loaded.InferenceSession !== undefined ? loaded : loaded.default!;
  const label = `onnxruntime ${threads} thread${threads === 1 ? "" : "s"}`;
  return { peer: { label, open: ortSessionFactory(ort, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential" }) }, status: `onnxruntime-node ${found.version}` };
};

/** The slice of jax-js used here. Arrays are reference counted: passing one to a function consumes it; `.ref` adds a reference. */
interface JaxArray {
  readonly ref: JaxArray;
  reshape(shape: number[]): JaxArray;
  add(other: JaxArray): JaxArray;
  sub(other: JaxArray): JaxArray;
  mul(other: JaxArray | number): JaxArray;
  sum(): JaxArray;
  data(): Promise<Float32Array>;
  dispose(): void;
}
type JaxParams = Record<string, JaxArray>;
interface JaxModule {
  init(...devices: string[]): Promise<string[]>;
  numpy: { array(values: Float32Array): JaxArray; matmul(a: JaxArray, b: JaxArray): JaxArray; tanh(x: JaxArray): JaxArray };
  nn: { logSoftmax(x: JaxArray, axis: number): JaxArray };
  jit<A extends unknown[], R>(f: (...args: A) => R): (...args: A) => R;
  valueAndGrad<A extends unknown[]>(f: (...args: A) => JaxArray): (...args: A) => [JaxArray, JaxParams];
  blockUntilReady(tree: unknown): Promise<unknown>;
}

/** jax-js on its wasm device. */
export const loadJax = async (): Promise<Loaded<JaxModule>> => {
  const found = resolve("@jax-js/jax");
  if (found === undefined) return { peer: undefined, status: "not installed" };
  const jax = (await import(pathToFileURL(found.path).href)) as JaxModule;
  const devices = await jax.init("wasm");
  if (!devices.includes("wasm")) return { peer: undefined, status: `@jax-js/jax ${found.version}: no wasm device` };
  return { peer: jax, status: `@jax-js/jax ${found.version} (wasm)` };
};

/** Deterministic values in [-1, 1) (the benchmark's own generator, so every contender multiplies the same numbers). */
export type Values = (n: number, seed: number) => Float32Array;

/** jax-js: `jit(matmul)` on N x N operands, waiting for the result's data. */
export const matmulJax = (jax: JaxModule, n: number, values: Values): Contender => {
  const { numpy: np } = jax;
  const mm = jax.jit((a: JaxArray, b: JaxArray) => np.matmul(a, b));
  let operands: [JaxArray, JaxArray] | undefined;
  return {
    label: "jax-js",
    prepare: () => {
      operands ??= [np.array(values(n * n, 1)).reshape([n, n]), np.array(values(n * n, 2)).reshape([n, n])];
    },
    run: async () => {
      // data() takes ownership of the result (jax-js' move semantics): nothing to dispose.
      await mm(operands![0].ref, operands![1].ref).data();
    },
    dispose: () => operands?.forEach((a) => a.dispose()),
  };
};

/**
 * jax-js: the MLP step as one jitted function, `valueAndGrad` of the softmax
 * cross-entropy and the SGD update, from the same initial params and batch as ours.
 */
export const mlpJax = (jax: JaxModule, initial: Readonly<Record<string, TensorValue>>): Contender & { firstLoss(): number } => {
  const { numpy: np, nn } = jax;
  const layers = MLP_SIZES.length - 1;
  const lossOf = (p: JaxParams, x: JaxArray, y: JaxArray): JaxArray => {
    let h = x;
    for (let l = 0; l < layers; l++) {
      const z = np.matmul(h, p[`w${l}`]!).add(p[`b${l}`]!);
      h = l + 1 < layers ? np.tanh(z) : z;
    }
    return nn.logSoftmax(h, -1).mul(y).sum().mul(-1 / MLP_BATCH);
  };
  const step = jax.jit((p: JaxParams, x: JaxArray, y: JaxArray): [JaxArray, JaxParams] => {
    const refs: JaxParams = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.ref]));
    const [loss, grads] = jax.valueAndGrad(lossOf)(refs, x, y);
    const next: JaxParams = {};
    for (const k of Object.keys(p)) next[k] = p[k]!.sub(grads[k]!.mul(MLP_LEARNING_RATE));
    return [loss, next];
  });
  let state: { p: JaxParams; x: JaxArray; y: JaxArray } | undefined;
  let firstLoss = Number.NaN;
  return {
    label: "jax-js",
    prepare: () => {
      if (state !== undefined) return;
      const p: JaxParams = {};
      for (let l = 0; l < layers; l++) {
        const [W, b] = [initial[`mlp.${l}.W`], initial[`mlp.${l}.b`]];
        if (W === undefined || b === undefined) throw new Error(`no initial value for layer ${l}`);
        p[`w${l}`] = np.array(Float32Array.from(W.data)).reshape([MLP_SIZES[l]!, MLP_SIZES[l + 1]!]);
        p[`b${l}`] = np.array(Float32Array.from(b.data));
      }
      const batch = mlpBatch();
      const oneHot = new Float32Array(MLP_BATCH * 10);
      batch.labels.forEach((c, i) => (oneHot[i * 10 + c] = 1));
      state = { p, x: np.array(batch.x).reshape([MLP_BATCH, MLP_SIZES[0]]), y: np.array(oneHot).reshape([MLP_BATCH, 10]) };
    },
    run: async () => {
      const s = state!;
      const [loss, next] = step(s.p, s.x.ref, s.y.ref);
      const value = (await loss.data())[0]!;
      await jax.blockUntilReady(next);
      s.p = next;
      if (Number.isNaN(firstLoss)) firstLoss = value;
    },
    dispose: () => {
      if (state === undefined) return;
      for (const a of [...Object.values(state.p), state.x, state.y]) a.dispose();
    },
    firstLoss: () => firstLoss,
  };
};
