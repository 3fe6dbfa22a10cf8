/**
 * The six colours of the scene domain. They sit far apart in RGB (every pair, and every
 * colour against every other colour's texture shade, is at least ~70 apart) so that a
 * nearest-prototype detector separates them even on a blurry sample.
 */
export const COLOURS = ['red', 'green', 'blue', 'yellow', 'purple', 'white'] as const;
export type Colour = (typeof COLOURS)[number];

export type Rgb = readonly [number, number, number];

export const RGB: Readonly<Record<Colour, Rgb>> = {
  red: [220, 30, 30],
  green: [30, 170, 50],
  blue: [30, 60, 220],
  yellow: [240, 210, 30],
  purple: [160, 40, 200],
  white: [240, 240, 240],
};

/**
 * Textured backgrounds alternate the colour with a darker shade of itself, so the
 * background colour stays identifiable while the pattern is visible.
 */
export const SHADE_FACTOR = 0.6;

export function shadeOf(colour: Colour): Rgb {
  const [r, g, b] = RGB[colour];
  return [Math.round(r * SHADE_FACTOR), Math.round(g * SHADE_FACTOR), Math.round(b * SHADE_FACTOR)];
}
