import { withAttribute, type EditKind } from './edit.js';
import { invertMask, iou, objectMask } from './geometry.js';
import { classifyPixels, colourMask, detect, detectTexture } from './detect.js';
import { COLOURS, type Colour } from './palette.js';
import { SIZE, type Scene, type Shape, type Texture } from './scene.js';
import { diagnoseShapeEdit, shapeEditPasses } from './shape-diagnosis.js';
import { BACKGROUND_COLOUR_SHARE, OBJECT_IOU } from './thresholds.js';

/**
 * Strict edit judges: the target attribute must appear where the ground truth says, not
 * merely somewhere (a lenient "dominant colour" judge overstates success badly).
 */
export interface Judgement {
  readonly success: boolean;
  /** The number the threshold applies to (IoU or a pixel share), for reports. */
  readonly score: number;
}

/**
 * - objectColour: pixels of the target colour overlap the true object mask with IoU >= 0.5.
 * - objectShape: the blob of the object colour overlaps the true new mask with IoU >= 0.5,
 *   overlaps it more than the old shape's mask, and its best shape template is the target.
 * - backgroundColour: at least 70% of the true background pixels show the target colour.
 * - backgroundTexture: the texture detector, on the true background pixels, says the target.
 */
export function judgeEdit(image: Uint8Array, source: Scene, kind: EditKind, value: string): Judgement {
  const target = withAttribute(source, kind, value);
  const classes = classifyPixels(image);
  switch (kind) {
    case 'objectColour': {
      const score = iou(colourMask(classes, value as Colour), objectMask(target));
      return { success: score >= OBJECT_IOU, score };
    }
    case 'objectShape': {
      const d = diagnoseShapeEdit(image, source, value as Shape, classes);
      return { success: shapeEditPasses(d), score: d.iouNew };
    }
    case 'backgroundColour': {
      const score = colourShare(classes, value as Colour, invertMask(objectMask(source)));
      return { success: score >= BACKGROUND_COLOUR_SHARE, score };
    }
    case 'backgroundTexture': {
      // The texture must be the target's and the background must still be its colour: an
      // image with no background colour at all reads as "plain" to the texture detector.
      const region = invertMask(objectMask(source));
      const share = colourShare(classes, target.background, region);
      const texture = detectTexture(classes, target.background, region);
      return { success: texture === (value as Texture) && share >= BACKGROUND_COLOUR_SHARE, score: share };
    }
  }
}

/** Share of the pixels of `region` classified as `colour` (full or shade). */
function colourShare(classes: ReturnType<typeof classifyPixels>, colour: Colour, region: Uint8Array): number {
  const c = COLOURS.indexOf(colour);
  let n = 0;
  let hit = 0;
  for (let i = 0; i < SIZE * SIZE; i++) {
    if (!region[i]) continue;
    n++;
    hit += classes.colour[i] === c ? 1 : 0;
  }
  return n === 0 ? 0 : hit / n;
}

/** Which prompted attributes a fresh sample shows (the model's own quality). */
export function sampleMatches(image: Uint8Array, prompted: Pick<Scene, 'background' | 'texture' | 'colour' | 'shape'>) {
  const d = detect(image);
  return {
    background: d.background === prompted.background,
    texture: d.texture === prompted.texture,
    colour: d.colour === prompted.colour,
    shape: d.shape === prompted.shape,
  };
}
