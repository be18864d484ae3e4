import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadCheckpoint } from "../../src/index.js";
import { cli, tempDir } from "./support.js";

const paramsOf = (file: string): Record<string, number[]> =>
  Object.fromEntries([...loadCheckpoint(file).params].map(([k, v]) => [k, Array.from(v.data)]));

describe("typegrad train", () => {
  it("trains, saves a checkpoint, and a resumed run ends where an uninterrupted one does", async () => {
    const dir = tempDir();
    const straight = join(dir, "straight.safetensors");
    const split = join(dir, "split.safetensors");
    const all = await cli(["train", "seed", "--epochs", "6", "--checkpoint", straight]);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain("training seed: epochs 1..6, batch 2, 2 rows");
    expect(all.stdout).toMatch(/^epoch 6\/6: loss [\d.e-]+ \(\d+\.\d\d s\)$/m);
    expect(all.stdout).toContain(`saved ${straight} (step 6, 6 epochs)`);
    expect((await cli(["train", "seed", "--epochs", "3", "--checkpoint", split])).code).toBe(0);
    const resumed = await cli(["train", "seed", "--epochs", "6", "--resume", split, "--checkpoint", split]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`resumed from ${split}: step 3, 3 epochs done`);
    expect(resumed.stdout).toContain("training seed: epochs 4..6");
    expect(paramsOf(split)).toEqual(paramsOf(straight));
    const done = await cli(["train", "seed", "--epochs", "6", "--resume", split, "--checkpoint", split]);
    expect(done.stdout).toContain("already trained for 6 epochs (--epochs 6); nothing to do");
  });

  it("stops when its signal aborts, saves the state reached, and exits with 130", async () => {
    const file = join(tempDir(), "iris.safetensors");
    const controller = new AbortController();
    const r = await cli(["train", "iris", "--epochs", "100000", "--checkpoint", file], {
      signal: controller.signal,
      onStdout: (t) => {
        if (t.startsWith("epoch 2/")) controller.abort();
      },
    });
    expect(r.code).toBe(130);
    expect(r.stdout).toMatch(new RegExp(`interrupted: saved ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} at step \\d+ \\(\\d+ epochs done\\); continue with --resume `));
    const saved = loadCheckpoint(file);
    expect(saved.epoch).toBeGreaterThanOrEqual(2);
    expect(saved.metadata).toMatchObject({ example: "iris" });
  });

  it("--checked stops a diverging run at the node that overflowed, with its line", async () => {
    const r = await cli(["train", "seed", "--lr", "1e30", "--checked", "--checkpoint", join(tempDir(), "x.safetensors")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^typegrad train: training step 2 \(epoch 2\): %\d+ square produced \+Inf at examples\/seed-mlp\.ts:\d+\n {2}value: f32\[2, 1\]/);
    expect(r.stderr).toMatch(/\n {2}inputs:\n {4}%\d+ sub f32\[2, 1\] at examples\/seed-mlp\.ts:\d+: min -[\d.]+e\+30, max [\d.]+e\+30\n$/);
  });

  it("checks its options", async () => {
    expect((await cli(["train", "cifar"])).stderr).toBe("typegrad train: unknown example 'cifar': the examples are seed, iris, mnist\n");
    const epochs = await cli(["train", "seed", "--epochs", "0"]);
    expect(epochs.code).toBe(2);
    expect(epochs.stderr).toMatch(/^typegrad train: --epochs must be a positive integer, got '0'/);
    expect((await cli(["train", "iris", "--rows", "10"])).stderr).toMatch(/--rows applies to the mnist example only/);
    const resume = await cli(["train", "seed", "--resume", join(tempDir(), "none.safetensors")]);
    expect(resume.code).toBe(1);
    expect(resume.stderr).toMatch(/cannot resume: no checkpoint file /);
  });

  it("trains the MNIST example on a few rows", async () => {
    const file = join(tempDir(), "mnist.safetensors");
    const r = await cli(["train", "mnist", "--epochs", "1", "--rows", "256", "--checkpoint", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^epoch 1\/1: loss [\d.]+, train accuracy [\d.]+%/m);
    expect(r.stdout).toMatch(/^test: loss [\d.]+, accuracy [\d.]+% on 2000 rows$/m);
  });
});

describe("typegrad export", () => {
  it("writes the example's inference model with the checkpoint's params as ONNX", async () => {
    const dir = tempDir();
    const ckpt = join(dir, "seed.safetensors");
    expect((await cli(["train", "seed", "--epochs", "2", "--checkpoint", ckpt])).code).toBe(0);
    const onnx = join(dir, "seed.onnx");
    const r = await cli(["export", "seed", "--checkpoint", ckpt, "-o", onnx]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*seed\.onnx \([\d,]+ bytes\)\n$/);
    const bytes = readFileSync(onnx);
    // The trained weights are in the file as raw f32 initializers.
    const w = loadCheckpoint(ckpt).params.get("seed.0.W")!.data as Float32Array;
    expect(Buffer.from(bytes).includes(Buffer.from(w.buffer, w.byteOffset, w.byteLength))).toBe(true);
  });

  it("needs a checkpoint and an output file", async () => {
    expect((await cli(["export", "seed", "-o", "x.onnx"])).code).toBe(2);
    expect((await cli(["export", "seed", "--checkpoint", "x.safetensors"])).code).toBe(2);
    const missing = await cli(["export", "seed", "--checkpoint", join(tempDir(), "none.safetensors"), "-o", join(tempDir(), "m.onnx")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^typegrad export: no checkpoint file /);
  });
});

describe("bin/typegrad.mjs (a real process)", () => {
  const run = (args: readonly string[], onLine?: (line: string, kill: () => void) => void): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ["bin/typegrad.mjs", ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        for (const line of d.toString().split("\n")) onLine?.(line, () => child.kill("SIGINT"));
      });
      child.stderr.on("data", (d: Buffer) => void (stderr += d.toString()));
      child.on("error", reject);
      child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    });

  it("loads a TypeScript model module through tsx", async () => {
    const r = await run(["summary", "examples/models/mlp.ts", "--layers-only"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^total\s+17\s+36$/m);
  });

  it("on SIGINT saves a final checkpoint, exits with 130, and --resume continues", async () => {
    const file = join(tempDir(), "iris.safetensors");
    let sent = false;
    const r = await run(["train", "iris", "--epochs", "100000", "--checkpoint", file], (line, kill) => {
      if (!sent && line.startsWith("epoch 3/")) {
        sent = true;
        kill();
      }
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(130);
    expect(r.stdout).toContain(`interrupted: saved ${file}`);
    expect(existsSync(file)).toBe(true);
    const saved = loadCheckpoint(file);
    expect(saved.epoch).toBeGreaterThanOrEqual(3);
    const more = await cli(["train", "iris", "--epochs", String(saved.epoch + 1), "--resume", file, "--checkpoint", file]);
    expect(more.code).toBe(0);
    expect(more.stdout).toContain(`resumed from ${file}: step ${saved.step}, ${saved.epoch} epochs done`);
    expect(loadCheckpoint(file).epoch).toBe(saved.epoch + 1);
  });
});
