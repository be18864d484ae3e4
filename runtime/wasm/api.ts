/**
 * Typed access to the engine's WebAssembly API (the project's `lib` has no DOM types, so
 * the few members used are declared here).
 *
 * Takes nothing; guarantees `webAssembly()` returns the global object, or undefined where
 * the engine has none (the backend then stays on the JavaScript kernels).
 */

export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}

/** A compiled module: opaque, can be posted to a worker. */
export interface WasmModule {
  readonly __wasmModule?: never;
}

export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>;
}

export interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Readonly<Record<string, Readonly<Record<string, unknown>>>>) => WasmInstance;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}

/**
 * The global WebAssembly object, when the engine has one.
 * @example const wasm = webAssembly(); if (wasm) wasm.validate(bytes);
 */
export const webAssembly = (): WebAssemblyApi | undefined => (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;

/** Size of a WebAssembly memory page. */
export const PAGE_BYTES = 65536;
