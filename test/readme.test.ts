import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
// @ts-expect-error -- plain ESM script without types
import { buildReadme } from "../scripts/build-readme.mjs";

describe("README", () => {
  it("is built from docs/ (run `npm run docs:readme` after editing docs)", () => {
    expect(readFileSync("README.md", "utf8")).toBe((buildReadme as () => string)());
  });

  it("opens with the two commands", () => {
    const head = readFileSync("README.md", "utf8").split("\n").slice(0, 12).join("\n");
    expect(head).toContain("npm install && npm start");
    expect(head).toContain("npm test");
  });
});
