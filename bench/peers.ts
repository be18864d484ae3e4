/**
 * Loading the benchmark's peer libraries from `bench/peers/node_modules` (installed on
 * demand by `npm run bench:peers`; onnxruntime-node is also found among typegrad's own
 * dev dependencies). Every peer is optional: a missing one is reported as
 * "not installed" and its columns say so. Modules are imported by resolved path, so
 * type-checking typegrad never needs them; the few calls the benchmark makes are typed
 * here by hand.
 */
import { createRequire } from "node:module";
import { ortSessionFactory, type OnnxSessionFactory, type OrtModule, type OrtTensorLike } from "../compiler/onnx/session.js";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as path from "node:path";

/** The slice of the TensorFlow.js API the benchmark uses. */
export interface TfTensor {
  dataSync(): Float32Array | Int32Array | Uint8Array;
  dispose(): void;
}
export interface TfModule {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  tensor2d(values: Float32Array, shape: [number, number]): TfTensor;
  tensor1d(values: Int32Array | Float32Array, dtype?: string): TfTensor;
  variable(initial: TfTensor): TfTensor;
  matMul(a: TfTensor, b: TfTensor): TfTensor;
  add(a: TfTensor, b: TfTensor): TfTensor;
  tanh(x: TfTensor): TfTensor;
  oneHot(indices: TfTensor, depth: number): TfTensor;
  tidy<T>(f: () => T): T;
  memory(): { numBytes: number; numTensors: number };
  losses: { softmaxCrossEntropy(onehotLabels: TfTensor, logits: TfTensor): TfTensor };
  train: { sgd(learningRate: number): { minimize(f: () => TfTensor, returnCost: boolean): TfTensor | null } };
}

/** A peer backend: a name for the table and a way to make it current. */
export interface TfBackend {
  readonly label: string;
  readonly tf: TfModule;
  /** Makes this backend current (tfjs has one current backend per process). */
  readonly use: () => Promise<void>;
}

/** ONNX Runtime (native, via onnxruntime-node) with a fixed number of threads; models come from typegrad's ONNX export. */
export interface OrtPeer {
  readonly label: string;
  readonly open: OnnxSessionFactory;
}

export interface Peers {
  readonly backends: readonly TfBackend[];
  readonly ort: readonly OrtPeer[];
  /** Every peer we know of and what happened when loading it: a version, or "not installed", or the error. */
  readonly status: ReadonlyMap<string, string>;
}

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const requireFromPeers = createRequire(path.join(benchDir, "peers", "package.json"));
// onnxruntime-node is also a dev dependency of typegrad (its ONNX tests use it).
const requireFromRoot = createRequire(path.join(benchDir, "..", "package.json"));

const resolvePeer = (name: string): string | undefined => {
  for (const req of [requireFromPeers, requireFromRoot])
    try {
      return req.resolve(name);
    } catch {
      // try the next place
    }
  return undefined;
};

const versionOf = (name: string): string => {
  for (const req of [requireFromPeers, requireFromRoot])
    try {
      return (req(`${name}/package.json`) as { version?: string }).version ?? "?";
    } catch {
      // try the next place
    }
  return "?";
};

const importPeer = async (resolved: string): Promise<unknown> => import(pathToFileURL(resolved).href);

/** Known peer columns, in table order. */
export const PEER_LABELS = ["tfjs-cpu", "tfjs-wasm", "onnxruntime 1 thread"] as const;

/** ONNX Runtime with one intra-op thread: the native single-core reference. */
const loadOrt = async (status: Map<string, string>): Promise<OrtPeer[]> => {
  const label = "onnxruntime 1 thread";
  const ortPath = resolvePeer("onnxruntime-node");
  if (ortPath === undefined) {
    status.set(label, "not installed");
    return [];
  }
  try {
    const loaded = (await importPeer(ortPath)) as OrtModule<OrtTensorLike> & { default?: OrtModule<OrtTensorLike> };
    const ort = loaded.InferenceSession !== undefined ? loaded : loaded.default!;
    status.set(label, `onnxruntime-node ${versionOf("onnxruntime-node")}`);
    return [{ label, open: ortSessionFactory(ort, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential" }) }];
  } catch (e) {
    status.set(label, `failed: ${e instanceof Error ? e.message : String(e)}`);
    return [];
  }
};

/**
 * Loads whichever peers are installed; with `wanted`, only those (the others are
 * "skipped" and not even imported, so they cannot run threads of their own).
 * @example const peers = await loadPeers(); for (const b of peers.backends) await b.use();
 */
export const loadPeers = async (wanted?: ReadonlySet<string>): Promise<Peers> => {
  const want = (label: string): boolean => wanted === undefined || wanted.has(label);
  const status = new Map<string, string>();
  const backends: TfBackend[] = [];
  const ort = want("onnxruntime 1 thread") ? await loadOrt(status) : [];
  for (const label of PEER_LABELS) if (!want(label)) status.set(label, "skipped");
  if (!want("tfjs-cpu") && !want("tfjs-wasm")) return { backends, ort, status };
  const tfPath = resolvePeer("@tensorflow/tfjs");
  if (tfPath === undefined) {
    for (const label of ["tfjs-cpu", "tfjs-wasm"]) if (want(label)) status.set(label, "not installed");
    return { backends, ort, status };
  }
  const loaded = (await importPeer(tfPath)) as TfModule & { default?: TfModule };
  const tf = typeof loaded.matMul === "function" ? loaded : loaded.default!;
  const use = (name: string) => async (): Promise<void> => {
    if (tf.getBackend() === name) return;
    if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} failed to initialize`);
    await tf.ready();
  };
  if (want("tfjs-cpu")) {
    backends.push({ label: "tfjs-cpu", tf, use: use("cpu") });
    status.set("tfjs-cpu", `@tensorflow/tfjs ${versionOf("@tensorflow/tfjs")}`);
  }
  if (want("tfjs-wasm")) {
    const wasmPath = resolvePeer("@tensorflow/tfjs-backend-wasm");
    if (wasmPath === undefined) status.set("tfjs-wasm", "not installed");
    else
      try {
        await importPeer(wasmPath);
        await use("wasm")();
        backends.push({ label: "tfjs-wasm", tf, use: use("wasm") });
        status.set("tfjs-wasm", `@tensorflow/tfjs-backend-wasm ${versionOf("@tensorflow/tfjs-backend-wasm")}`);
      } catch (e) {
        status.set("tfjs-wasm", `failed: ${e instanceof Error ? e.message : String(e)}`);
      }
  }
  await use("cpu")();
  return { backends, ort, status };
};
