/**
 * The HTML viewer in a real headless browser: Debian's chromium driven by playwright-core.
 * Skipped (with a message) only when no chromium binary is installed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { graphToHtml } from "../../src/inspect/html.js";
import { gradientGraph, loadModelModule } from "../../src/cli/modelModule.js";
import { decodePng, nonBackgroundPixels } from "./png.js";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
if (CHROMIUM === undefined) console.warn("html.browser.test: SKIPPED: no chromium at /usr/bin/chromium (apt-get install -y chromium)");

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

describe.skipIf(CHROMIUM === undefined)("HTML graph viewer in chromium", () => {
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  const errors: string[] = [];
  let forwardLine = 0;
  const dir = mkdtempSync(join(tmpdir(), "typegrad-html-"));

  beforeAll(async () => {
    const m = await loadModelModule("examples/models/mnist-mlp.ts");
    const g = gradientGraph(m);
    const matmul = g.nodes.find((n) => n.op === "matmul" && n.origin === undefined)!;
    forwardLine = matmul.loc!.line;
    const html = await graphToHtml(g, { modelFunction: "model" });
    const file = join(dir, "mnist-grad.html");
    writeFileSync(file, html);
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on("request", (r) => requests.push(r.url()));
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (msg) => {
      if (msg.type() === "error") errors.push(msg.text());
    });
    await page.goto(pathToFileURL(file).href);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("loads without errors or network requests", () => {
    expect(errors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:"))).toEqual([]);
  });

  it("lists the layers as groups that expand and collapse", async () => {
    const labels = await page.locator("section.layer .layer-toggle .name").allTextContents();
    expect(labels.slice(0, 3)).toEqual(["hidden #1", "hidden #2", "output"]);
    const layer = page.locator('section.layer[data-layer="0"]');
    const toggle = layer.locator(".layer-toggle");
    const item = layer.locator(".node-item").first();
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    expect(await item.isVisible()).toBe(true);
    await toggle.click();
    expect(await toggle.getAttribute("aria-expanded")).toBe("false");
    expect(await item.isVisible()).toBe(false);
    await toggle.click();
    expect(await item.isVisible()).toBe(true);
    await page.click("#collapse-all");
    expect(await page.locator('.layer-toggle[aria-expanded="true"]').count()).toBe(0);
    await page.click("#expand-all");
    expect(await page.locator('.layer-toggle[aria-expanded="false"]').count()).toBe(0);
  });

  it("shows a node's shape, dtype, source line, inputs and consumers when it is clicked", async () => {
    await page.locator('.node-item:has-text("matmul")').first().click();
    const field = (name: string) => page.locator(`#details [data-field="${name}"]`).textContent();
    expect(await page.locator("#details h2").textContent()).toMatch(/^%\d+ matmul$/);
    expect(await field("shape")).toBe("[batch, 256]");
    expect(await field("dtype")).toBe("f32");
    expect(await field("source")).toBe(`examples/models/mnist-mlp.ts:${forwardLine} (in hidden ← model)`);
    expect(await field("layer")).toBe("hidden #1");
    expect(await field("inputs")).toContain("x");
    expect(await field("inputs")).toContain("hidden1.W");
    // Following a consumer link selects it.
    await page.locator('#details [data-field="consumers"] button').first().click();
    expect(await page.locator("#details h2").textContent()).toMatch(/^%\d+ add$/);
  });

  it("selects nodes from the picture, and shows a gradient node's forward origin", async () => {
    expect(await page.locator("#picture svg g.node[data-node]").count()).toBeGreaterThan(20);
    const gradient = page.locator("#picture svg g.node[data-node]", { hasText: "grad of" }).first();
    await gradient.click();
    expect(await page.locator("#picture svg g.node.selected").count()).toBe(1);
    const origin = page.locator('#details [data-field="origin"]');
    expect(await origin.textContent()).toMatch(/^%\d+ \w+ at examples\/models\/mnist-mlp\.ts:\d+$/);
    await origin.locator("button").click();
    expect(await page.locator('#details [data-field="origin"]').count()).toBe(0);
  });

  it("renders a picture that is not blank", async () => {
    await page.click("#expand-all");
    const png = await page.screenshot();
    writeFileSync(join(dir, "viewer.png"), png);
    if (process.env.TYPEGRAD_KEEP_SCREENSHOT !== undefined) writeFileSync(process.env.TYPEGRAD_KEEP_SCREENSHOT, png);
    const img = decodePng(png);
    expect([img.width, img.height]).toEqual([1400, 900]);
    const { count, background } = nonBackgroundPixels(img);
    expect(background).toBe("#ffffff");
    // Text, boxes and edges cover a few percent of the page; a blank or failed page covers ~0.
    expect(count / (img.width * img.height)).toBeGreaterThan(0.03);
  });
});
