/**
 * SVG charts: well-formed XML (checked by a small parser here: balanced tags, quoted
 * attributes, escaped text, one <svg> root), axes, ticks, legend entries, escaping,
 * broken lines at non-finite points, empty and flat series, log scale.
 */
import { describe, expect, it } from "vitest";
import { escapeXml, lineChartSvg, niceTicks, trainingCurvesSvg } from "../../src/train/chart.js";

interface Element {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: Element[];
  text: string;
}

/** A strict little XML parser: throws on anything not well-formed. */
const parseXml = (xml: string): Element => {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const root: Element = { name: "#document", attrs: {}, children: [], text: "" };
  const stack: Element[] = [root];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[A-Za-z_:][\w:.-]*="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  while ((m = token.exec(body)) !== null) {
    const [, closing, name, attrText, selfClosing, text, stray] = m;
    if (stray !== undefined) throw new Error(`malformed tag near ${JSON.stringify(body.slice(m.index, m.index + 40))}`);
    const top = stack[stack.length - 1]!;
    if (text !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) throw new Error(`unescaped & in ${JSON.stringify(text)}`);
      top.text += text;
      continue;
    }
    if (closing === "/") {
      if (top.name !== name) throw new Error(`</${name}> closes <${top.name}>`);
      stack.pop();
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText!.matchAll(/([A-Za-z_:][\w:.-]*)="([^"]*)"/g)) {
      if (a[1]! in attrs) throw new Error(`duplicate attribute ${a[1]}`);
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(a[2]!)) throw new Error(`unescaped & in attribute ${a[1]}`);
      attrs[a[1]!] = a[2]!;
    }
    const el: Element = { name: name!, attrs, children: [], text: "" };
    top.children.push(el);
    if (selfClosing !== "/") stack.push(el);
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  const elements = root.children;
  if (elements.length !== 1 || elements[0]!.name !== "svg" || root.text.trim() !== "") throw new Error("expected a single <svg> root");
  return elements[0]!;
};

const all = (el: Element, name: string): Element[] => [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => all(c, name))];
const texts = (el: Element): string[] => all(el, "text").map((t) => t.text);
const unescape = (s: string): string => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");

describe("niceTicks", () => {
  it("uses 1-2-5 steps that cover the range", () => {
    expect(niceTicks(0, 0.93, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(1, 10, 6)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.0312, 0.0457, 5)).toEqual([0.03, 0.035, 0.04, 0.045, 0.05]);
    expect(niceTicks(-3, 7, 5)).toEqual([-4, -2, 0, 2, 4, 6, 8]);
  });
});

describe("SVG charts", () => {
  const history = Array.from({ length: 10 }, (_, i) => ({ x: i + 1, loss: 2 / (i + 1), accuracy: 0.5 + i * 0.05, validationLoss: 2.2 / (i + 1), validationAccuracy: 0.48 + i * 0.05 }));

  it("training curves: a well-formed SVG with two panels, titles, axes labels, ticks and a legend", () => {
    const svg = parseXml(trainingCurvesSvg(history));
    expect(svg.attrs["xmlns"]).toBe("http://www.w3.org/2000/svg");
    expect(svg.attrs["viewBox"]).toBe("0 0 1000 380");
    const labels = texts(svg);
    for (const t of ["Loss", "Accuracy", "epoch", "train loss", "validation loss", "train accuracy", "validation accuracy"]) expect(labels).toContain(t);
    expect(labels).toEqual(expect.arrayContaining(["0", "2", "4", "6", "8", "10"])); // x ticks
    const paths = all(svg, "path");
    expect(paths).toHaveLength(4);
    expect(paths.filter((p) => p.attrs["stroke-dasharray"] !== undefined)).toHaveLength(2);
    for (const p of paths) expect(p.attrs["d"]).toMatch(/^M[\d.]+,[\d.]+( L[\d.]+,[\d.]+){9}$/);
    // Legends avoid the curves: top right for falling loss, bottom right for rising accuracy.
    const legends = all(svg, "rect").filter((r) => r.attrs["fill-opacity"] !== undefined);
    expect(legends.map((r) => Number(r.attrs["y"]) < 380 / 2)).toEqual([true, false]);
  });

  it("maps points into the plot area: higher values are drawn higher", () => {
    const svg = parseXml(lineChartSvg([{ name: "s", points: [[0, 0], [1, 1]] }], { width: 400, height: 300 }));
    const [first, second] = all(svg, "circle").map((c) => [Number(c.attrs["cx"]), Number(c.attrs["cy"])] as const);
    expect(second![0]).toBeGreaterThan(first![0]);
    expect(second![1]).toBeLessThan(first![1]);
    for (const [cx, cy] of [first!, second!]) {
      expect(cx).toBeGreaterThanOrEqual(64);
      expect(cx).toBeLessThanOrEqual(400 - 16);
      expect(cy).toBeGreaterThanOrEqual(36);
      expect(cy).toBeLessThanOrEqual(300 - 48);
    }
  });

  it("escapes names and titles", () => {
    const xml = lineChartSvg([{ name: 'a<b & "c"', points: [[1, 1]] }], { title: "<script>alert(1)</script>", xLabel: "x & y" });
    const svg = parseXml(xml);
    expect(texts(svg).map(unescape)).toEqual(expect.arrayContaining(['a<b & "c"', "<script>alert(1)</script>", "x & y"]));
    expect(all(svg, "script")).toHaveLength(0);
    expect(escapeXml(`<&>"'`)).toBe("&lt;&amp;&gt;&quot;&apos;");
  });

  it("breaks lines at NaN/Infinity, handles empty, single-point and flat series", () => {
    const broken = parseXml(lineChartSvg([{ name: "s", points: [[1, 1], [2, NaN], [3, 2], [4, Infinity], [5, 3], [6, 4]] }]));
    expect(all(broken, "path")[0]!.attrs["d"]).toMatch(/^M\S+ M\S+ M\S+ L\S+$/);
    expect(lineChartSvg([], {})).not.toMatch(/NaN|Infinity/);
    const empty = parseXml(lineChartSvg([{ name: "none", points: [] }]));
    expect(texts(empty)).toContain("no data");
    for (const points of [[[3, 5]], [[1, 2], [2, 2], [3, 2]]] as [number, number][][]) {
      const xml = lineChartSvg([{ name: "s", points }]);
      expect(xml).not.toMatch(/NaN|Infinity/);
      parseXml(xml);
    }
  });

  it("log scale: decade ticks, non-positive values dropped", () => {
    const xml = trainingCurvesSvg([{ x: 1, loss: 1 }, { x: 2, loss: 0.01 }, { x: 3, loss: 0 }, { x: 4, loss: 1e-4 }], { logLoss: true });
    const svg = parseXml(xml);
    expect(texts(svg)).toEqual(expect.arrayContaining(["1.0e-4", "0.001", "0.01", "0.1", "1", "10"]));
    expect(all(svg, "path")[0]!.attrs["d"]).toMatch(/^M\S+ L\S+ M\S+$/);
  });

  it("rejects absurd sizes", () => {
    expect(() => lineChartSvg([], { width: 10 })).toThrow(/at least 200x150/);
  });
});
