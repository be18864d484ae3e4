/**
 * Training curves as standalone SVG: line charts with axes, "nice" ticks (1-2-5 steps),
 * axis labels, a legend and a title; no dependencies.
 *
 * Takes series of (x, y) points; guarantees a well-formed SVG document (all text
 * XML-escaped, numbers finite): non-finite points are skipped and break the line, empty
 * series still give axes, a single point or a flat series gets a padded range, and a log
 * scale drops non-positive values.
 */

export interface ChartSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  /** CSS colour; default from a colour-blind-friendly palette. */
  readonly color?: string;
  readonly dashed?: boolean;
}

export interface ChartOptions {
  readonly title?: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  readonly width?: number;
  readonly height?: number;
  readonly yScale?: "linear" | "log";
}

const PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"];
const MARGIN = { left: 64, right: 16, top: 36, bottom: 48 };

/** Escapes text for XML content and attribute values. */
export const escapeXml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);

const num = (x: number): string => (Math.round(x * 100) / 100).toString();

/**
 * About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of 10).
 *
 * @example
 * niceTicks(0, 0.93, 5) // [0, 0.2, 0.4, 0.6, 0.8, 1]
 */
export const niceTicks = (lo: number, hi: number, count = 5): number[] => {
  const span = hi - lo;
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const first = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= hi + step * 1e-9 || ticks.length < 2; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < hi - step * 1e-9) ticks.push(Number((first + ticks.length * step).toPrecision(12)));
  return ticks;
};

const formatTick = (v: number): string => {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(6)));
};

interface Range {
  readonly lo: number;
  readonly hi: number;
}

const extent = (values: readonly number[], fallback: Range): Range => {
  if (values.length === 0) return fallback;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  return { lo, hi };
};

type Pixel = readonly [number, number];

/** Points along a polyline (vertices and 4 points per segment), to estimate what a box would hide. */
const samplePath = (pixels: readonly Pixel[]): Pixel[] =>
  pixels.flatMap((p, i) => {
    const next = pixels[i + 1];
    if (next === undefined) return [p];
    return [0, 0.25, 0.5, 0.75].map((t): Pixel => [p[0] + (next[0] - p[0]) * t, p[1] + (next[1] - p[1]) * t]);
  });

/** The plot corner where a legend box covers the fewest curve points (top right first on ties). */
const placeLegend = (pixels: readonly Pixel[], plot: { left: number; top: number; right: number; bottom: number }, w: number, h: number): { x: number; y: number } => {
  const pad = 8;
  const corners = [
    { x: plot.right - w - pad, y: plot.top + pad },
    { x: plot.right - w - pad, y: plot.bottom - h - pad },
    { x: plot.left + pad, y: plot.top + pad },
    { x: plot.left + pad, y: plot.bottom - h - pad },
  ];
  const covered = (c: { x: number; y: number }): number => pixels.filter(([px, py]) => px >= c.x - 4 && px <= c.x + w + 4 && py >= c.y - 4 && py <= c.y + h + 4).length;
  return corners.reduce((best, c) => (covered(c) < covered(best) ? c : best));
};

/** One chart as an SVG `<g>` positioned at (x, y). */
const chartGroup = (series: readonly ChartSeries[], options: ChartOptions, x: number, y: number, width: number, height: number): string => {
  const log = options.yScale === "log";
  const usable = (p: readonly [number, number]): boolean => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!log || p[1] > 0);
  const all = series.flatMap((s) => s.points.filter(usable));
  const xRange = extent(all.map((p) => p[0]), { lo: 0, hi: 1 });
  const yValues = all.map((p) => (log ? Math.log10(p[1]) : p[1]));
  const yRangeRaw = extent(yValues, log ? { lo: -1, hi: 0 } : { lo: 0, hi: 1 });
  const xTicks = niceTicks(xRange.lo, xRange.hi, 6);
  const yTicks = log
    ? Array.from({ length: Math.floor(yRangeRaw.hi) - Math.floor(yRangeRaw.lo) + 2 }, (_, i) => Math.floor(yRangeRaw.lo) + i)
    : niceTicks(yRangeRaw.lo, yRangeRaw.hi, 5);
  const x0 = xTicks[0]!;
  const x1 = xTicks[xTicks.length - 1]!;
  const y0 = yTicks[0]!;
  const y1 = yTicks[yTicks.length - 1]!;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const sx = (v: number): number => MARGIN.left + ((v - x0) / (x1 - x0)) * plotW;
  const sy = (v: number): number => MARGIN.top + plotH - (((log ? Math.log10(v) : v) - y0) / (y1 - y0)) * plotH;
  const syTick = (t: number): number => MARGIN.top + plotH - ((t - y0) / (y1 - y0)) * plotH;

  const parts: string[] = [`<g transform="translate(${num(x)},${num(y)})" font-family="sans-serif" font-size="11">`];
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${num(plotW)}" height="${num(plotH)}" fill="#ffffff" stroke="#cccccc"/>`);
  for (const t of yTicks) {
    const ty = num(syTick(t));
    parts.push(`<line x1="${MARGIN.left}" x2="${num(MARGIN.left + plotW)}" y1="${ty}" y2="${ty}" stroke="#eeeeee"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle">${escapeXml(log ? formatTick(10 ** t) : formatTick(t))}</text>`);
  }
  for (const t of xTicks) {
    const tx = num(sx(t));
    parts.push(`<line x1="${tx}" x2="${tx}" y1="${num(MARGIN.top + plotH)}" y2="${num(MARGIN.top + plotH + 4)}" stroke="#333333"/>`);
    parts.push(`<text x="${tx}" y="${num(MARGIN.top + plotH + 16)}" text-anchor="middle">${escapeXml(formatTick(t))}</text>`);
  }
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${num(MARGIN.top + plotH)}" stroke="#333333"/>`);
  parts.push(`<line x1="${MARGIN.left}" x2="${num(MARGIN.left + plotW)}" y1="${num(MARGIN.top + plotH)}" y2="${num(MARGIN.top + plotH)}" stroke="#333333"/>`);
  if (options.title !== undefined) parts.push(`<text x="${num(MARGIN.left + plotW / 2)}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`);
  if (options.xLabel !== undefined) parts.push(`<text x="${num(MARGIN.left + plotW / 2)}" y="${num(height - 10)}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  if (options.yLabel !== undefined) {
    parts.push(`<text transform="translate(14,${num(MARGIN.top + plotH / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`);
  }
  if (all.length === 0) parts.push(`<text x="${num(MARGIN.left + plotW / 2)}" y="${num(MARGIN.top + plotH / 2)}" text-anchor="middle" fill="#888888">no data</text>`);

  const legendWidth = 34 + 6.5 * Math.max(0, ...series.map((s) => s.name.length));
  const legendHeight = 8 + 16 * series.length;
  const legend = placeLegend(
    series.flatMap((s) => samplePath(s.points.filter(usable).map((p) => [sx(p[0]), sy(p[1])] as const))),
    { left: MARGIN.left, top: MARGIN.top, right: MARGIN.left + plotW, bottom: MARGIN.top + plotH },
    legendWidth,
    legendHeight,
  );
  if (series.length > 0) {
    parts.push(`<rect x="${num(legend.x)}" y="${num(legend.y)}" width="${num(legendWidth)}" height="${legendHeight}" fill="#ffffff" fill-opacity="0.85" stroke="#dddddd"/>`);
  }
  series.forEach((s, i) => {
    const color = escapeXml(s.color ?? PALETTE[i % PALETTE.length]!);
    // Non-finite (or, on a log scale, non-positive) points break the line into segments.
    let d = "";
    let pen = "M";
    for (const p of s.points) {
      if (!usable(p)) {
        pen = "M";
        continue;
      }
      d += `${pen}${num(sx(p[0]))},${num(sy(p[1]))} `;
      pen = "L";
    }
    const dash = s.dashed === true ? ' stroke-dasharray="6 4"' : "";
    if (d !== "") parts.push(`<path d="${d.trim()}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    const usableCount = s.points.filter(usable).length;
    if (usableCount > 0 && usableCount <= 40) {
      for (const p of s.points.filter(usable)) parts.push(`<circle cx="${num(sx(p[0]))}" cy="${num(sy(p[1]))}" r="2.5" fill="${color}"/>`);
    }
    const ly = legend.y + 12 + i * 16;
    const lx = legend.x + 6;
    parts.push(`<line x1="${num(lx)}" x2="${num(lx + 20)}" y1="${num(ly)}" y2="${num(ly)}" stroke="${color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${num(lx + 26)}" y="${num(ly)}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  parts.push("</g>");
  return parts.join("\n");
};

const svgDocument = (width: number, height: number, body: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n<rect width="100%" height="100%" fill="#ffffff"/>\n${body}\n</svg>\n`;

const checkSize = (width: number, height: number): void => {
  if (!(Number.isFinite(width) && Number.isFinite(height) && width >= 200 && height >= 150)) throw new RangeError(`chart size must be at least 200x150, got ${width}x${height}`);
};

/**
 * One line chart as a standalone SVG document.
 *
 * @example
 * fs.writeFileSync("loss.svg", lineChartSvg([{ name: "train", points: [[1, 0.9], [2, 0.5], [3, 0.3]] }], { title: "loss", xLabel: "epoch" }));
 */
export const lineChartSvg = (series: readonly ChartSeries[], options: ChartOptions = {}): string => {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  checkSize(width, height);
  return svgDocument(width, height, chartGroup(series, options, 0, 0, width, height));
};

/** One row of training history; any metric may be absent. */
export interface HistoryPoint {
  /** Epoch number or step: the x axis. */
  readonly x: number;
  readonly loss?: number;
  readonly accuracy?: number;
  readonly validationLoss?: number;
  readonly validationAccuracy?: number;
}

/**
 * Loss and accuracy curves (train solid, validation dashed) side by side in one SVG.
 *
 * @example
 * fs.writeFileSync("out/curves.svg", trainingCurvesSvg(history, { xLabel: "epoch" }));
 */
export const trainingCurvesSvg = (history: readonly HistoryPoint[], options: { readonly xLabel?: string; readonly logLoss?: boolean; readonly width?: number; readonly height?: number } = {}): string => {
  const width = options.width ?? 1000;
  const height = options.height ?? 380;
  checkSize(width / 2, height);
  const pick = (f: (h: HistoryPoint) => number | undefined): [number, number][] =>
    history.flatMap((h) => {
      const v = f(h);
      return v === undefined ? [] : [[h.x, v] as [number, number]];
    });
  const xLabel = options.xLabel ?? "epoch";
  const loss = chartGroup(
    [
      { name: "train loss", points: pick((h) => h.loss), color: PALETTE[0]! },
      { name: "validation loss", points: pick((h) => h.validationLoss), color: PALETTE[1]!, dashed: true },
    ],
    { title: "Loss", xLabel, yLabel: "loss", yScale: options.logLoss === true ? "log" : "linear" },
    0,
    0,
    width / 2,
    height,
  );
  const acc = chartGroup(
    [
      { name: "train accuracy", points: pick((h) => h.accuracy), color: PALETTE[0]! },
      { name: "validation accuracy", points: pick((h) => h.validationAccuracy), color: PALETTE[1]!, dashed: true },
    ],
    { title: "Accuracy", xLabel, yLabel: "accuracy" },
    width / 2,
    0,
    width / 2,
    height,
  );
  return svgDocument(width, height, `${loss}\n${acc}`);
};
