import sharp from 'sharp';

/** A small test scene: a coloured square on a gradient, as PNG bytes. */
export async function scenePng(width = 32, height = 32): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const inside = x > width / 4 && x < (3 * width) / 4 && y > height / 4 && y < (3 * height) / 4;
      data[i] = inside ? 220 : Math.round((255 * x) / width);
      data[i + 1] = inside ? 40 : Math.round((255 * y) / height);
      data[i + 2] = inside ? 60 : 128;
    }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
