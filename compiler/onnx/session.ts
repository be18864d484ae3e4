/**
 * Running exported models: a small session interface over typegrad values, and an
 * adapter from an ONNX Runtime JavaScript module (onnxruntime-node, -web) to it.
 *
 * Takes the runtime module as a value, so typegrad does not depend on onnxruntime at
 * run time. Guarantees: feeds and results are `TensorValue`s (f32 <-> float32, f64 <->
 * float64, i32 <-> int32, bool <-> bool as 0/1 bytes); result data is copied out of the
 * runtime's buffers; an output of a type typegrad has no dtype for is an error naming it.
 */
import type { DType } from "../../src/ops.js";
import type { TensorValue } from "../../runtime/value.js";

/** An exported model loaded in some engine. */
export interface OnnxSession {
  /** Runs the model; `fetches` limits the outputs computed (default: all). */
  readonly run: (feeds: Readonly<Record<string, TensorValue>>, fetches?: readonly string[]) => Promise<Record<string, TensorValue>>;
  /** Names of the model's required inputs. */
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly release: () => Promise<void>;
}

/** Loads model bytes into a session. */
export type OnnxSessionFactory = (model: Uint8Array) => Promise<OnnxSession>;

/** The tensor shape ONNX Runtime returns. */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

interface OrtSessionLike<T> {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, T>, fetches: string[]): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

/** The parts of an ONNX Runtime JavaScript module the adapter uses. */
export interface OrtModule<T extends OrtTensorLike> {
  readonly Tensor: {
    new (type: "float32", data: Float32Array, dims: readonly number[]): T;
    new (type: "float64", data: Float64Array, dims: readonly number[]): T;
    new (type: "int32", data: Int32Array, dims: readonly number[]): T;
    new (type: "bool", data: Uint8Array, dims: readonly number[]): T;
  };
  readonly InferenceSession: { create(model: Uint8Array, options?: object): Promise<OrtSessionLike<T>> };
}

const fromOrt = (name: string, t: OrtTensorLike): TensorValue => {
  const shape = [...t.dims];
  const dtype: DType | undefined = { float32: "f32", float64: "f64", int32: "i32", bool: "bool" }[t.type] as DType | undefined;
  if (dtype === undefined) throw new TypeError(`ONNX output '${name}' has type ${t.type}, which typegrad has no dtype for`);
  const d = t.data as Float32Array | Float64Array | Int32Array | Uint8Array;
  const data =
    dtype === "f32" ? Float32Array.from(d) : dtype === "f64" ? Float64Array.from(d) : dtype === "i32" ? Int32Array.from(d) : Uint8Array.from(d, (v) => (v ? 1 : 0));
  return { dtype, shape, data };
};

/**
 * A session factory over an ONNX Runtime module.
 * @example
 * import * as ort from "onnxruntime-node";
 * const open = ortSessionFactory(ort);
 * const session = await open(exportOnnx({ y }, { params }));
 * const { y: value } = await session.run({ x: tensorValue("f32", [1, 4], [1, 2, 3, 4]) });
 */
export const ortSessionFactory =
  <T extends OrtTensorLike>(ort: OrtModule<T>, sessionOptions?: object): OnnxSessionFactory =>
  async (model) => {
    const session = await ort.InferenceSession.create(model, sessionOptions);
    const toOrt = (v: TensorValue): T => {
      switch (v.dtype) {
        case "f32":
          return new ort.Tensor("float32", v.data as Float32Array, v.shape);
        case "f64":
          return new ort.Tensor("float64", v.data as Float64Array, v.shape);
        case "i32":
          return new ort.Tensor("int32", v.data as Int32Array, v.shape);
        case "bool":
          return new ort.Tensor("bool", v.data as Uint8Array, v.shape);
      }
    };
    return {
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      run: async (feeds, fetches = session.outputNames) => {
        const ortFeeds: Record<string, T> = {};
        for (const [name, v] of Object.entries(feeds)) ortFeeds[name] = toOrt(v);
        const out = await session.run(ortFeeds, [...fetches]);
        return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, fromOrt(name, t)]));
      },
      release: () => session.release(),
    };
  };
