/**
 * Attribution maps as standalone SVG: a grid with one row per example, the input image
 * (grayscale) first, then one map per attribution method on a diverging colour scale
 * (blue for evidence against the explained output, white for none, red for evidence for
 * it), each map scaled to its own largest magnitude, with a colour bar. No dependencies.
 *
 * Takes row-major pixel values (images in [0, 1]) of a known height and width; guarantees
 * a well-formed SVG document: text is XML-escaped, numbers are finite (non-finite values
 * draw as zero), and only visible pixels are drawn, so the file stays small.
 */
import { escapeXml } from "../train/chart.js";
import { ValidationError } from "../errors.js";

export interface AttributionRow {
  /** The input image, row-major, values in [0, 1]. */
  readonly image: ArrayLike<number>;
  /** One map per column title, row-major, same size as the image. */
  readonly maps: readonly ArrayLike<number>[];
  /** Shown under the row's image, e.g. "7 (predicted 7)". */
  readonly label?: string;
}

export interface AttributionGridOptions {
  /** Image height and width in pixels (e.g. 28 x 28). */
  readonly height: number;
  readonly width: number;
  /** Titles of the map columns, e.g. ["integrated gradients"]. */
  readonly mapTitles: readonly string[];
  readonly title?: string;
  /** Screen pixels per image pixel (default 4). */
  readonly scale?: number;
}

const GAP = 12;
const HEAD = 46;
const LABEL = 18;
const BAR = 46;

/** Diverging blue-white-red colour of a value in [-1, 1] (ColorBrewer RdBu end points). @example divergingColor(1) // "#b2182b" */
export const divergingColor = (t: number): string => {
  const v = Math.max(-1, Math.min(1, Number.isFinite(t) ? t : 0));
  const [end, white] = [v >= 0 ? [178, 24, 43] : [33, 102, 172], [255, 255, 255]];
  const a = Math.abs(v);
  const c = white.map((w, i) => Math.round(w + (end[i]! - w) * a));
  return `#${c.map((x) => x.toString(16).padStart(2, "0")).join("")}`;
};

const grayColor = (v: number): string => {
  const g = Math.round(255 * (1 - Math.max(0, Math.min(1, Number.isFinite(v) ? v : 0))));
  const h = g.toString(16).padStart(2, "0");
  return `#${h}${h}${h}`;
};

/** Map values this close to zero (relative to the map's peak) draw as white: not drawn. */
const INVISIBLE = 0.02;

/** `<rect>`s of the pixels that are not (nearly) white. */
const pixels = (values: ArrayLike<number>, w: number, s: number, x0: number, y0: number, color: (v: number) => string): string => {
  const out: string[] = [];
  for (let i = 0; i < values.length; i++) {
    const c = color(values[i]!);
    if (c === "#ffffff") continue;
    out.push(`<rect x="${x0 + (i % w) * s}" y="${y0 + Math.floor(i / w) * s}" width="${s}" height="${s}" fill="${c}"/>`);
  }
  return out.join("");
};

const maxAbs = (values: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) m = Math.max(m, Math.abs(values[i]!));
  return m;
};

const colourBar = (x: number, y: number, width: number): string => {
  const stops = [-1, -0.5, 0, 0.5, 1].map((t) => `<stop offset="${(t + 1) / 2}" stop-color="${divergingColor(t)}"/>`).join("");
  return (
    `<defs><linearGradient id="diverging">${stops}</linearGradient></defs>` +
    `<rect x="${x}" y="${y}" width="${width}" height="10" fill="url(#diverging)" stroke="#999"/>` +
    `<text x="${x}" y="${y + 24}" font-size="11">against (−max)</text>` +
    `<text x="${x + width / 2}" y="${y + 24}" font-size="11" text-anchor="middle">0</text>` +
    `<text x="${x + width}" y="${y + 24}" font-size="11" text-anchor="end">for (+max)</text>`
  );
};

/**
 * The SVG document of an attribution grid.
 * @example
 * const svg = attributionGridSvg([{ image, maps: [ig], label: "7" }], { height: 28, width: 28, mapTitles: ["integrated gradients"] });
 */
export const attributionGridSvg = (rows: readonly AttributionRow[], options: AttributionGridOptions): string => {
  const { height: h, width: w } = options;
  const s = options.scale ?? 4;
  const size = h * w;
  rows.forEach((r, i) => {
    if (r.image.length !== size) throw new ValidationError(`has ${r.image.length} pixels, expected ${h}x${w} = ${size}`, `rows[${i}].image`);
    if (r.maps.length !== options.mapTitles.length) throw new ValidationError(`has ${r.maps.length} maps for ${options.mapTitles.length} titles`, `rows[${i}].maps`);
    r.maps.forEach((m, k) => {
      if (m.length !== size) throw new ValidationError(`has ${m.length} values, expected ${size}`, `rows[${i}].maps[${k}]`);
    });
  });
  const cell = w * s;
  const columns = 1 + options.mapTitles.length;
  const width = GAP + columns * (cell + GAP);
  const rowHeight = h * s + LABEL + GAP;
  const height = HEAD + rows.length * rowHeight + BAR;
  const titles = ["input", ...options.mapTitles]
    .map((t, c) => `<text x="${GAP + c * (cell + GAP) + cell / 2}" y="${HEAD - 8}" font-size="12" text-anchor="middle">${escapeXml(t)}</text>`)
    .join("");
  const body = rows
    .map((r, i) => {
      const y = HEAD + i * rowHeight;
      const frame = (c: number): string => `<rect x="${GAP + c * (cell + GAP)}" y="${y}" width="${cell}" height="${h * s}" fill="#fff" stroke="#ccc"/>`;
      const image = frame(0) + pixels(r.image, w, s, GAP, y, grayColor);
      const maps = r.maps
        .map((m, k) => {
          const peak = maxAbs(m);
          const x0 = GAP + (k + 1) * (cell + GAP);
          return frame(k + 1) + pixels(m, w, s, x0, y, (v) => divergingColor(peak === 0 || Math.abs(v) < INVISIBLE * peak ? 0 : v / peak));
        })
        .join("");
      const label = r.label === undefined ? "" : `<text x="${GAP + cell / 2}" y="${y + h * s + 14}" font-size="11" text-anchor="middle">${escapeXml(r.label)}</text>`;
      return `<g>${image}${maps}${label}</g>`;
    })
    .join("\n");
  const title = options.title === undefined ? "" : `<text x="${GAP}" y="18" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`;
  const bar = colourBar(GAP + cell + GAP, HEAD + rows.length * rowHeight + 4, Math.min(width - 3 * GAP - cell, 2 * cell));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" shape-rendering="crispEdges">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    title,
    titles,
    body,
    bar,
    "</svg>",
    "",
  ].join("\n");
};
