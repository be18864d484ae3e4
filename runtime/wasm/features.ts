/**
 * Engine feature detection for the fast backend: WebAssembly SIMD, relaxed SIMD (fused
 * multiply-add) and threads (shared memory with atomics), each found by validating a tiny
 * module, never by version sniffing.
 *
 * Relaxed SIMD policy: Node 22+ ships it enabled. On Node 20 it sits behind
 * `--experimental-wasm-relaxed-simd`, which only takes effect through
 * `v8.setFlagsFromString` before a module using it is compiled (NODE_OPTIONS does not
 * accept it). The first detection sets that flag unless the environment variable
 * `TYPEGRAD_RELAXED_SIMD` is `0`/`off`; the flag only makes the engine accept the
 * relaxed-SIMD opcodes in modules compiled afterwards. Every kernel also has the plain
 * mul+add form, used whenever relaxed SIMD does not validate. Guarantees: detection runs
 * once per process and its result never changes afterwards.
 */
import v8 from "node:v8";
import { Code, encodeModule, ValType } from "./encoder.js";
import { webAssembly } from "./api.js";

export interface WasmFeatures {
  /** 128-bit SIMD validates: the wasm backend can run. */
  readonly simd: boolean;
  /** `f32x4.relaxed_madd` validates: kernels use fused multiply-add. */
  readonly relaxedSimd: boolean;
  /** Shared memories with atomics validate and SharedArrayBuffer exists: worker threads can share the heap. */
  readonly threads: boolean;
  /** How relaxed SIMD came to be on or off. */
  readonly relaxedSimdSource: "engine" | "flag" | "disabled" | "unavailable";
}

const simdProbe = (): Uint8Array =>
  encodeModule({ functions: [{ params: [], results: [ValType.v128], locals: [], body: new Code().f32x4(1).f32x4(2).simd("f32x4Add").end() }] });

const relaxedProbe = (): Uint8Array =>
  encodeModule({ functions: [{ params: [], results: [ValType.v128], locals: [], body: new Code().f32x4(1).f32x4(2).f32x4(3).simd("f32x4RelaxedMadd").end() }] });

const threadsProbe = (): Uint8Array =>
  encodeModule({
    memory: { module: "env", name: "memory", minPages: 1, maxPages: 1, shared: true },
    functions: [{ params: [], results: [ValType.i32], locals: [], body: new Code().i32(0).i32(1).atomic("i32RmwAdd").end() }],
  });

const validates = (bytes: Uint8Array): boolean => {
  const wasm = webAssembly();
  if (wasm === undefined) return false;
  try {
    return wasm.validate(bytes);
  } catch {
    return false;
  }
};

/** Whether the environment asks to leave relaxed SIMD off (`TYPEGRAD_RELAXED_SIMD=0` or `off`). */
export const relaxedSimdDisabledBy = (env: Readonly<Record<string, string | undefined>>): boolean => {
  const v = env.TYPEGRAD_RELAXED_SIMD?.trim().toLowerCase();
  return v === "0" || v === "off" || v === "false" || v === "no";
};

const detectRelaxed = (simd: boolean, disabled: boolean): Pick<WasmFeatures, "relaxedSimd" | "relaxedSimdSource"> => {
  if (!simd) return { relaxedSimd: false, relaxedSimdSource: "unavailable" };
  if (disabled) return { relaxedSimd: false, relaxedSimdSource: "disabled" };
  if (validates(relaxedProbe())) return { relaxedSimd: true, relaxedSimdSource: "engine" };
  try {
    v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  } catch {
    return { relaxedSimd: false, relaxedSimdSource: "unavailable" };
  }
  return validates(relaxedProbe()) ? { relaxedSimd: true, relaxedSimdSource: "flag" } : { relaxedSimd: false, relaxedSimdSource: "unavailable" };
};

let detected: WasmFeatures | undefined;

/**
 * What the engine supports (detected on first call, then fixed for the process).
 * @example if (wasmFeatures().simd) console.log("fast backend available", wasmFeatures().relaxedSimd ? "with FMA" : "");
 */
export const wasmFeatures = (): WasmFeatures => {
  if (detected !== undefined) return detected;
  const simd = validates(simdProbe());
  const threads = simd && typeof SharedArrayBuffer === "function" && typeof Atomics === "object" && validates(threadsProbe());
  detected = { simd, threads, ...detectRelaxed(simd, relaxedSimdDisabledBy(process.env)) };
  return detected;
};
