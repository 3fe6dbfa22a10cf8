/** Measures the CLI reports: pixel distances between images and latent round-trip errors. */
import { psnr, type RgbImage } from '../image.js';
import type { Latents } from '../latents.js';
import { ssimOrNaN, standardMsSsim } from '../metrics.js';

export interface PixelDistance {
  /** PSNR in dB (Infinity when identical). */
  psnr: number;
  /** Mean absolute difference of the 8-bit channel values. */
  meanAbsError: number;
  /** SSIM (src/metrics.ts; NaN under 11 px). */
  ssim: number;
  /** The standard five-scale MS-SSIM; null under 176 px on the shorter side (the bundled model's 32x32). */
  msSsim: number | null;
}

export function pixelDistance(a: RgbImage, b: RgbImage): PixelDistance {
  if (a.width !== b.width || a.height !== b.height) return { psnr: Number.NaN, meanAbsError: Number.NaN, ssim: Number.NaN, msSsim: null };
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i] - b.data[i]);
  return { psnr: psnr(a.data, b.data), meanAbsError: sum / a.data.length, ssim: ssimOrNaN(a, b), msSsim: standardMsSsim(a, b) };
}

export interface LatentError {
  /** max |z' - z| over x (and y for EDICT). */
  maxAbs: number;
  /** RMS of z' - z over the same values. */
  rms: number;
}

/**
 * How far item `item` of `generated` is from the encoded latent (a batch of one), over x and,
 * when `both` (EDICT), y: the measure Edict.reconstruct reports.
 */
export function latentError(generated: Latents, item: number, encoded: Latents, both: boolean): LatentError {
  const z = encoded.x;
  const size = z.length;
  const offset = item * size;
  let maxAbs = 0;
  let squares = 0;
  const pairs = both ? [generated.x, generated.y] : [generated.x];
  for (const values of pairs) {
    for (let i = 0; i < size; i++) {
      const d = Math.abs(values[offset + i] - z[i]);
      if (d > maxAbs) maxAbs = d;
      squares += d * d;
    }
  }
  return { maxAbs, rms: Math.sqrt(squares / (size * pairs.length)) };
}
