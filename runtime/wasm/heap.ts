/**
 * The WebAssembly heap: one linear memory with a first-fit allocator of 64-byte aligned
 * blocks, so execution-plan arenas, packing scratch and job descriptors live where the
 * generated kernels (and the worker threads) can address them.
 *
 * Takes a memory to manage. Guarantees: blocks never overlap; a freed block's bytes are
 * reused by later allocations (adjacent free ranges coalesce); a growable heap only grows
 * shared memories, whose buffers are never detached, so typed-array views made earlier
 * stay valid; a fixed heap (the non-shared fallback) throws instead of growing, because
 * growing a non-shared memory would detach every view. Address 0 is never handed out.
 */
import { PAGE_BYTES, type WasmMemory } from "./api.js";

/** Alignment of every block (a cache line; also enough for v128 and f64). */
export const HEAP_ALIGN = 64;

const alignUp = (x: number, to: number): number => Math.ceil(x / to) * to;

interface FreeRange {
  offset: number;
  bytes: number;
}

/**
 * A first-fit allocator over a WebAssembly memory.
 * @example
 * const heap = new WasmHeap(memory, { growable: true });
 * const at = heap.allocate(1024); new Float32Array(heap.buffer, at, 256).fill(1); heap.free(at);
 */
export class WasmHeap {
  /** Free ranges sorted by offset, never adjacent (coalesced). */
  private readonly freeRanges: FreeRange[] = [];
  private readonly sizes = new Map<number, number>();
  private end: number;

  constructor(
    readonly memory: WasmMemory,
    private readonly options: { readonly growable: boolean; readonly maxBytes?: number },
  ) {
    this.end = memory.buffer.byteLength;
    if (this.end > HEAP_ALIGN) this.freeRanges.push({ offset: HEAP_ALIGN, bytes: this.end - HEAP_ALIGN });
  }

  /** The memory's current buffer (covers every allocated block). */
  get buffer(): ArrayBuffer | SharedArrayBuffer {
    return this.memory.buffer;
  }

  /** Bytes currently allocated (rounded up to the alignment). */
  get allocatedBytes(): number {
    let total = 0;
    for (const b of this.sizes.values()) total += b;
    return total;
  }

  /** Size of the memory in bytes. */
  get capacityBytes(): number {
    return this.end;
  }

  /** Allocates `bytes` (at least one alignment unit); returns the block's byte offset. */
  allocate(bytes: number): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`cannot allocate ${bytes} bytes`);
    const size = alignUp(Math.max(bytes, 1), HEAP_ALIGN);
    let at = this.freeRanges.findIndex((r) => r.bytes >= size);
    if (at < 0) {
      this.grow(size);
      at = this.freeRanges.findIndex((r) => r.bytes >= size);
    }
    const range = this.freeRanges[at]!;
    const offset = range.offset;
    if (range.bytes === size) this.freeRanges.splice(at, 1);
    else {
      range.offset += size;
      range.bytes -= size;
    }
    this.sizes.set(offset, size);
    return offset;
  }

  /** Frees a block returned by `allocate` (freeing twice or an unknown offset throws). */
  free(offset: number): void {
    const size = this.sizes.get(offset);
    if (size === undefined) throw new RangeError(`no allocated block at ${offset}`);
    this.sizes.delete(offset);
    this.release(offset, size);
  }

  private release(offset: number, bytes: number): void {
    const ranges = this.freeRanges;
    let i = 0;
    while (i < ranges.length && ranges[i]!.offset < offset) i++;
    const before = ranges[i - 1];
    const after = ranges[i];
    if (before !== undefined && before.offset + before.bytes === offset) {
      before.bytes += bytes;
      if (after !== undefined && before.offset + before.bytes === after.offset) {
        before.bytes += after.bytes;
        ranges.splice(i, 1);
      }
    } else if (after !== undefined && offset + bytes === after.offset) {
      after.offset = offset;
      after.bytes += bytes;
    } else ranges.splice(i, 0, { offset, bytes });
  }

  /** Grows the memory so a block of `size` fits at its end. */
  private grow(size: number): void {
    if (!this.options.growable) throw new RangeError(`the fixed wasm heap of ${this.end} bytes has no free block of ${size} bytes`);
    const last = this.freeRanges[this.freeRanges.length - 1];
    const tailFree = last !== undefined && last.offset + last.bytes === this.end ? last.bytes : 0;
    // Grow by at least an eighth of the heap, so many small plans do not grow it page by page.
    const wanted = Math.max(size - tailFree, Math.floor(this.end / 8));
    const pages = Math.ceil(wanted / PAGE_BYTES);
    const limit = this.options.maxBytes ?? 4 * 1024 ** 3;
    if (this.end + pages * PAGE_BYTES > limit) throw new RangeError(`the wasm heap cannot grow past ${limit} bytes (needs ${this.end + pages * PAGE_BYTES})`);
    const oldEnd = this.end;
    this.memory.grow(pages);
    this.end = this.memory.buffer.byteLength;
    this.release(oldEnd, this.end - oldEnd);
  }
}
