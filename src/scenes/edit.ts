import { invertMask, objectMask, unionMask } from './geometry.js';
import { COLOURS, type Colour } from './palette.js';
import { SHAPES, TEXTURES, validateScene, type Scene, type Shape, type Texture } from './scene.js';

/** The four ground-truth edit kinds: each changes exactly one scene attribute. */
export const EDIT_KINDS = ['objectColour', 'objectShape', 'backgroundColour', 'backgroundTexture'] as const;
export type EditKind = (typeof EDIT_KINDS)[number];

export interface Edit {
  readonly kind: EditKind;
  readonly value: string;
}

/** The values an attribute may take; colours exclude the other colour of the scene. */
export function editValues(scene: Scene, kind: EditKind): string[] {
  switch (kind) {
    case 'objectColour':
      return COLOURS.filter((c) => c !== scene.background && c !== scene.colour);
    case 'backgroundColour':
      return COLOURS.filter((c) => c !== scene.colour && c !== scene.background);
    case 'objectShape':
      return SHAPES.filter((s) => s !== scene.shape);
    case 'backgroundTexture':
      return TEXTURES.filter((t) => t !== scene.texture);
  }
}

/** The scene with one attribute replaced; throws if the result leaves the domain. */
export function withAttribute(scene: Scene, kind: EditKind, value: string): Scene {
  const next: Scene = (() => {
    switch (kind) {
      case 'objectColour':
        return { ...scene, colour: value as Colour };
      case 'objectShape':
        return { ...scene, shape: value as Shape };
      case 'backgroundColour':
        return { ...scene, background: value as Colour };
      case 'backgroundTexture':
        return { ...scene, texture: value as Texture };
    }
  })();
  return validateScene(next);
}

/**
 * The pixels an edit may change (1 = may change). A colour edit of the object changes only
 * the object; a shape edit the union of the old and new object; background edits change
 * everything outside the (unchanged) object. Preservation is measured outside this mask.
 */
export function changeMask(scene: Scene, kind: EditKind, value: string): Uint8Array {
  const target = withAttribute(scene, kind, value);
  switch (kind) {
    case 'objectColour':
      return objectMask(scene);
    case 'objectShape':
      return unionMask(objectMask(scene), objectMask(target));
    case 'backgroundColour':
    case 'backgroundTexture':
      return invertMask(objectMask(scene));
  }
}
