/**
 * Image metrics beyond PSNR (src/image.ts): SSIM, MS-SSIM, and the background metrics of
 * PIE-Bench. The numerics and the reference they follow: src/ssim.ts.
 *
 * **SSIM at the bundled model's size.** 32x32 images give a 22x22 SSIM map: fine.
 * **MS-SSIM at small sizes.** The standard five scales need the shorter side to be at least
 * 176 px (the 11x11 window must fit the 1/16 scale; the authors' msssim.m refuses smaller
 * images), so a 32x32 image holds two scales (32 and 16 px). `msSsim` computes the standard
 * five-scale MS-SSIM and refuses a smaller image with ERR_INVALID_ARGUMENT; `{ scales: 'auto' }`
 * (or a number) asks for fewer scales, with the first weights of the standard five
 * renormalised to sum to 1 (the five sum to 1, so a pair of images equally similar at every
 * scale keeps that similarity as its score). That is a different number from the published
 * metric (at 32x32: 0.136 of 32-px contrast-structure and 0.864 of 16-px SSIM), so the reports
 * (reconstruct, sweep, the quality benchmark) give MS-SSIM only where the standard five scales
 * fit (SD's 512x512) and null elsewhere, and SSIM everywhere.
 *
 * **Background metrics, PIE-Bench's convention** (Ju et al., "Direct Inversion", ICLR 2024;
 * cure-lab/PnPInversion, evaluation/evaluate.py and matrics_calculator.py, metrics
 * `psnr_unedit_part` and `ssim_unedit_part`): both images are multiplied by the inverse of the
 * edit mask (1 - mask: the pixels the edit should leave alone stay, the rest become black in
 * BOTH images), and PSNR / SSIM are then computed over the WHOLE image as usual (torchmetrics,
 * data range 1 on pixels / 255, which gives the same numbers as 8-bit pixels with range 255).
 * The blacked-out pixels agree exactly, so they add zero error: PSNR over the whole image is
 * the PSNR of the kept pixels plus 10 log10(all pixels / kept pixels), and SSIM windows that
 * straddle the mask edge see the black fill. An empty background gives NaN (PIE-Bench: "nan").
 * (PIE-Bench's mask decoder also marks the 1-pixel image border as edited, a property of its
 * annotations, not of the metric; not applied here.) `psnr(a, b, keep)` in src/image.ts is the
 * other convention, the PSNR of the kept pixels alone; the quality benchmark reports both.
 */
import { EdictError, ErrorCode } from './errors.js';
import { RgbImage, type RawPixels } from './image.js';
import { msSsimScaleCount, msSsimWeights, planeMsSsim, planeStats, SSIM_WINDOW, type Plane } from './ssim.js';

/** An image the metrics take: an RgbImage, or raw 8-bit pixels with 1 (grey) or 3 (RGB) channels. */
export type MetricImage = RgbImage | RawPixels;

export interface MsSsimOptions {
  /**
   * Scales: 5 (the standard MS-SSIM; default), fewer (1..4: the first weights renormalised),
   * or 'auto': as many as the image holds, at most 5 (2 at 32x32).
   */
  scales?: number | 'auto';
}

interface Pixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: number;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}

function pixelsOf(value: unknown, what: string, name: string): Pixels {
  if (value instanceof RgbImage) return { data: value.data, width: value.width, height: value.height, channels: 3 };
  if (typeof value === 'object' && value !== null && 'data' in value && 'width' in value && 'height' in value) {
    const { data, width, height } = value as RawPixels;
    // Without `channels`, 1 or 3 from the length.
    const channels = (value as Partial<RawPixels>).channels ?? (width * height > 0 ? data.length / (width * height) : 0);
    if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
      throw new EdictError(ErrorCode.InvalidArgument, `${what}: ${name} must hold 8-bit pixels (Uint8Array), got ${describe(data)}`);
    }
    if (channels !== 1 && channels !== 3) {
      throw new EdictError(ErrorCode.InvalidArgument, `${what}: ${name} must have 1 (grey) or 3 (RGB) channels, got ${channels}`);
    }
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || data.length !== width * height * channels) {
      throw new EdictError(ErrorCode.InvalidArgument, `${what}: ${name} has ${data.length} bytes, ${width}x${height}x${channels} needs ${width * height * channels}`);
    }
    return { data, width, height, channels };
  }
  throw new EdictError(ErrorCode.InvalidArgument, `${what}: ${name} must be an RgbImage or raw pixels { data, width, height, channels }, got ${describe(value)}`);
}

function pair(what: string, a: MetricImage, b: MetricImage): [Pixels, Pixels] {
  const pa = pixelsOf(a, what, 'the first image');
  const pb = pixelsOf(b, what, 'the second image');
  if (pa.width !== pb.width || pa.height !== pb.height || pa.channels !== pb.channels) {
    throw new EdictError(ErrorCode.InvalidArgument, `${what}: images differ in size: ${pa.width}x${pa.height}x${pa.channels} and ${pb.width}x${pb.height}x${pb.channels}`);
  }
  return [pa, pb];
}

function checkMask(what: string, mask: Uint8Array, p: Pixels): void {
  if (!(mask instanceof Uint8Array)) throw new EdictError(ErrorCode.InvalidArgument, `${what}: the mask must be a Uint8Array (one byte per pixel), got ${describe(mask)}`);
  if (mask.length !== p.width * p.height) {
    throw new EdictError(ErrorCode.InvalidArgument, `${what}: the mask has ${mask.length} values, the images have ${p.width * p.height} pixels`);
  }
}

/** Channel `c` as a float64 plane, multiplied by `keep` (1 = keep, 0 = black) when given. */
function plane(p: Pixels, c: number, keep?: Uint8Array): Plane {
  const n = p.width * p.height;
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = keep && !keep[i] ? 0 : p.data[i * p.channels + c];
  return { data, width: p.width, height: p.height };
}

function countKept(mask: Uint8Array): number {
  let n = 0;
  for (const v of mask) n += v ? 1 : 0;
  return n;
}

/**
 * SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, range 255; the
 * mean over channels of each channel's mean SSIM) between two images of equal size, each side
 * at least 11 px. `mask` (one byte per pixel, 1 = compared, as `psnr`'s) multiplies both images
 * before the comparison, PIE-Bench's convention (see the file comment): NaN when it keeps nothing.
 */
export function ssim(a: MetricImage, b: MetricImage, mask?: Uint8Array): number {
  const [pa, pb] = pair('ssim', a, b);
  if (pa.width < SSIM_WINDOW || pa.height < SSIM_WINDOW) {
    throw new EdictError(ErrorCode.InvalidArgument, `ssim: images must be at least ${SSIM_WINDOW}x${SSIM_WINDOW} (the Gaussian window), got ${pa.width}x${pa.height}`);
  }
  if (mask !== undefined) {
    checkMask('ssim', mask, pa);
    if (countKept(mask) === 0) return Number.NaN;
  }
  let sum = 0;
  for (let c = 0; c < pa.channels; c++) sum += planeStats(plane(pa, c, mask), plane(pb, c, mask)).ssim;
  return sum / pa.channels;
}

/** How many MS-SSIM scales an image of this size holds (5 from 176 px on the shorter side; 2 at 32x32; 0 under 11 px). */
export function msSsimScales(width: number, height: number): number {
  return msSsimScaleCount(width, height);
}

/**
 * MS-SSIM (Wang, Simoncelli, Bovik 2003; the authors' msssim.m: five scales, weights 0.0448,
 * 0.2856, 0.3001, 0.2363, 0.1333; per channel, then the mean over channels). The standard five
 * scales need the shorter side to be at least 176 px; a smaller image is refused
 * (ERR_INVALID_ARGUMENT) unless `scales` asks for fewer (see the file comment for what that
 * number means).
 */
export function msSsim(a: MetricImage, b: MetricImage, options: MsSsimOptions = {}): number {
  const [pa, pb] = pair('msSsim', a, b);
  const fits = msSsimScaleCount(pa.width, pa.height);
  const asked = options.scales ?? 5;
  if (asked !== 'auto' && !(Number.isInteger(asked) && asked >= 1 && asked <= 5)) {
    throw new EdictError(ErrorCode.InvalidArgument, `msSsim: scales must be an integer from 1 to 5 or 'auto', got ${String(asked)}`);
  }
  const scales = asked === 'auto' ? fits : asked;
  if (scales === 0 || scales > fits) {
    const need = SSIM_WINDOW * 2 ** (Math.max(1, scales) - 1);
    throw new EdictError(
      ErrorCode.InvalidArgument,
      `msSsim: ${scales || 1} scale(s) need images of at least ${need}x${need} (the 11x11 window at the coarsest scale), got ${pa.width}x${pa.height}` +
        (fits > 0 ? `: it holds ${fits}; pass { scales: 'auto' } for a ${fits}-scale MS-SSIM (renormalised weights), or use ssim` : ''),
    );
  }
  const weights = msSsimWeights(scales);
  let sum = 0;
  for (let c = 0; c < pa.channels; c++) sum += planeMsSsim(plane(pa, c), plane(pb, c), weights);
  return sum / pa.channels;
}

/** SSIM, or NaN when a side is under 11 px (the reports' field: a 'keep-aspect' size may be 8 px thin). */
export function ssimOrNaN(a: MetricImage, b: MetricImage): number {
  const [pa] = pair('ssim', a, b);
  return pa.width < SSIM_WINDOW || pa.height < SSIM_WINDOW ? Number.NaN : ssim(a, b);
}

/** The standard five-scale MS-SSIM, or null when the images are too small for it (the reports' field). */
export function standardMsSsim(a: MetricImage, b: MetricImage): number | null {
  const [pa] = pair('msSsim', a, b);
  return msSsimScaleCount(pa.width, pa.height) === 5 ? msSsim(a, b) : null;
}

function keepMask(what: string, editMask: Uint8Array, p: Pixels): Uint8Array {
  checkMask(what, editMask, p);
  return editMask.map((v) => (v ? 0 : 1));
}

/**
 * PIE-Bench's "PSNR of the unedited part": both images multiplied by 1 - `editMask` (one byte
 * per pixel, 1 = the edit may change it), then PSNR over all pixels (range 255). Infinity when
 * the kept pixels agree, NaN when the mask covers everything.
 */
export function backgroundPsnr(a: MetricImage, b: MetricImage, editMask: Uint8Array): number {
  const [pa, pb] = pair('backgroundPsnr', a, b);
  const keep = keepMask('backgroundPsnr', editMask, pa);
  if (countKept(keep) === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < pa.data.length; i++) {
    if (!keep[Math.floor(i / pa.channels)]) continue;
    const d = pa.data[i] - pb.data[i];
    sum += d * d;
  }
  const mse = sum / pa.data.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}

/** PIE-Bench's "SSIM of the unedited part": `ssim(a, b, 1 - editMask)`. NaN when the mask covers everything. */
export function backgroundSsim(a: MetricImage, b: MetricImage, editMask: Uint8Array): number {
  const [pa] = pair('backgroundSsim', a, b);
  return ssim(a, b, keepMask('backgroundSsim', editMask, pa));
}
