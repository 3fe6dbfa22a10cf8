/** The benchmark's input: a scene of the bundled model's domain at the model's native size. */
import sharp from 'sharp';

import type { Edict } from '../src/index.js';

export async function benchImage(edict: Edict): Promise<Buffer> {
  const { width, height } = edict.manifest.image;
  const r = Math.min(width, height) / 4;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="#2040d0"/>
    <circle cx="${width / 2}" cy="${height / 2}" r="${r}" fill="#e02020"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
