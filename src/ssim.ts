/**
 * SSIM and MS-SSIM on planes of float64 samples: the numerics behind src/metrics.ts.
 *
 * SSIM is the reference of Wang, Bovik, Sheikh and Simoncelli (IEEE TIP 13(4), 2004), as the
 * authors' `ssim_index.m` computes it: an 11x11 Gaussian window with sigma 1.5 (normalised to
 * sum 1), K1 = 0.01, K2 = 0.03, C1 = (K1 L)^2, C2 = (K2 L)^2 with L the dynamic range (255 for
 * 8-bit pixels); local means, variances and covariance weighted by the window, with population
 * (1/N) moments; the SSIM map only where the window fits inside the image ("valid": a W x H
 * image gives a (W-10) x (H-10) map, no padding), and the mean of that map. This is also what
 * scikit-image's `structural_similarity(..., gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=255)` and torchmetrics' `structural_similarity_index_measure`
 * (which pads, then crops the padded border away) compute. No automatic downsampling (the later
 * `ssim.m` shrinks images over 256 px first; scikit-image and torchmetrics do not).
 *
 * MS-SSIM is Wang, Simoncelli and Bovik (Asilomar 2003) as the authors' `msssim.m` computes it:
 * at scales 1..M the mean contrast-structure term cs_j (and at the coarsest the mean SSIM),
 * each scale the previous one averaged over 2x2 blocks (MATLAB's `imfilter(x, ones(2)/4,
 * 'symmetric', 'same')` then every other sample: an odd last row or column averages with its
 * mirror, i.e. itself), combined as prod_{j<M} cs_j^w_j * ssim_M^w_M with the paper's weights
 * (0.0448, 0.2856, 0.3001, 0.2363, 0.1333). A negative term is clamped to 0 before the
 * fractional power (as TensorFlow and pytorch-msssim do; MATLAB would return a complex number).
 *
 * Multi-channel images: each channel separately, then the mean over channels (scikit-image's
 * `channel_axis`, torchmetrics' SSIM, TensorFlow's and pytorch-msssim's MS-SSIM).
 */

export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;
export const SSIM_K1 = 0.01;
export const SSIM_K2 = 0.03;
/** The MS-SSIM paper's exponents for scales 1 (full resolution) to 5. */
export const MS_SSIM_WEIGHTS: readonly number[] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

/** One channel: row-major samples. */
export interface Plane {
  data: Float64Array;
  width: number;
  height: number;
}

/** The 1-D Gaussian whose outer product is fspecial('gaussian', 11, 1.5) (normalised). */
const WINDOW = (() => {
  const w = new Float64Array(SSIM_WINDOW);
  const centre = (SSIM_WINDOW - 1) / 2;
  let sum = 0;
  for (let i = 0; i < SSIM_WINDOW; i++) {
    w[i] = Math.exp(-((i - centre) ** 2) / (2 * SSIM_SIGMA * SSIM_SIGMA));
    sum += w[i];
  }
  for (let i = 0; i < SSIM_WINDOW; i++) w[i] /= sum;
  return w;
})();

/** The Gaussian window as one row (its outer product with itself is the 2-D window). */
export function ssimWindow(): Float64Array {
  return WINDOW.slice();
}

/** Windowed sum of `values` at every position where the window fits ("valid"), separably. */
function filterValid(values: Float64Array, width: number, height: number): Float64Array {
  const n = SSIM_WINDOW;
  const ow = width - n + 1;
  const oh = height - n + 1;
  const rows = new Float64Array(ow * height);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += WINDOW[k] * values[base + x + k];
      rows[y * ow + x] = s;
    }
  }
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += WINDOW[k] * rows[(y + k) * ow + x];
      out[y * ow + x] = s;
    }
  }
  return out;
}

export interface ScaleStats {
  /** Mean of the SSIM map. */
  ssim: number;
  /** Mean of the contrast-structure map (2 s_xy + C2) / (s_x^2 + s_y^2 + C2). */
  cs: number;
}

/** Mean SSIM and mean contrast-structure of two equal-size planes (each side >= 11). */
export function planeStats(x: Plane, y: Plane, dataRange = 255): ScaleStats {
  const { width, height } = x;
  if (width < SSIM_WINDOW || height < SSIM_WINDOW) throw new RangeError(`SSIM needs at least ${SSIM_WINDOW}x${SSIM_WINDOW} samples, got ${width}x${height}`);
  const c1 = (SSIM_K1 * dataRange) ** 2;
  const c2 = (SSIM_K2 * dataRange) ** 2;
  const size = width * height;
  const xx = new Float64Array(size);
  const yy = new Float64Array(size);
  const xy = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    xx[i] = x.data[i] * x.data[i];
    yy[i] = y.data[i] * y.data[i];
    xy[i] = x.data[i] * y.data[i];
  }
  const mx = filterValid(x.data, width, height);
  const my = filterValid(y.data, width, height);
  const exx = filterValid(xx, width, height);
  const eyy = filterValid(yy, width, height);
  const exy = filterValid(xy, width, height);
  let ssimSum = 0;
  let csSum = 0;
  for (let i = 0; i < mx.length; i++) {
    const mxy = mx[i] * my[i];
    const mxx = mx[i] * mx[i];
    const myy = my[i] * my[i];
    const vx = exx[i] - mxx;
    const vy = eyy[i] - myy;
    const cov = exy[i] - mxy;
    const cs = (2 * cov + c2) / (vx + vy + c2);
    csSum += cs;
    ssimSum += ((2 * mxy + c1) / (mxx + myy + c1)) * cs;
  }
  return { ssim: ssimSum / mx.length, cs: csSum / mx.length };
}

/** 2x2 block means, as msssim.m downsamples: ceil(W/2) x ceil(H/2), an odd edge with itself. */
export function downsample(p: Plane): Plane {
  const width = Math.ceil(p.width / 2);
  const height = Math.ceil(p.height / 2);
  const data = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    const y0 = 2 * y;
    const y1 = Math.min(y0 + 1, p.height - 1);
    for (let x = 0; x < width; x++) {
      const x0 = 2 * x;
      const x1 = Math.min(x0 + 1, p.width - 1);
      data[y * width + x] = (p.data[y0 * p.width + x0] + p.data[y0 * p.width + x1] + p.data[y1 * p.width + x0] + p.data[y1 * p.width + x1]) / 4;
    }
  }
  return { data, width, height };
}

/**
 * How many MS-SSIM scales an image of this size holds: the most M <= 5 whose coarsest scale
 * still holds the 11x11 window by msssim.m's own check, min(W, H) / 2^(M-1) >= 11 (176 px for
 * the standard five; 0 below 11 px).
 */
export function msSsimScaleCount(width: number, height: number): number {
  const side = Math.min(width, height);
  let m = 0;
  while (m < MS_SSIM_WEIGHTS.length && side / 2 ** m >= SSIM_WINDOW) m++;
  return m;
}

/** The standard weights of the first `scales` scales, renormalised to sum to 1 when fewer than five. */
export function msSsimWeights(scales: number): number[] {
  const w = MS_SSIM_WEIGHTS.slice(0, scales);
  if (scales === MS_SSIM_WEIGHTS.length) return w;
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / sum);
}

/** MS-SSIM of one channel over `weights.length` scales. */
export function planeMsSsim(x: Plane, y: Plane, weights: readonly number[], dataRange = 255): number {
  let value = 1;
  let a = x;
  let b = y;
  for (let j = 0; j < weights.length; j++) {
    const s = planeStats(a, b, dataRange);
    const last = j === weights.length - 1;
    value *= Math.max(0, last ? s.ssim : s.cs) ** weights[j];
    if (!last) {
      a = downsample(a);
      b = downsample(b);
    }
  }
  return value;
}
