/**
 * Test setup: fast-check runs from a fixed seed so CI is reproducible. Set FC_SEED to
 * another integer (or "random") to explore other inputs locally.
 */
import fc from "fast-check";

const raw = process.env.FC_SEED;
const seed = raw === undefined ? 20261128 : raw === "random" ? Date.now() : Number(raw);
fc.configureGlobal({ seed });
