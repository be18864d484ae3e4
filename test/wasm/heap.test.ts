/**
 * The wasm heap allocator: aligned, non-overlapping blocks under random allocate/free
 * sequences (fast-check), reuse and coalescing of freed space, growth of a shared memory
 * without invalidating earlier views, and a fixed heap that refuses to grow.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { HEAP_ALIGN, WasmHeap } from "../../runtime/wasm/heap.js";
import { PAGE_BYTES, webAssembly } from "../../runtime/wasm/api.js";
import { wasmFeatures } from "../../runtime/wasm/features.js";

const wasm = webAssembly()!;
const growableHeap = (pages = 1): WasmHeap => new WasmHeap(new wasm.Memory({ initial: pages, maximum: 1024, shared: wasmFeatures().threads }), { growable: true });

describe("WasmHeap", () => {
  it("keeps blocks aligned, inside the memory and disjoint under any allocate/free sequence", () => {
    const op = fc.oneof(fc.record({ alloc: fc.integer({ min: 0, max: 40_000 }) }), fc.record({ free: fc.nat() }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const heap = growableHeap();
        const live: { at: number; bytes: number }[] = [];
        for (const o of ops) {
          if ("alloc" in o) live.push({ at: heap.allocate(o.alloc), bytes: o.alloc });
          else if (live.length > 0) heap.free(live.splice(o.free % live.length, 1)[0]!.at);
          const sorted = [...live].sort((a, b) => a.at - b.at);
          sorted.forEach((b, i) => {
            expect(b.at % HEAP_ALIGN).toBe(0);
            expect(b.at).toBeGreaterThan(0);
            expect(b.at + b.bytes).toBeLessThanOrEqual(heap.capacityBytes);
            const next = sorted[i + 1];
            if (next !== undefined) expect(b.at + Math.max(b.bytes, 1)).toBeLessThanOrEqual(next.at);
          });
        }
      }),
      { numRuns: 150 },
    );
  });

  it("reuses freed space, coalescing neighbours, before growing", () => {
    const heap = growableHeap(1);
    const [a, b, c] = [heap.allocate(10_000), heap.allocate(10_000), heap.allocate(10_000)];
    heap.free(a);
    heap.free(c);
    heap.free(b);
    const capacity = heap.capacityBytes;
    // a + b + c coalesced (with the tail) into one range big enough for 30 000 bytes at a.
    expect(heap.allocate(30_000)).toBe(a);
    expect(heap.capacityBytes).toBe(capacity);
    expect(heap.allocatedBytes).toBe(Math.ceil(30_000 / HEAP_ALIGN) * HEAP_ALIGN);
  });

  it("grows a shared memory without invalidating earlier views", () => {
    if (!wasmFeatures().threads) return;
    const heap = growableHeap(1);
    const at = heap.allocate(1000);
    const view = new Float32Array(heap.buffer, at, 250).fill(3);
    const big = heap.allocate(5 * PAGE_BYTES);
    expect(heap.capacityBytes).toBeGreaterThanOrEqual(6 * PAGE_BYTES);
    new Float32Array(heap.buffer, big, 10).fill(7);
    view[10] = 4;
    expect(new Float32Array(heap.buffer, at, 250)[10]).toBe(4);
    expect(view[0]).toBe(3);
  });

  it("refuses to grow a fixed heap and rejects bad frees", () => {
    const heap = new WasmHeap(new wasm.Memory({ initial: 1, maximum: 1 }), { growable: false });
    expect(() => heap.allocate(2 * PAGE_BYTES)).toThrow(/fixed wasm heap of 65536 bytes has no free block/);
    const at = heap.allocate(100);
    heap.free(at);
    expect(() => heap.free(at)).toThrow(/no allocated block/);
    expect(() => heap.allocate(-1)).toThrow(RangeError);
  });
});
