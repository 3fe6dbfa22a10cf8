/**
 * Image input and output through sharp.
 *
 * Input policy (documented in the README): EXIF orientation is applied, alpha is composited
 * over white, grayscale becomes RGB, then the image is resized to cover the target size and
 * centre-cropped. The target size is the model's native size by default; `keep-aspect` picks
 * the size of about the native area whose sides are multiples of the model's `multipleOf` and
 * whose aspect is nearest the input's (so only a sliver is cropped); or an explicit size.
 */
import { extname } from 'node:path';

import sharp, { type Sharp } from 'sharp';

import { EdictError, ErrorCode } from './errors.js';
import { isWriteThrough, writeFileAtomic } from './files.js';
import { checkWorkSize, DEFAULT_MAX_PIXELS, defaultMaxWorkPixels } from './limits.js';
import type { ModelManifest } from './manifest.js';

/** Raw interleaved pixels (1 = gray, 2 = gray + alpha, 3 = RGB, 4 = RGBA). */
export interface RawPixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** A file path, encoded bytes (PNG, JPEG, WebP, ...), a sharp instance, or raw pixels. */
export type ImageInput = string | Buffer | Uint8Array | Sharp | RawPixels | RgbImage;

export type SizePolicy = 'native' | 'keep-aspect' | { width: number; height: number };

/** 8-bit RGB pixels, interleaved, row-major. */
export class RgbImage {
  constructor(
    readonly data: Uint8Array,
    readonly width: number,
    readonly height: number,
  ) {
    if (data.length !== width * height * 3) {
      throw new EdictError(ErrorCode.InvalidArgument, `RGB data has ${data.length} bytes, ${width}x${height}x3 needs ${width * height * 3}`);
    }
  }

  toSharp(): Sharp {
    return sharp(this.data, { raw: { width: this.width, height: this.height, channels: 3 } });
  }

  toPng(): Promise<Buffer> {
    return this.toSharp().png().toBuffer();
  }

  /**
   * Encodes the image in the format `path` asks for: its extension (.png, .jpg, .webp, .tif,
   * .gif, .avif), or PNG for a character device or FIFO without one (/dev/stdout, a pipe).
   */
  async encodeFor(path: string): Promise<Buffer> {
    const format = imageFormat(path) ?? (isWriteThrough(path) ? 'png' : null);
    if (!format) throw new EdictError(ErrorCode.Io, `cannot tell the image format of ${path}: use ${IMAGE_EXTENSIONS.join(', ')}`);
    return this.toSharp().toFormat(format).toBuffer();
  }

  /** Writes the image (format: see encodeFor) by the package's write policy (src/files.ts). */
  async toFile(path: string): Promise<void> {
    let data: Buffer;
    try {
      data = await this.encodeFor(path);
    } catch (error) {
      if (error instanceof EdictError) throw error;
      throw new EdictError(ErrorCode.Io, `cannot encode image for ${path}: ${(error as Error).message}`, { cause: error });
    }
    await writeFileAtomic(path, data);
  }
}

const imageFormats: Record<string, 'png' | 'jpeg' | 'webp' | 'tiff' | 'gif' | 'avif'> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.webp': 'webp',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.gif': 'gif',
  '.avif': 'avif',
};

/** The extensions images can be written with. */
export const IMAGE_EXTENSIONS = Object.keys(imageFormats);

/** The format an output path's extension asks for, or null when it is not an image extension. */
export function imageFormat(path: string): (typeof imageFormats)[string] | null {
  return imageFormats[extname(path).toLowerCase()] ?? null;
}

export interface ReadImageOptions {
  size?: SizePolicy;
  /** Inputs with more pixels than this are refused (ERR_IMAGE_TOO_LARGE). */
  maxPixels?: number;
  /** Working sizes above this many pixels are refused (ERR_IMAGE_SIZE); default 4x the native area. */
  maxWorkPixels?: number;
}

function isRawPixels(input: unknown): input is RawPixels {
  return typeof input === 'object' && input !== null && 'data' in input && 'width' in input && 'channels' in input;
}

const decodeError = (message: string) => new EdictError(ErrorCode.ImageDecode, message);

function toSharp(input: ImageInput, maxPixels: number): Sharp {
  const options = { limitInputPixels: maxPixels, failOn: 'error' as const };
  // Checked here: sharp's own errors for these ("Input Buffer is empty", "Unsupported input ''") are plain Errors.
  if (input === '') throw decodeError('image path is an empty string');
  if (input instanceof Uint8Array && input.length === 0) throw decodeError('image bytes are empty (0 bytes): expected an encoded image (PNG, JPEG, WebP, ...)');
  if (typeof input === 'string' || input instanceof Uint8Array) return sharp(input, options);
  if (input instanceof RgbImage) return input.toSharp();
  if (isRawPixels(input)) {
    const { data, width, height, channels } = input;
    if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
      throw decodeError(`raw pixels: data must be a Uint8Array, Uint8ClampedArray or Buffer, got ${describeValue(data)}`);
    }
    if (![1, 2, 3, 4].includes(channels) || !Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw decodeError(`raw pixels need positive integer width/height and 1-4 channels, got ${width}x${height}x${channels}`);
    }
    if (data.length !== width * height * channels) {
      throw decodeError(`raw pixels: ${data.length} bytes given, ${width}x${height}x${channels} needs ${width * height * channels}`);
    }
    if (width * height > maxPixels) {
      throw new EdictError(ErrorCode.ImageTooLarge, `image has ${width * height} pixels, the limit is ${maxPixels}`);
    }
    return sharp(data, { raw: { width, height, channels } });
  }
  if (typeof input === 'object' && input !== null && typeof (input as Sharp).clone === 'function') {
    return (input as Sharp).clone();
  }
  throw decodeError('image must be a path, a Buffer, a sharp instance or raw pixels {data, width, height, channels}');
}

/**
 * libvips loses the message of some failures, e.g. a PNG chunk with a bad CRC is "Unknown
 * error"; decoding again with warnings as errors surfaces libpng's ("IHDR: CRC error").
 */
async function decodeProblem(input: ImageInput, message: string, maxPixels: number): Promise<string> {
  if (message.trim() && message !== 'Unknown error') return message;
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) return message;
  try {
    await sharp(input, { failOn: 'warning', limitInputPixels: maxPixels }).raw().toBuffer();
  } catch (error) {
    const detail = (error as Error).message.replace(/^Warning treated as error due to failOn setting\s*/, '').trim();
    if (detail && detail !== 'Unknown error') return `corrupt image data: ${detail.replace(/\s*\n\s*/g, '; ')}`;
  }
  return message;
}

/**
 * The size an input of `width x height` is brought to under `policy`, at most `maxWorkPixels`
 * (ERR_IMAGE_SIZE above it).
 */
export function targetSize(
  policy: SizePolicy,
  input: { width: number; height: number },
  image: ModelManifest['image'],
  maxWorkPixels = defaultMaxWorkPixels(image),
): { width: number; height: number } {
  const m = image.multipleOf;
  let size: { width: number; height: number };
  if (policy === 'native') {
    size = { width: image.width, height: image.height };
  } else if (policy === 'keep-aspect') {
    const area = image.width * image.height;
    // The aspect is clamped to what the native area allows with the short side at least m (16:1
    // for a 32x32 model with m = 8, 64:1 for SD): a 1x1,000,000 input is cropped, not run at
    // 250x the native area.
    const limit = area / (m * m);
    const given = input.width / input.height;
    const aspect = Number.isFinite(given) && given > 0 ? Math.min(limit, Math.max(1 / limit, given)) : 1;
    const round = (v: number) => Math.max(m, Math.round(v / m) * m);
    size = { width: round(Math.sqrt(area * aspect)), height: round(Math.sqrt(area / aspect)) };
  } else {
    const { width, height } = policy;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < m || height < m || width % m !== 0 || height % m !== 0) {
      throw new EdictError(ErrorCode.ImageSize, `image size must be positive multiples of ${m} for this model, got ${width}x${height}`);
    }
    size = { width, height };
  }
  checkWorkSize('image size', size, maxWorkPixels);
  return size;
}

/** Decodes, orients, flattens and resizes an input to RGB at the size the policy picks. */
export async function readImage(input: ImageInput, image: ModelManifest['image'], options: ReadImageOptions = {}): Promise<RgbImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  try {
    const oriented = toSharp(input, maxPixels).rotate();
    const { width = 0, height = 0, orientation } = await oriented.clone().metadata();
    // Orientations 5-8 swap the sides.
    const size = orientation && orientation >= 5 ? { width: height, height: width } : { width, height };
    const target = targetSize(options.size ?? 'native', size, image, options.maxWorkPixels);
    const { data, info } = await oriented
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .resize(target.width, target.height, { fit: 'cover', position: 'centre' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
    return new RgbImage(new Uint8Array(data.buffer, data.byteOffset, data.length), info.width, info.height);
  } catch (error) {
    if (error instanceof EdictError) throw error;
    const message = (error as Error).message;
    if (/pixel limit/i.test(message)) {
      throw new EdictError(ErrorCode.ImageTooLarge, `image exceeds the pixel limit of ${maxPixels}: ${message}`, { cause: error });
    }
    const what = typeof input === 'string' ? ` ${input}` : '';
    throw new EdictError(ErrorCode.ImageDecode, `cannot decode image${what}: ${await decodeProblem(input, message, maxPixels)}`, { cause: error });
  }
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}

/** The 8-bit pixels of a psnr argument: an RgbImage or its data. */
function pixelsOf(value: unknown, name: string): Uint8Array | Uint8ClampedArray {
  if (value instanceof RgbImage) return value.data;
  if (value instanceof Uint8Array || value instanceof Uint8ClampedArray) return value;
  throw new EdictError(ErrorCode.InvalidArgument, `psnr: ${name} must be an RgbImage or 8-bit pixels (Uint8Array), got ${describeValue(value)}`);
}

/**
 * Peak signal-to-noise ratio in dB between two 8-bit images of equal size (Infinity if equal):
 * RgbImages or their pixel data; `mask` (one byte per pixel) picks the pixels compared.
 */
export function psnr(a: RgbImage | Uint8Array, b: RgbImage | Uint8Array, mask?: Uint8Array): number {
  const pa = pixelsOf(a, 'the first image');
  const pb = pixelsOf(b, 'the second image');
  if (a instanceof RgbImage && b instanceof RgbImage && (a.width !== b.width || a.height !== b.height)) {
    throw new EdictError(ErrorCode.InvalidArgument, `psnr: images differ in size: ${a.width}x${a.height} and ${b.width}x${b.height}`);
  }
  if (pa.length !== pb.length) throw new EdictError(ErrorCode.InvalidArgument, `psnr: images differ in size: ${pa.length} and ${pb.length} bytes`);
  if (mask !== undefined && mask.length * 3 !== pa.length) {
    throw new EdictError(ErrorCode.InvalidArgument, `psnr: the mask has ${mask.length} values, the images have ${pa.length / 3} pixels`);
  }
  let sum = 0;
  let count = 0;
  for (let i = 0; i < pa.length; i++) {
    if (mask && !mask[Math.floor(i / 3)]) continue;
    const d = pa[i] - pb[i];
    sum += d * d;
    count++;
  }
  if (count === 0) return Number.NaN;
  const mse = sum / count;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}
