import { objectMask } from './geometry.js';
import { RGB, shadeOf, type Rgb } from './palette.js';
import { SIZE, validateScene, type Scene, type Texture } from './scene.js';

/**
 * Texture cells are 4 px, the autoencoder's downsampling factor, so one pattern period
 * (8 px) spans two latent cells. Stripes are vertical; the checkerboard adds horizontal
 * alternation, so the detector separates them by vertical transitions alone.
 */
export const TEXTURE_CELL = 4;

/** Whether background pixel (x, y) takes the darker shade under a texture. */
export function isShadePixel(texture: Texture, x: number, y: number): boolean {
  const cx = Math.floor(x / TEXTURE_CELL);
  const cy = Math.floor(y / TEXTURE_CELL);
  switch (texture) {
    case 'plain':
      return false;
    case 'striped':
      return cx % 2 === 1;
    case 'checkered':
      return (cx + cy) % 2 === 1;
  }
}

/** Renders a scene as RGB, HWC, uint8, SIZE x SIZE, crisp edges (no anti-aliasing). */
export function render(scene: Scene): Uint8Array {
  validateScene(scene);
  const out = new Uint8Array(SIZE * SIZE * 3);
  const base = RGB[scene.background];
  const shade = shadeOf(scene.background);
  const obj = RGB[scene.colour];
  const mask = objectMask(scene);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const i = y * SIZE + x;
      const c: Rgb = mask[i] ? obj : isShadePixel(scene.texture, x, y) ? shade : base;
      out[3 * i] = c[0];
      out[3 * i + 1] = c[1];
      out[3 * i + 2] = c[2];
    }
  }
  return out;
}
