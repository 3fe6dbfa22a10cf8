/**
 * Bounds on work size, so that a small input (a 2 KB PNG of 1x1,000,000 pixels, a size option,
 * a latents file) cannot ask for minutes of compute or gigabytes of memory. Each bound is
 * refused with a typed error before anything is allocated; the two that a user may
 * legitimately need to raise are options of Edict.load (`maxPixels`, `maxWorkPixels`).
 */
import { EdictError, ErrorCode } from './errors.js';

/** Default `maxPixels`: the largest input image decoded (ERR_IMAGE_TOO_LARGE above it). */
export const DEFAULT_MAX_PIXELS = 64 * 1024 * 1024;

/**
 * Default `maxWorkPixels` as a multiple of the model's native area: the largest image a call
 * works at (`size`, `keep-aspect`, `sample`, latents given to generate). 4x lets SD 1.x
 * (512x512) run at 1024x1024, as users do; the UNet's attention grows with the square of the
 * latent area, so much larger sizes take many times the memory and time of a native run.
 */
export const WORK_AREA_FACTOR = 4;

export function defaultMaxWorkPixels(image: { width: number; height: number }): number {
  return WORK_AREA_FACTOR * image.width * image.height;
}

/** Refuses a working size above `limit` pixels (ERR_IMAGE_SIZE). */
export function checkWorkSize(what: string, size: { width: number; height: number }, limit: number): void {
  const pixels = size.width * size.height;
  if (pixels > limit) {
    throw new EdictError(
      ErrorCode.ImageSize,
      `${what} ${size.width}x${size.height} is ${pixels} pixels, more than the limit of ${limit} ` +
        `(Edict.load's maxWorkPixels option; default ${WORK_AREA_FACTOR}x the model's native area)`,
    );
  }
}

/**
 * The largest safetensors header read (ERR_LATENTS_FILE above it): the reference
 * implementation's own limit (100 MB), so every file it writes loads here.
 */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;
