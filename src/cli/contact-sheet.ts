/**
 * A labelled contact sheet: a grid of images (rows of results, columns of prompts) scaled up
 * with nearest neighbour so small model outputs stay readable, with column headers and row
 * labels drawn as SVG text by sharp (librsvg; it needs a font installed: scripts/setup.sh
 * installs fonts-dejavu-core).
 */
import sharp, { type OverlayOptions } from 'sharp';

import type { RgbImage } from '../image.js';

export interface SheetRow {
  /** Lines of the row label (left of the row). */
  label: string[];
  /** One image per column (null leaves the cell empty). */
  images: (RgbImage | null)[];
}

export interface SheetSpec {
  title?: string;
  /** Column headers. */
  columns: string[];
  rows: SheetRow[];
  /** Images are scaled up by an integer factor until their longer side is at least this (default 128). */
  cellSize?: number;
}

const FONT = 13;
const LINE = 16;
const PAD = 8;
const LABEL_WIDTH = 230;
const CHAR_WIDTH = FONT * 0.6;

const escapeXml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);

/** Splits text into at most `maxLines` lines of `width` characters, ending in "…" if cut. */
export function wrap(text: string, width: number, maxLines: number): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const candidate = line ? `${line} ${word}` : word;
    if (candidate.length <= width) line = candidate;
    else {
      if (line) lines.push(line);
      line = word.length > width ? `${word.slice(0, width - 1)}…` : word;
    }
  }
  if (line) lines.push(line);
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    const last = kept[maxLines - 1];
    kept[maxLines - 1] = `${last.length >= width ? last.slice(0, width - 1) : last}…`;
    return kept;
  }
  return lines;
}

const fit = (text: string, width: number) => (text.length <= width ? text : `${text.slice(0, Math.max(1, width - 1))}…`);

export interface SheetLayout {
  width: number;
  height: number;
  scale: number;
  cellWidth: number;
  cellHeight: number;
}

/** Renders the sheet to PNG bytes (and reports its layout). */
export async function contactSheet(spec: SheetSpec): Promise<{ png: Buffer; layout: SheetLayout }> {
  const first = spec.rows.flatMap((r) => r.images).find((i): i is RgbImage => i !== null);
  const imageWidth = first?.width ?? 32;
  const imageHeight = first?.height ?? 32;
  const scale = Math.max(1, Math.ceil((spec.cellSize ?? 128) / Math.max(imageWidth, imageHeight)));
  const cellWidth = imageWidth * scale;
  const cellHeight = imageHeight * scale;
  const headerChars = Math.max(4, Math.floor(cellWidth / CHAR_WIDTH));
  const headers = spec.columns.map((c) => wrap(c, headerChars, 3));
  const headerLines = Math.max(1, ...headers.map((h) => h.length));
  const titleHeight = spec.title ? LINE + PAD : 0;
  const top = PAD + titleHeight + headerLines * LINE + PAD / 2;
  const labelLines = Math.max(1, ...spec.rows.map((r) => r.label.length));
  const rowHeight = Math.max(cellHeight, labelLines * LINE) + PAD;
  const width = PAD + LABEL_WIDTH + spec.columns.length * (cellWidth + PAD);
  const height = top + spec.rows.length * rowHeight + PAD;
  const left = (column: number) => PAD + LABEL_WIDTH + column * (cellWidth + PAD);

  const composites: OverlayOptions[] = [];
  for (const [r, row] of spec.rows.entries()) {
    for (const [c, image] of row.images.entries()) {
      if (!image) continue;
      const input = await image.toSharp().resize(image.width * scale, image.height * scale, { kernel: 'nearest' }).png().toBuffer();
      composites.push({ input, left: left(c), top: top + r * rowHeight });
    }
  }

  const text: string[] = [];
  const labelChars = Math.floor((LABEL_WIDTH - PAD) / CHAR_WIDTH);
  if (spec.title) text.push(`<text x="${PAD}" y="${PAD + FONT}" font-weight="bold">${escapeXml(fit(spec.title, Math.floor((width - 2 * PAD) / CHAR_WIDTH)))}</text>`);
  for (const [c, lines] of headers.entries()) {
    for (const [k, line] of lines.entries()) {
      text.push(`<text x="${left(c)}" y="${PAD + titleHeight + (k + 1) * LINE - 3}">${escapeXml(line)}</text>`);
    }
  }
  for (const [r, row] of spec.rows.entries()) {
    for (const [k, line] of row.label.entries()) {
      text.push(`<text x="${PAD}" y="${top + r * rowHeight + (k + 1) * LINE - 3}">${escapeXml(fit(line, labelChars))}</text>`);
    }
  }
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<g font-family="DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif" font-size="${FONT}" fill="#111">${text.join('')}</g></svg>`;
  composites.push({ input: Buffer.from(svg), left: 0, top: 0 });

  const png = await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(composites)
    .png()
    .toBuffer();
  return { png, layout: { width, height, scale, cellWidth, cellHeight } };
}
