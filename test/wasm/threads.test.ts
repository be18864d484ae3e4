/**
 * The worker pool: a posted part really runs on the worker; a part the worker has not
 * picked up is taken back and run by the caller; a trap in a worker is rethrown; a closed
 * pool runs everything on the calling thread; a module loaded after start runs on the
 * worker; and a process whose workers are idle (or
 * still spinning) exits on its own, without any shutdown call (checked in a child process).
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Code, encodeModule, ValType } from "../../runtime/wasm/encoder.js";
import { webAssembly } from "../../runtime/wasm/api.js";
import { wasmFeatures } from "../../runtime/wasm/features.js";
import { WasmHeap } from "../../runtime/wasm/heap.js";
import { controlBytes, createThreadPool, DEFAULT_SPIN_MILLISECONDS, evenCuts } from "../../runtime/threads/pool.js";
import { workerSpinMilliseconds } from "../../runtime/wasm/context.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const wasm = webAssembly()!;
const { i32 } = ValType;

/** A module with mark(addr, value): stores value at addr, and trap(): unreachable. */
const testModule = () => {
  const bytes = encodeModule({
    memory: { module: "env", name: "memory", minPages: 1, maxPages: 16, shared: true },
    functions: [
      { exportName: "mark", params: [i32, i32], results: [], locals: [], body: new Code().get(0).get(1).atomic("i32Store").end() },
      { exportName: "trap", params: [], results: [], locals: [], body: new Code().op("unreachable").end() },
    ],
  });
  return new wasm.Module(bytes);
};

describe.skipIf(!wasmFeatures().threads)("thread pool", () => {
  const setup = () => {
    const memory = new wasm.Memory({ initial: 1, maximum: 16, shared: true });
    const heap = new WasmHeap(memory, { growable: true });
    const control = heap.allocate(controlBytes(1));
    const pool = createThreadPool({ module: testModule(), memory, exportNames: ["mark", "trap"], control, workers: 1 });
    const cell = heap.allocate(64);
    const words = new Int32Array(memory.buffer, cell, 4);
    return { pool, words, cell };
  };

  it("runs a posted part on the worker while the caller runs its own", async () => {
    const { pool, words, cell } = setup();
    expect(await pool.ready()).toBe(true);
    expect(pool.threads).toBe(2);
    // The caller's part takes 300 ms, so the worker picks its part up; the caller's `local` writes 1, the worker 2.
    pool.run([[0, cell, 0], [0, cell + 4, 2]], (args) => {
      const end = performance.now() + 300;
      while (performance.now() < end);
      words[(args[1]! - cell) / 4] = 1;
    });
    expect([words[0], words[1]]).toEqual([1, 2]);
    await pool.close();
  });

  it("runs a part itself when the worker has not started", async () => {
    const { pool, words, cell } = setup();
    // Immediately after creation the worker is still starting: the caller runs both parts.
    pool.run([[0, cell, 0], [0, cell + 4, 2]], (args) => void (words[(args[1]! - cell) / 4] = 1));
    expect([words[0], words[1]]).toEqual([1, 1]);
    await pool.close();
  });

  it("rethrows a trap in a worker and keeps working", async () => {
    const { pool, words, cell } = setup();
    await pool.ready();
    const slowLocal = (args: readonly number[]): void => {
      const end = performance.now() + 200;
      while (performance.now() < end);
      if (args[0] === 0) words[(args[1]! - cell) / 4] = 1;
    };
    expect(() => pool.run([[0, cell, 0], [1]], slowLocal)).toThrow(/trapped in a worker thread/);
    pool.run([[0, cell, 0], [0, cell + 8, 5]], slowLocal);
    expect(words[2]).toBe(5);
    await pool.close();
  });

  it("runs functions of a module loaded after start on the worker, numbered after the pool's own", async () => {
    const { pool, words, cell } = setup();
    await pool.ready();
    const bytes = encodeModule({
      memory: { module: "env", name: "memory", minPages: 1, maxPages: 16, shared: true },
      functions: [
        { exportName: "plus100", params: [i32, i32], results: [], locals: [], body: new Code().get(0).get(1).i32(100).op("i32Add").atomic("i32Store").end() },
        { exportName: "minus1", params: [i32], results: [], locals: [], body: new Code().get(0).i32(-1).atomic("i32Store").end() },
      ],
    });
    const extra = new wasm.Module(bytes);
    const first = pool.load(extra, ["plus100", "minus1"]);
    expect(first).toBe(2);
    expect(pool.load(extra, ["plus100", "minus1"])).toBe(2);
    const slowLocal = (args: readonly number[]): void => {
      const end = performance.now() + 200;
      while (performance.now() < end);
      words[(args[1]! - cell) / 4] = 1;
    };
    pool.run([[0, cell, 0], [first, cell + 4, 5]], slowLocal);
    pool.run([[0, cell, 0], [first + 1, cell + 8]], slowLocal);
    expect([words[1], words[2]]).toEqual([105, -1]);
    await pool.close();
  });

  it("runs everything on the calling thread once closed", async () => {
    const { pool, words, cell } = setup();
    await pool.ready();
    await pool.close();
    await pool.close();
    expect(pool.threads).toBe(1);
    pool.run([[0, cell, 0], [0, cell + 4, 2]], (args) => void (words[(args[1]! - cell) / 4] = 9));
    expect([words[0], words[1]]).toEqual([9, 9]);
  });

  it.each(["sleeping", "spin"])("lets the process exit with %s workers and no shutdown call", (mode) => {
    const script = path.join(root, "test/wasm/fixtures/exit-with-idle-workers.ts");
    const started = Date.now();
    const child = spawnSync(process.execPath, ["--import", "tsx", script, mode], { cwd: root, encoding: "utf8", timeout: 30_000 });
    expect(child.signal, child.stderr).toBe(null);
    expect(child.status, child.stderr).toBe(0);
    const report = JSON.parse(child.stdout.trim()) as { started: boolean; threads: number; value: number };
    expect(report).toMatchObject({ started: true, threads: 2, value: 320 });
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe("worker spin setting", () => {
  it("reads TYPEGRAD_SPIN_MS, else the default", () => {
    expect(workerSpinMilliseconds({ TYPEGRAD_SPIN_MS: "0.2" })).toBe(0.2);
    expect(workerSpinMilliseconds({ TYPEGRAD_SPIN_MS: "0" })).toBe(0);
    for (const bad of [undefined, "", "-1", "fast"]) expect(workerSpinMilliseconds({ TYPEGRAD_SPIN_MS: bad })).toBe(DEFAULT_SPIN_MILLISECONDS);
  });
});

describe("evenCuts", () => {
  it("cuts a range into contiguous parts of whole units, the last ending at the count", () => {
    expect(evenCuts(10, 2)).toEqual([0, 5, 10]);
    expect(evenCuts(7, 3)).toEqual([0, 2, 5, 7]);
    expect(evenCuts(10, 2, 4)).toEqual([0, 8, 10]);
    expect(evenCuts(1, 2)).toEqual([0, 1, 1]);
    expect(evenCuts(0, 2)).toEqual([0, 0, 0]);
  });
});
