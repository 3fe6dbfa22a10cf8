import { withAttribute } from './edit.js';
import { iou, objectMask } from './geometry.js';
import { OBJECT_IOU } from './thresholds.js';
import { classifyPixels, classifyShape, colourMask, largestComponent, type PixelClasses } from './detect.js';
import { SIZE, type Scene, type Shape } from './scene.js';

/**
 * A shape edit taken apart: the largest blob of the object's colour against the true new
 * and old object masks. The strict judge passes an edit when the template is right and the
 * blob overlaps the new mask with IoU >= 0.5 and more than the old one; the rest says why
 * one failed (a shape drawn in the wrong place, or one still closer to the old outline).
 */
export interface ShapeEditDiagnosis {
  /** The edit, as "circle->triangle". */
  readonly pair: string;
  /** The blob's best-fitting template is the target shape. */
  readonly templateRight: boolean;
  /** IoU of the blob with the true new object mask. */
  readonly iouNew: number;
  /** IoU of the blob with the source object mask. */
  readonly iouOld: number;
  /** Distance (px) between the blob's centre of mass and the true new mask's. */
  readonly shiftPx: number;
  /** Blob pixels / true new mask pixels. */
  readonly areaRatio: number;
}

/** `classes`: the image's pixel classes, when the caller has them already (the judge does). */
export function diagnoseShapeEdit(
  image: Uint8Array,
  source: Scene,
  shape: Shape,
  classes: PixelClasses = classifyPixels(image),
): ShapeEditDiagnosis {
  const blob = largestComponent(colourMask(classes, source.colour));
  const target = objectMask(withAttribute(source, 'objectShape', shape));
  const [bx, by, blobPixels] = centreOfMass(blob);
  const [tx, ty, targetPixels] = centreOfMass(target);
  return {
    pair: `${source.shape}->${shape}`,
    templateRight: classifyShape(blob).shape === shape,
    iouNew: iou(blob, target),
    iouOld: iou(blob, objectMask(source)),
    shiftPx: blobPixels === 0 ? Infinity : Math.hypot(bx - tx, by - ty),
    areaRatio: blobPixels / targetPixels,
  };
}

/** The strict judge's rule for a shape edit. */
export function shapeEditPasses(d: ShapeEditDiagnosis): boolean {
  return d.templateRight && d.iouNew >= OBJECT_IOU && d.iouNew > d.iouOld;
}

/** Why shape edits failed, as shares of all of them, and the typical misplacement. */
export interface ShapeEditSummary {
  readonly n: number;
  readonly success: number;
  readonly templateRight: number;
  /** Right template, but IoU with the true new mask < 0.5: drawn in the wrong place or size. */
  readonly rightShapeWrongPlace: number;
  /** Right template, IoU >= 0.5, but the blob still overlaps the old outline more. */
  readonly rightShapeCloserToOld: number;
  readonly medianShiftPx: number;
  readonly medianAreaRatio: number;
  readonly medianIouNew: number;
  /** Success and median shift per (old shape -> new shape). */
  readonly byPair: Readonly<Record<string, { n: number; success: number; medianShiftPx: number }>>;
}

export function summariseShapeEdits(rows: readonly ShapeEditDiagnosis[]): ShapeEditSummary {
  const share = (f: (d: ShapeEditDiagnosis) => boolean) => rows.filter(f).length / rows.length;
  const pairs = [...new Set(rows.map((d) => d.pair))].sort();
  const byPair = Object.fromEntries(
    pairs.map((pair) => {
      const of = rows.filter((d) => d.pair === pair);
      const success = of.filter(shapeEditPasses).length / of.length;
      return [pair, { n: of.length, success, medianShiftPx: medianOf(of.map((d) => d.shiftPx)) }];
    }),
  );
  return {
    n: rows.length,
    success: share(shapeEditPasses),
    templateRight: share((d) => d.templateRight),
    rightShapeWrongPlace: share((d) => d.templateRight && d.iouNew < OBJECT_IOU),
    rightShapeCloserToOld: share((d) => d.templateRight && d.iouNew >= OBJECT_IOU && d.iouNew <= d.iouOld),
    medianShiftPx: medianOf(rows.map((d) => d.shiftPx)),
    medianAreaRatio: medianOf(rows.map((d) => d.areaRatio)),
    medianIouNew: medianOf(rows.map((d) => d.iouNew)),
    byPair,
  };
}

function medianOf(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

function centreOfMass(mask: Uint8Array): [number, number, number] {
  let x = 0;
  let y = 0;
  let n = 0;
  for (let i = 0; i < SIZE * SIZE; i++) {
    if (!mask[i]) continue;
    x += i % SIZE;
    y += Math.floor(i / SIZE);
    n++;
  }
  return [x / n, y / n, n];
}
