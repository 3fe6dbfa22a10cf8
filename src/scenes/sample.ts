import { COLOURS } from './palette.js';
import { createRng, type Rng } from './random.js';
import { MAX_OFFSET, OBJECT_SIZES, SHAPES, TEXTURES, type Scene } from './scene.js';

/** Draws one scene uniformly over the domain (object colour uniform among the other five). */
export function sampleScene(rng: Rng): Scene {
  const background = rng.pick(COLOURS);
  const texture = rng.pick(TEXTURES);
  const colour = rng.pick(COLOURS.filter((c) => c !== background));
  const shape = rng.pick(SHAPES);
  const size = rng.pick(OBJECT_SIZES);
  const dx = rng.int(2 * MAX_OFFSET + 1) - MAX_OFFSET;
  const dy = rng.int(2 * MAX_OFFSET + 1) - MAX_OFFSET;
  return { background, texture, colour, shape, size, dx, dy };
}

/** `count` scenes from `seed`; the same seed always gives the same list. */
export function sampleScenes(seed: number, count: number): Scene[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => sampleScene(rng));
}
