import { COLOURS, type Colour } from './palette.js';

/** Side of every scene image, in pixels (RGB, HWC). */
export const SIZE = 32;

export const SHAPES = ['circle', 'square', 'triangle'] as const;
export type Shape = (typeof SHAPES)[number];

export const TEXTURES = ['plain', 'striped', 'checkered'] as const;
export type Texture = (typeof TEXTURES)[number];

/**
 * Object sizes (side of the bounding box, in pixels). Even sizes keep the shapes symmetric
 * on the pixel grid; the smallest still spans 3.5 latent cells of the 4x-downsampling
 * autoencoder, so a tiny model can tell a triangle from a circle.
 */
export const OBJECT_SIZES = [14, 16, 18, 20, 22] as const;

/** Offsets of the object centre from the image centre; every size fits at every offset. */
export const MAX_OFFSET = 5;

/** A scene is its parameters: all discrete, so every scene has a key. */
export interface Scene {
  readonly background: Colour;
  readonly texture: Texture;
  readonly colour: Colour;
  readonly shape: Shape;
  /** One of OBJECT_SIZES. */
  readonly size: number;
  /** Integer offsets in [-MAX_OFFSET, MAX_OFFSET] of the object centre from (16, 16). */
  readonly dx: number;
  readonly dy: number;
}

export function sceneKey(s: Scene): string {
  return `${s.colour}-${s.shape}-${s.size}-${s.dx}-${s.dy}-on-${s.background}-${s.texture}`;
}

/** Throws when a scene is outside the domain (wrong name, size, offset, same colours). */
export function validateScene(s: Scene): Scene {
  if (!COLOURS.includes(s.background)) throw new Error(`unknown background colour ${s.background}`);
  if (!COLOURS.includes(s.colour)) throw new Error(`unknown object colour ${s.colour}`);
  if (!TEXTURES.includes(s.texture)) throw new Error(`unknown texture ${s.texture}`);
  if (!SHAPES.includes(s.shape)) throw new Error(`unknown shape ${s.shape}`);
  if (!(OBJECT_SIZES as readonly number[]).includes(s.size)) throw new Error(`bad object size ${s.size}`);
  for (const d of [s.dx, s.dy]) {
    if (!Number.isInteger(d) || Math.abs(d) > MAX_OFFSET) throw new Error(`bad offset ${d}`);
  }
  if (s.colour === s.background) throw new Error('object and background colours must differ');
  return s;
}
