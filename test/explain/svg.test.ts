/**
 * Attribution grids as SVG: well-formed (a strict little parser), one frame per image and
 * map, colours on the diverging scale scaled per map, only visible pixels drawn, text
 * escaped, wrong sizes rejected with the path of the bad field.
 */
import { describe, expect, it } from "vitest";
import { attributionGridSvg, divergingColor } from "../../src/explain/svg.js";

interface Element {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: Element[];
  text: string;
}

/** Throws on anything not well-formed; returns the single root element. */
const parseXml = (xml: string): Element => {
  const root: Element = { name: "#document", attrs: {}, children: [], text: "" };
  const stack: Element[] = [root];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[A-Za-z_:][\w:.-]*="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  for (let m = token.exec(xml); m !== null; m = token.exec(xml)) {
    const [, closing, name, attrText, selfClosing, text, stray] = m;
    if (stray !== undefined) throw new Error(`malformed tag near ${JSON.stringify(xml.slice(m.index, m.index + 40))}`);
    const top = stack[stack.length - 1]!;
    if (text !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) throw new Error(`unescaped & in ${JSON.stringify(text)}`);
      top.text += text;
    } else if (closing === "/") {
      if (top.name !== name) throw new Error(`</${name}> closes <${top.name}>`);
      stack.pop();
    } else {
      const attrs = Object.fromEntries([...attrText!.matchAll(/([A-Za-z_:][\w:.-]*)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!]));
      const el: Element = { name: name!, attrs, children: [], text: "" };
      top.children.push(el);
      if (selfClosing !== "/") stack.push(el);
    }
  }
  if (stack.length !== 1 || root.children.length !== 1 || root.children[0]!.name !== "svg") throw new Error("expected one closed <svg> root");
  return root.children[0]!;
};

const all = (el: Element, name: string): Element[] => [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => all(c, name))];

describe("attribution grid SVG", () => {
  const image = Array.from({ length: 9 }, (_, i) => (i === 4 ? 1 : 0));
  const map = [0, 0, 0, 0, 2, 0, -1, 0, 0];
  const svg = attributionGridSvg(
    [
      { image, maps: [map, map.map((v) => v * 10)], label: "7 <predicted 1>" },
      { image, maps: [map.map(() => 0), map], label: "two" },
    ],
    { height: 3, width: 3, mapTitles: ["integrated gradients", "gradient × input"], title: "R&D", scale: 5 },
  );
  const root = parseXml(svg);
  const rects = all(root, "rect");

  it("is well-formed, titled and escaped", () => {
    expect(root.attrs.xmlns).toBe("http://www.w3.org/2000/svg");
    const texts = all(root, "text").map((t) => t.text);
    expect(texts).toContain("R&amp;D");
    expect(texts).toContain("7 &lt;predicted 1&gt;");
    expect(texts).toEqual(expect.arrayContaining(["input", "integrated gradients", "gradient × input"]));
  });

  it("draws a frame per image and map and only the visible pixels, scaled per map", () => {
    const frames = rects.filter((r) => r.attrs.stroke === "#ccc");
    expect(frames).toHaveLength(6);
    const pixels = rects.filter((r) => r.attrs.width === "5" && r.attrs.stroke === undefined);
    // Row 1: one image pixel, two map pixels in each map; row 2: one image pixel, an all-zero map, two pixels.
    expect(pixels).toHaveLength(1 + 2 + 2 + 1 + 0 + 2);
    const fills = pixels.map((p) => p.attrs.fill);
    expect(fills.filter((f) => f === divergingColor(1))).toHaveLength(3); // each map's peak is full red
    expect(fills.filter((f) => f === divergingColor(-0.5))).toHaveLength(3);
    expect(fills.filter((f) => f === "#000000")).toHaveLength(2);
  });

  it("has a diverging scale from blue through white to red", () => {
    expect(divergingColor(0)).toBe("#ffffff");
    expect(divergingColor(1)).toBe("#b2182b");
    expect(divergingColor(-1)).toBe("#2166ac");
    expect(divergingColor(Number.NaN)).toBe("#ffffff");
    expect(divergingColor(7)).toBe("#b2182b");
  });

  it("rejects images and maps of the wrong size, naming the field", () => {
    expect(() => attributionGridSvg([{ image: [0, 1], maps: [map] }], { height: 3, width: 3, mapTitles: ["ig"] })).toThrow(/rows\[0\]\.image: has 2 pixels, expected 3x3 = 9/);
    expect(() => attributionGridSvg([{ image, maps: [[1]] }], { height: 3, width: 3, mapTitles: ["ig"] })).toThrow(/rows\[0\]\.maps\[0\]: has 1 values, expected 9/);
    expect(() => attributionGridSvg([{ image, maps: [] }], { height: 3, width: 3, mapTitles: ["ig"] })).toThrow(/rows\[0\]\.maps: has 0 maps for 1 titles/);
  });
});
