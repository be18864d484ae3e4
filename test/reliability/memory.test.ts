import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";

describe("memory (a short run of scripts/soak.ts; `npm run soak` is the 10,000-step version)", () => {
  it("training keeps resident memory flat and repeated compiles release their programs", () => {
    const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", "scripts/soak.ts", "--steps", "1500", "--compiles", "60", "--hidden", "64", "--json"], {
      encoding: "utf8",
      timeout: 120_000,
    });
    const r = JSON.parse(out.trim().split("\n").pop()!) as Record<string, number | boolean>;
    expect(r.exactGc).toBe(true);
    expect(r.rssGrowthPercent as number).toBeLessThan(5);
    expect((r.heapAfterCompilesMB as number) - (r.heapBeforeCompilesMB as number)).toBeLessThan(5);
    expect((r.arrayBuffersAfterMB as number) - (r.arrayBuffersBeforeMB as number)).toBeLessThan(5);
  });
});
