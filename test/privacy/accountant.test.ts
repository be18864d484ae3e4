/**
 * The RDP accountant against published values.
 *
 * Sources (all in github.com/tensorflow/privacy):
 * - [RDP] tensorflow_privacy/privacy/analysis/rdp_accountant_test.py: compute_rdp and
 *   get_privacy_spent test cases (test_compute_rdp_*, test_get_privacy_spent_check_target_delta,
 *   test_check_composition: 8.509656 at order 2.5 with the old, standard conversion).
 * - [SGD] tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py: test_compute_dp_sgd_privacy
 *   (dp_accounting's RDP accountant, improved conversion), e.g. N=60000, batch 150, σ=1.3,
 *   15 epochs, δ=1e-5 -> ε = 0.7242234026109595 at order 19.
 * - [CLI] tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy.py (2019 docstring):
 *   N=60000, batch 256, σ=1.12, 60 epochs, δ=1e-5 "satisfies (2.92, 1e-5)-DP" (standard conversion).
 * - [TUT] tutorials/README.md: the MNIST DP-SGD tutorial (σ=1.1, batch 256, 60 epochs of
 *   60000 // 256 = 234 steps, δ=1e-5) prints "the current epsilon is: 2.92"; with σ = 1.1
 *   exactly our accountant gives 3.01 (the README table lists the run as σ = 1.12, which
 *   gives 2.92), see the test below.
 * The orders are those of each source: compute_dp_sgd_privacy uses
 * [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5] + 5..63 + [128, 256, 512]; the tutorial
 * uses 1.1..10.9 in steps of 0.1 and 12..63 (our DEFAULT_RDP_ORDERS).
 */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_RDP_ORDERS, composeRdp, dpSgdPrivacy, epsilonFromRdp, logErfc, logSampledGaussianMoment, sampledGaussianRdp,
} from "../../src/privacy/accountant.js";
import { erfc } from "../../runtime/kernels/scalar.js";

const CLI_ORDERS = [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5, ...Array.from({ length: 59 }, (_, i) => 5 + i), 128, 256, 512];
const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe("RDP of the sampled Gaussian mechanism", () => {
  it("[RDP] no data, no sampling, and the scalar case", () => {
    expect(sampledGaussianRdp({ samplingRate: 0, noiseMultiplier: 10, steps: 1 }, [20]).rdp).toEqual([0]);
    expect(sampledGaussianRdp({ samplingRate: 1, noiseMultiplier: 10, steps: 1 }, [20]).rdp[0]).toBeCloseTo(0.1, 15);
    expect(sampledGaussianRdp({ samplingRate: 0.1, noiseMultiplier: 2, steps: 10 }, [5]).rdp[0]).toBeCloseTo(0.07737, 5);
  });

  it("[RDP] a sequence of fractional, integer and infinite orders", () => {
    const { rdp } = sampledGaussianRdp({ samplingRate: 0.01, noiseMultiplier: 2.5, steps: 50 }, [1.5, 2.5, 5, 50, 100, Infinity]);
    const published = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307, Infinity];
    rdp.forEach((r, i) => (published[i] === Infinity ? expect(r).toBe(Infinity) : expect(Math.abs(r - published[i]!)).toBeLessThan(1e-5)));
  });

  // log A_α against a 40-digit mpmath quadrature of its definition, ∫ μ0(z)·(μ(z)/μ0(z))^α dz with
  // μ0 = N(0, σ²), μ = (1-q)·μ0 + q·N(1, σ²), at the parameters of TF Privacy's
  // test_compute_log_a_equals_mp (which makes the same comparison with rtol 1e-4).
  it.each([
    [1e-7, 0.1, 1.01, 4.0034123225263986e-8],
    [1e-6, 0.1, 256, 3260463.2292971608],
    [1e-5, 0.1, 256.1, 3263607.0397884213],
    [1e-6, 1, 27, 8.7695113048484979e-10],
    [1e-4, 1, 1.5, 6.4426869538366497e-9],
    [1e-3, 1, 2, 1.7182803522145154e-6],
    [0.01, 10, 20, 0.00019129699912842963],
    [0.1, 100, 20.5, 0.00019991818458068296],
    [0.99, 0.1, 256, 3263997.4271140211],
    [0.999, 100, 256.1, 3.2601080379731127],
  ])("log A for q=%d, σ=%d, α=%d matches the quadrature", (q, sigma, alpha, reference) => {
    expect(relErr(logSampledGaussianMoment(q, sigma, alpha), reference)).toBeLessThan(1e-6);
  });

  it("log erfc agrees with erfc where it is representable and stays finite beyond", () => {
    for (const x of [-3, 0, 0.3, 2, 10, 19.9, 20.1, 26]) expect(relErr(logErfc(x), Math.log(erfc(x))) < 1e-12 || Math.abs(logErfc(x) - Math.log(erfc(x))) < 1e-15).toBe(true);
    // Beyond erfc's underflow (x ≈ 26.5): 30-digit mpmath values of log(erfc(x)).
    expect(relErr(logErfc(30), -903.97411711064387808)).toBeLessThan(1e-14);
    expect(relErr(logErfc(40), -1604.2615566532735557)).toBeLessThan(1e-14);
  });
});

describe("conversion to (ε, δ)", () => {
  it("[RDP] constant RDP (pure DP) picks the largest order: ε = 1.32783806176", () => {
    const orders = Array.from({ length: 31 }, (_, i) => 2 + i);
    const spent = epsilonFromRdp({ orders, rdp: orders.map(() => 1.1) }, 1e-5);
    expect(spent.order).toBe(32);
    expect(spent.epsilon).toBeCloseTo(1.32783806176, 10);
  });

  it("[RDP] the Gaussian mechanism with σ = 4.530877117 is (1, 1e-6)-DP", () => {
    const fine = Array.from({ length: 98999 }, (_, i) => 0.001 * (1001 + i));
    expect(epsilonFromRdp(sampledGaussianRdp({ samplingRate: 1, noiseMultiplier: 4.530877117, steps: 1 }, fine), 1e-6).epsilon).toBeCloseTo(1, 7);
  });

  it("[RDP] composition: 8.509656 at order 2.5 with the standard conversion, less with the improved one", () => {
    const orders = [1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 64, 256];
    const curve = composeRdp(
      sampledGaussianRdp({ samplingRate: 1e-4, noiseMultiplier: 0.4, steps: 40000 }, orders),
      sampledGaussianRdp({ samplingRate: 0.1, noiseMultiplier: 2, steps: 100 }, orders),
    );
    const standard = epsilonFromRdp(curve, 1e-5, "standard");
    expect(standard.epsilon).toBeCloseTo(8.509656, 5);
    expect(standard.order).toBe(2.5);
    expect(epsilonFromRdp(curve, 1e-5).epsilon).toBeLessThanOrEqual(8.509656);
  });
});

describe("DP-SGD privacy", () => {
  it.each([
    [60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 19],
    [100000, 100, 1.0, 30, 1e-7, 1.4154988495444842, 13],
    [100000000, 1024, 0.1, 10, 1e-7, 5907982.3113978775, 1.25],
  ])("[SGD] N=%d, batch %d, σ=%d, %d epochs, δ=%d: ε = %d at order %d", (n, batch, sigma, epochs, delta, epsilon, order) => {
    const spent = dpSgdPrivacy({ datasetSize: n, batchSize: batch, noiseMultiplier: sigma, epochs, delta, orders: CLI_ORDERS });
    expect(relErr(spent.epsilon, epsilon)).toBeLessThan(1e-9);
    expect(spent.order).toBe(order);
  });

  it("[CLI] N=60000, batch 256, σ=1.12, 60 epochs, δ=1e-5: (2.92, 1e-5)-DP with the standard conversion", () => {
    const spent = dpSgdPrivacy({ datasetSize: 60000, batchSize: 256, noiseMultiplier: 1.12, epochs: 60, delta: 1e-5, orders: CLI_ORDERS, conversion: "standard" });
    expect(spent.steps).toBe(14063);
    expect(spent.epsilon.toFixed(2)).toBe("2.92");
    // The improved conversion is never worse.
    expect(dpSgdPrivacy({ datasetSize: 60000, batchSize: 256, noiseMultiplier: 1.12, epochs: 60, delta: 1e-5, orders: CLI_ORDERS }).epsilon).toBeLessThan(spent.epsilon);
  });

  it("[TUT] the MNIST tutorial's 60 epochs of 234 steps: 2.92 at σ = 1.12, 3.01 at σ = 1.1 (standard conversion)", () => {
    const at = (sigma: number): number =>
      dpSgdPrivacy({ datasetSize: 60000, batchSize: 256, noiseMultiplier: sigma, steps: 60 * 234, delta: 1e-5, conversion: "standard" }).epsilon;
    expect(at(1.12).toFixed(2)).toBe("2.92");
    expect(at(1.1).toFixed(2)).toBe("3.01");
  });

  it("more noise, fewer steps or a smaller sampling rate never cost more privacy", () => {
    const base = { datasetSize: 8000, batchSize: 256, noiseMultiplier: 1.1, epochs: 10, delta: 1e-5 };
    const e = dpSgdPrivacy(base).epsilon;
    expect(dpSgdPrivacy({ ...base, noiseMultiplier: 1.5 }).epsilon).toBeLessThan(e);
    expect(dpSgdPrivacy({ ...base, epochs: 5 }).epsilon).toBeLessThan(e);
    expect(dpSgdPrivacy({ ...base, datasetSize: 16000, epochs: 5 }).epsilon).toBeLessThan(e); // same steps, half the rate
    expect(DEFAULT_RDP_ORDERS).toHaveLength(151);
  });

  it("rejects invalid settings, naming the field", () => {
    const base = { datasetSize: 8000, batchSize: 256, noiseMultiplier: 1.1, epochs: 10, delta: 1e-5 };
    expect(() => dpSgdPrivacy({ ...base, delta: 0 })).toThrow(/delta: must be in \(0, 1\), got 0/);
    expect(() => dpSgdPrivacy({ ...base, batchSize: 9000 })).toThrow(/batchSize: must be an integer in \[1, datasetSize = 8000\], got 9000/);
    expect(() => dpSgdPrivacy({ ...base, noiseMultiplier: -1 })).toThrow(/noiseMultiplier: must be a finite number >= 0, got -1/);
    expect(() => dpSgdPrivacy({ ...base, steps: 5 })).toThrow(/epochs: give either epochs or steps/);
    expect(() => sampledGaussianRdp({ samplingRate: 0.1, noiseMultiplier: 1, steps: 1 }, [1])).toThrow(/orders\[0\]: RDP orders must be greater than 1, got 1/);
  });
});
