/** The scene domain (package export `edict/scenes`): parameters, rendering, captions, edits, detection. */
export { createRng, type Rng } from './random.js';
export { COLOURS, RGB, SHADE_FACTOR, shadeOf, type Colour, type Rgb } from './palette.js';
export {
  MAX_OFFSET,
  OBJECT_SIZES,
  SHAPES,
  SIZE,
  TEXTURES,
  sceneKey,
  validateScene,
  type Scene,
  type Shape,
  type Texture,
} from './scene.js';
export { sampleScene, sampleScenes } from './sample.js';
export { countMask, insideShape, invertMask, iou, objectCentre, objectMask, shapeMask, unionMask } from './geometry.js';
export { TEXTURE_CELL, isShadePixel, render } from './render.js';
export { CAPTION_WORDS, caption } from './caption.js';
export { EDIT_KINDS, changeMask, editValues, withAttribute, type Edit, type EditKind } from './edit.js';
export { HELD_OUT_COUNT, HELD_OUT_SEED, heldOutCases, isHeldOut, type HeldOutCase, type HeldOutEdit } from './heldout.js';
export {
  MIN_OBJECT_PIXELS,
  PLAIN_MAX_SHADE,
  classifyPixels,
  classifyShape,
  colourMask,
  detect,
  detectTexture,
  largestComponent,
  type Detection,
  type PixelClasses,
} from './detect.js';
export { judgeEdit, sampleMatches, type Judgement } from './judge.js';
export { BACKGROUND_COLOUR_SHARE, OBJECT_IOU } from './thresholds.js';
export {
  diagnoseShapeEdit,
  shapeEditPasses,
  summariseShapeEdits,
  type ShapeEditDiagnosis,
  type ShapeEditSummary,
} from './shape-diagnosis.js';
