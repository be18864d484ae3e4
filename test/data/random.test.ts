/**
 * The seeded RNG: reference vectors (from the C reference implementations of xoshiro128**
 * and splitmix64), determinism, purity, state round trips, distribution sanity, the
 * portable log against Math.log, unbiased integers and permutations.
 */
import * as E from "fp-ts/lib/Either.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  fillNormal,
  fillUniform,
  jumpRng,
  nextFloat,
  nextInt,
  nextNormal,
  nextUint32,
  permutation,
  portableLog,
  rngFromSeed,
  rngStateFromString,
  rngStateToString,
  shuffle,
  withRng,
  type RngState,
} from "../../src/random.js";

const draws = (state: RngState, n: number): number[] => withRng(state, (r) => Array.from({ length: n }, () => r.nextUint32()))[0];

describe("xoshiro128**", () => {
  it("matches the reference implementation from state [1, 2, 3, 4]", () => {
    expect(draws({ s0: 1, s1: 2, s2: 3, s3: 4 }, 6)).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it("matches the reference jump (2^64 draws ahead)", () => {
    const [, after6] = withRng({ s0: 1, s1: 2, s2: 3, s3: 4 }, (r) => {
      for (let i = 0; i < 6; i++) r.nextUint32();
    });
    expect(jumpRng(after6)).toEqual({ s0: 3484745028, s1: 1171080849, s2: 4139821887, s3: 2899474097 });
  });

  it("seeds with splitmix64 like the reference (seed 42)", () => {
    expect(rngFromSeed(42)).toEqual({ s0: 803958421, s1: 3184996902, s2: 2993090819, s3: 686809907 });
    expect(rngFromSeed(42n)).toEqual(rngFromSeed(42));
  });

  it("gives the same sequence for the same seed and different ones for different seeds", () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), (seed) => {
        expect(draws(rngFromSeed(seed), 8)).toEqual(draws(rngFromSeed(seed), 8));
        expect(draws(rngFromSeed(seed), 8)).not.toEqual(draws(rngFromSeed(seed + 1), 8));
      }),
      { numRuns: 50 },
    );
  });

  it("is pure: a state can be reused and the single-step API equals the stream API", () => {
    const s = rngFromSeed(9);
    const [a, s1] = nextUint32(s);
    const [b] = nextUint32(s);
    expect(a).toBe(b);
    const [c, s2] = nextUint32(s1);
    expect(draws(s, 2)).toEqual([a, c]);
    expect(s2).not.toEqual(s1);
  });

  it("rejects seeds that are not safe integers", () => {
    expect(() => rngFromSeed(1.5)).toThrow(/safe integer/);
    expect(() => rngFromSeed(2 ** 60)).toThrow(/safe integer/);
  });

  it("round-trips its state through a string and resumes bit-identically", () => {
    let s = rngFromSeed(123);
    [, s] = fillNormal(s, new Float64Array(17));
    const text = rngStateToString(s);
    expect(text).toMatch(/^xoshiro128\*\*:[0-9a-f]{8}(:[0-9a-f]{8}){3}$/);
    const back = rngStateFromString(text);
    expect(E.isRight(back) && back.right).toEqual(s);
    if (E.isRight(back)) expect(fillNormal(back.right, new Float64Array(5))[0]).toEqual(fillNormal(s, new Float64Array(5))[0]);
  });

  it("refuses malformed state strings with a message naming the field", () => {
    const bad = (text: string): string => {
      const r = rngStateFromString(text, "__metadata__.rng");
      return E.isLeft(r) ? r.left.message : "accepted";
    };
    expect(bad("pcg32:1")).toMatch(/__metadata__\.rng: expected an RNG state starting with "xoshiro128\*\*:"/);
    expect(bad("xoshiro128**:1:2:3:4")).toMatch(/four 8-digit/);
    expect(bad("xoshiro128**:00000000:00000000:00000000:00000000")).toMatch(/all-zero/);
    expect(bad("xoshiro128**:0000000g:00000000:00000000:00000001")).toMatch(/four 8-digit/);
  });
});

describe("distributions", () => {
  it("floats lie in [0, 1) with the right mean and variance", () => {
    const [xs] = fillUniform(rngFromSeed(1), new Float64Array(100_000), 0, 1);
    let sum = 0;
    let squares = 0;
    let outside = 0;
    for (const x of xs) {
      if (!(x >= 0 && x < 1)) outside++;
      sum += x;
      squares += x * x;
    }
    expect(outside).toBe(0);
    const mean = sum / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(squares / xs.length - mean * mean - 1 / 12)).toBeLessThan(0.002);
  });

  it("normals have mean, std and tails of N(mean, std)", () => {
    const [xs] = fillNormal(rngFromSeed(2), new Float64Array(100_000), 3, 2);
    let sum = 0;
    let squares = 0;
    let beyond2 = 0;
    for (const x of xs) {
      sum += x;
      squares += (x - 3) ** 2;
      if (Math.abs(x - 3) > 4) beyond2++;
    }
    expect(Math.abs(sum / xs.length - 3)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(squares / xs.length) - 2)).toBeLessThan(0.03);
    expect(beyond2 / xs.length).toBeGreaterThan(0.040); // P(|z| > 2) = 0.0455
    expect(beyond2 / xs.length).toBeLessThan(0.051);
  });

  it("fill functions equal repeated single draws and do not modify their input", () => {
    const input = new Float32Array([7, 7, 7]);
    const [filled, after] = fillNormal(rngFromSeed(5), input);
    expect(Array.from(input)).toEqual([7, 7, 7]);
    let s = rngFromSeed(5);
    const singles: number[] = [];
    for (let i = 0; i < 3; i++) {
      let v: number;
      [v, s] = nextNormal(s);
      singles.push(Math.fround(v));
    }
    expect(Array.from(filled)).toEqual(singles);
    expect(after).toEqual(s);
  });

  it("nextInt is unbiased over a range that does not divide 2^32 and stays in range", () => {
    const counts = new Array<number>(6).fill(0);
    withRng(rngFromSeed(3), (r) => {
      for (let i = 0; i < 60_000; i++) counts[r.nextInt(1, 7) - 1]!++;
    });
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 1, max: 2 ** 32 }), fc.integer(), (low, width, seed) => {
        const [v] = nextInt(rngFromSeed(seed), low, low + width);
        expect(v >= low && v < low + width && Number.isInteger(v)).toBe(true);
      }),
    );
    expect(() => nextInt(rngFromSeed(1), 3, 3)).toThrow(/1 <= high - low/);
    expect(() => nextInt(rngFromSeed(1), 0, 2 ** 33)).toThrow(/2\^32/);
  });

  it("a 53-bit float uses two words", () => {
    const s = rngFromSeed(8);
    const [x] = nextFloat(s);
    const [a, b] = draws(s, 2) as [number, number];
    expect(x).toBe(((a >>> 5) * 2 ** 26 + (b >>> 6)) / 2 ** 53);
  });
});

describe("permutations", () => {
  it("permutation is a permutation, deterministic per seed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer(), (n, seed) => {
        const [p] = permutation(rngFromSeed(seed), n);
        expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(permutation(rngFromSeed(seed), n)[0]).toEqual(p);
      }),
      { numRuns: 100 },
    );
  });

  it("every ordering of 3 items is about equally likely", () => {
    const counts = new Map<string, number>();
    let s = rngFromSeed(11);
    for (let i = 0; i < 12_000; i++) {
      let items: string[];
      [items, s] = shuffle(s, ["a", "b", "c"]);
      counts.set(items.join(""), (counts.get(items.join("")) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });

  it("is pinned: a known seed gives a known permutation (guards against silent algorithm changes)", () => {
    expect(Array.from(permutation(rngFromSeed(1), 10)[0])).toEqual([2, 3, 0, 7, 9, 4, 5, 1, 8, 6]);
    expect(nextNormal(rngFromSeed(5))[0]).toBe(0.9053404290526467);
  });
});

describe("portableLog", () => {
  it("equals Math.log bit for bit on V8 (both are fdlibm) across magnitudes and special values", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, noNaN: true }), (x) => {
        expect(Object.is(portableLog(x), Math.log(x))).toBe(true);
      }),
      { numRuns: 20_000 },
    );
    for (const x of [0, -0, -1, 1, 2, Infinity, NaN, 5e-324, 1e-310, Math.E, 1 + 2 ** -52, 1 - 2 ** -53, Number.MAX_VALUE]) {
      expect(Object.is(portableLog(x), Math.log(x))).toBe(true);
    }
  });
});
