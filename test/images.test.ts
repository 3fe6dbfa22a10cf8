// Image inputs that sharp itself refuses with plain Errors (empty bytes, an empty path, raw
// pixels in a plain array) and corrupt PNGs are EdictErrors with a message that says what is
// wrong; psnr() takes RgbImages as well as their pixels and refuses anything else.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { EdictError } from '../src/errors.js';
import { psnr, readImage, RgbImage } from '../src/image.js';

const model = { width: 32, height: 32, multipleOf: 8 };

async function errorOf(run: () => unknown): Promise<EdictError> {
  let error: unknown = null;
  try {
    await run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(EdictError);
  return error as EdictError;
}

describe('readImage refuses with ERR_IMAGE_DECODE', () => {
  it.each<[string, unknown, RegExp]>([
    ['an empty Buffer', Buffer.alloc(0), /image bytes are empty \(0 bytes\)/],
    ['an empty Uint8Array', new Uint8Array(0), /image bytes are empty \(0 bytes\)/],
    ['an empty path', '', /image path is an empty string/],
    ['raw pixels as a plain array', { data: [255, 0, 0], width: 1, height: 1, channels: 3 }, /data must be a Uint8Array.*got an array/],
    ['raw pixels with null data', { data: null, width: 1, height: 1, channels: 3 }, /data must be a Uint8Array.*got null/],
  ])('%s', async (_, input, message) => {
    const error = await errorOf(() => readImage(input as never, model));
    expect(error.code).toBe('ERR_IMAGE_DECODE');
    expect(error.message).toMatch(message);
  });

  it('a PNG with a bad CRC names the problem, not "Unknown error"', async () => {
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#ff0000' } }).png().toBuffer();
    const bad = Buffer.from(png);
    bad[29] ^= 0xff; // the IHDR chunk's CRC (8 signature + 8 chunk header + 13 data bytes)
    const error = await errorOf(() => readImage(bad, model));
    expect(error.code).toBe('ERR_IMAGE_DECODE');
    expect(error.message).not.toMatch(/Unknown error/);
    expect(error.message).toMatch(/cannot decode image: corrupt image data: IHDR: CRC error/);
  });
});

describe('psnr', () => {
  const a = new RgbImage(Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => i * 5), 4, 4);
  const b = new RgbImage(a.data.map((v, i) => (i % 2 ? v + 3 : v)), 4, 4);

  it('takes RgbImages as it takes their pixels (was NaN)', () => {
    const fromImages = psnr(a, b);
    // MSE = 9 on half the values = 4.5.
    expect(fromImages).toBeCloseTo(10 * Math.log10((255 * 255) / 4.5), 10);
    expect(fromImages).toBe(psnr(a.data, b.data));
    expect(psnr(a, a)).toBe(Number.POSITIVE_INFINITY);
    expect(psnr(a, b.data)).toBe(fromImages);
  });

  it('refuses other types and mismatched sizes with ERR_INVALID_ARGUMENT', async () => {
    for (const [x, y, message] of [
      [a, [1, 2, 3], /the second image must be an RgbImage or 8-bit pixels \(Uint8Array\), got an array/],
      ['a.png', a, /the first image must be .* got string/],
      [a, new RgbImage(new Uint8Array(2 * 8 * 3), 2, 8), /images differ in size: 4x4 and 2x8/],
      [a.data, new Uint8Array(3), /images differ in size: 48 and 3 bytes/],
    ] as [never, never, RegExp][]) {
      const error = await errorOf(() => psnr(x, y));
      expect(error.code).toBe('ERR_INVALID_ARGUMENT');
      expect(error.message).toMatch(message);
    }
    expect((await errorOf(() => psnr(a, b, new Uint8Array(3)))).message).toMatch(/the mask has 3 values, the images have 16 pixels/);
  });
});
