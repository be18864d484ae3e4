/**
 * `npm run docs:images`: the pictures of the README's "Inspect" section, generated from
 * the example model module examples/models/mnist-mlp.ts:
 *   docs/images/mnist-mlp.svg         the forward graph (Graphviz in WebAssembly)
 *   docs/images/mnist-mlp.png         the same picture rendered by chromium (when installed)
 *   docs/images/mnist-grad-viewer.png the HTML viewer of the gradient graph (when chromium is installed)
 * test/inspect/svg.test.ts checks that the committed SVG is what this script writes.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { docsPicture, DOCS_IMAGE_MODULE } from "../src/inspect/docsPicture.js";
import { graphToHtml } from "../src/inspect/html.js";
import { gradientGraph, loadModelModule } from "../src/cli/modelModule.js";

const out = join("docs", "images");
mkdirSync(out, { recursive: true });
const svg = await docsPicture();
writeFileSync(join(out, "mnist-mlp.svg"), svg);
console.log(`wrote ${join(out, "mnist-mlp.svg")} (${svg.length} characters)`);

const chromiumPath = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
if (chromiumPath === undefined) {
  console.log("no chromium found: PNG screenshots skipped (apt-get install -y chromium)");
} else {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 });
    await page.setContent(`<!DOCTYPE html><html><body style="margin:0;background:#fff">${svg.slice(svg.indexOf("<svg"))}</body></html>`);
    const box = await page.locator("svg").boundingBox();
    await page.setViewportSize({ width: Math.ceil(box?.width ?? 800), height: Math.ceil(box?.height ?? 600) });
    writeFileSync(join(out, "mnist-mlp.png"), await page.locator("svg").screenshot());
    console.log(`wrote ${join(out, "mnist-mlp.png")}`);

    const m = await loadModelModule(DOCS_IMAGE_MODULE);
    const html = await graphToHtml(gradientGraph(m), { modelFunction: m.modelFunction ?? "model" });
    const file = join(out, ".viewer.html");
    writeFileSync(file, html);
    const viewer = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    await viewer.goto(`${pathToFileURL(file).href}#n16`);
    writeFileSync(join(out, "mnist-grad-viewer.png"), await viewer.screenshot());
    console.log(`wrote ${join(out, "mnist-grad-viewer.png")}`);
    (await import("node:fs")).rmSync(file);
  } finally {
    await browser.close();
  }
}
