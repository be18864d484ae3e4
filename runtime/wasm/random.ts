/**
 * The f32 `randomUniform` op on the generated module's `random_uniform`, split across the
 * threads.
 *
 * Takes the op's concrete output shape, its params (dtype, stream) and a context. `planWasmRandom` returns
 * undefined where the JS kernel stays (f64, or more elements than the generator allows:
 * the JS kernel then raises its error). `run(key, out)` takes the key's value and the
 * output's byte address. Guarantees: bit-identical to `randomUniformKernel` (element i
 * is `randomAt(i, roundKeys(key, stream))` whichever thread computes it); at least
 * `RANDOM_SPLIT_ELEMENTS` elements are cut into one contiguous range per thread.
 */
import { RANDOM_MAX_ELEMENTS, roundKeys, type RandomUniformParams } from "../kernels/random.js";
import { sizeOf } from "../kernels/strided.js";
import { POOLED_EXPORTS, type WasmContext } from "./context.js";
import { evenCuts } from "../threads/pool.js";

/** Elements below which the generator runs on the calling thread alone. */
export const RANDOM_SPLIT_ELEMENTS = 16384;

export interface WasmRandom {
  run(key: number, out: number): void;
}

type RandomFunction = (out: number, start: number, count: number, a: number, b: number) => void;

/**
 * Plans a randomUniform step, or undefined when it stays in JavaScript.
 * @example planWasmRandom(ctx, [32, 64, 64], { shape: [32, 64, 64], dtype: "f32", stream: 3 }, 2)?.run(key, outAt);
 */
export const planWasmRandom = (ctx: WasmContext, shape: readonly number[], params: RandomUniformParams, threads: number): WasmRandom | undefined => {
  const n = sizeOf(shape);
  if (params.dtype !== "f32" || n > RANDOM_MAX_ELEMENTS) return undefined;
  const fn = ctx.exports.random_uniform as RandomFunction;
  const pool = threads > 1 && n >= RANDOM_SPLIT_ELEMENTS ? ctx.pool(threads) : undefined;
  const parts = pool === undefined ? 1 : Math.min(threads, pool.threads);
  const cuts = evenCuts(n, parts, 4);
  const index = POOLED_EXPORTS.indexOf("random_uniform");
  return {
    run(key, out) {
      const [a, b] = roundKeys(key, params.stream);
      if (pool === undefined || parts < 2) {
        fn(out, 0, n, a, b);
        return;
      }
      const work = cuts.slice(0, -1).map((from, t) => [index, out + 4 * from, from, cuts[t + 1]! - from, a, b]);
      pool.run(work, (w) => fn(w[1]!, w[2]!, w[3]!, w[4]!, w[5]!));
    },
  };
};
