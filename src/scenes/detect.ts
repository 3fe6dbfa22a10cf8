import { iou, shapeMask } from './geometry.js';
import { COLOURS, RGB, shadeOf, type Colour } from './palette.js';
import { SHAPES, SIZE, type Shape, type Texture } from './scene.js';

/**
 * A detector for this domain: it reads a 32x32 RGB image (a render, a model sample or an
 * edit) back into scene attributes. Every pixel is classified to the nearest of the 12
 * colour prototypes (6 colours, 6 texture shades); the rest is counting:
 * - background colour: the majority colour of the 1-px border ring (an object covers at
 *   most about a third of the ring);
 * - object colour: the majority of the remaining colours;
 * - shape: the largest 4-connected blob of the object colour is matched against the three
 *   shape templates placed on its bounding box (best IoU wins);
 * - texture: on background-coloured pixels, the share of shade pixels (plain when low), then
 *   transitions between neighbours: stripes alternate along one axis, checkers along both.
 */
export interface PixelClasses {
  /** Colour index (into COLOURS) of each pixel, shade or not. */
  readonly colour: Uint8Array;
  /** 1 where the pixel is nearer a shade prototype than a full colour. */
  readonly shade: Uint8Array;
}

export interface Detection {
  readonly background: Colour;
  readonly texture: Texture;
  /** null when no object-coloured blob of at least MIN_OBJECT_PIXELS is found. */
  readonly colour: Colour | null;
  readonly shape: Shape | null;
  /** The largest blob of the object colour (all zeros without an object). */
  readonly objectMask: Uint8Array;
  /** IoU of the blob with the best shape template (how shape-like it is). */
  readonly shapeScore: number;
}

export const MIN_OBJECT_PIXELS = 12;
/** Below this share of shade pixels the background is plain. */
export const PLAIN_MAX_SHADE = 0.2;

const PROTOTYPES: { colour: number; shade: number; rgb: readonly number[] }[] = COLOURS.flatMap((c, i) => [
  { colour: i, shade: 0, rgb: RGB[c] },
  { colour: i, shade: 1, rgb: shadeOf(c) },
]);

export function classifyPixels(image: Uint8Array): PixelClasses {
  if (image.length !== SIZE * SIZE * 3) throw new Error(`expected ${SIZE}x${SIZE} RGB, got ${image.length} bytes`);
  const colour = new Uint8Array(SIZE * SIZE);
  const shade = new Uint8Array(SIZE * SIZE);
  for (let i = 0; i < SIZE * SIZE; i++) {
    let best = 0;
    let bestD = Infinity;
    for (let p = 0; p < PROTOTYPES.length; p++) {
      const q = PROTOTYPES[p].rgb;
      const d = (image[3 * i] - q[0]) ** 2 + (image[3 * i + 1] - q[1]) ** 2 + (image[3 * i + 2] - q[2]) ** 2;
      if (d < bestD) {
        bestD = d;
        best = p;
      }
    }
    colour[i] = PROTOTYPES[best].colour;
    shade[i] = PROTOTYPES[best].shade;
  }
  return { colour, shade };
}

/** A mask of the pixels classified as `colour` (full or shade). */
export function colourMask(classes: PixelClasses, colour: Colour): Uint8Array {
  const c = COLOURS.indexOf(colour);
  return classes.colour.map((v) => (v === c ? 1 : 0));
}

function majority(counts: number[]): number {
  let best = 0;
  for (let i = 1; i < counts.length; i++) if (counts[i] > counts[best]) best = i;
  return best;
}

/** Texture of the pixels of `region` that show `background` (full or shade). */
export function detectTexture(classes: PixelClasses, background: Colour, region?: Uint8Array): Texture {
  const bg = COLOURS.indexOf(background);
  const ok = (i: number) => classes.colour[i] === bg && (!region || region[i] === 1);
  let n = 0;
  let shaded = 0;
  let h = 0;
  let hn = 0;
  let v = 0;
  let vn = 0;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const i = y * SIZE + x;
      if (!ok(i)) continue;
      n++;
      shaded += classes.shade[i];
      if (x + 1 < SIZE && ok(i + 1)) {
        hn++;
        h += classes.shade[i] !== classes.shade[i + 1] ? 1 : 0;
      }
      if (y + 1 < SIZE && ok(i + SIZE)) {
        vn++;
        v += classes.shade[i] !== classes.shade[i + SIZE] ? 1 : 0;
      }
    }
  }
  if (n === 0 || shaded / n < PLAIN_MAX_SHADE) return 'plain';
  const hr = hn ? h / hn : 0;
  const vr = vn ? v / vn : 0;
  // All shade and no pattern (a flat darker colour) is not a texture of this domain.
  if (Math.max(hr, vr) < 0.1) return 'plain';
  return Math.min(hr, vr) < 0.4 * Math.max(hr, vr) ? 'striped' : 'checkered';
}

/** The largest 4-connected component of a mask. */
export function largestComponent(mask: Uint8Array): Uint8Array {
  const label = new Int32Array(mask.length).fill(-1);
  let bestLabel = -1;
  let bestSize = 0;
  let next = 0;
  const stack: number[] = [];
  for (let s = 0; s < mask.length; s++) {
    if (!mask[s] || label[s] >= 0) continue;
    let size = 0;
    label[s] = next;
    stack.push(s);
    while (stack.length) {
      const i = stack.pop()!;
      size++;
      const x = i % SIZE;
      const y = (i - x) / SIZE;
      const nbrs = [x > 0 ? i - 1 : -1, x < SIZE - 1 ? i + 1 : -1, y > 0 ? i - SIZE : -1, y < SIZE - 1 ? i + SIZE : -1];
      for (const j of nbrs) {
        if (j >= 0 && mask[j] && label[j] < 0) {
          label[j] = next;
          stack.push(j);
        }
      }
    }
    if (size > bestSize) {
      bestSize = size;
      bestLabel = next;
    }
    next++;
  }
  return label.map((l) => (l === bestLabel && bestLabel >= 0 ? 1 : 0)) as unknown as Uint8Array;
}

/** Best-matching shape of a blob: templates on its bounding box, nudged by half a pixel. */
export function classifyShape(blob: Uint8Array): { shape: Shape | null; score: number } {
  let x0 = SIZE;
  let y0 = SIZE;
  let x1 = -1;
  let y1 = -1;
  for (let i = 0; i < blob.length; i++) {
    if (!blob[i]) continue;
    const x = i % SIZE;
    const y = (i - x) / SIZE;
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  if (x1 < 0) return { shape: null, score: 0 };
  const cx = (x0 + x1 + 1) / 2;
  const cy = (y0 + y1 + 1) / 2;
  const size = Math.max(x1 - x0 + 1, y1 - y0 + 1);
  let best: Shape | null = null;
  let bestScore = -1;
  for (const shape of SHAPES) {
    for (const ds of [0, -1, 1]) {
      for (const ox of [0, -0.5, 0.5]) {
        for (const oy of [0, -0.5, 0.5]) {
          const score = iou(blob, shapeMask(shape, cx + ox, cy + oy, size + ds));
          if (score > bestScore) {
            bestScore = score;
            best = shape;
          }
        }
      }
    }
  }
  return { shape: best, score: bestScore };
}

export function detect(image: Uint8Array): Detection {
  const classes = classifyPixels(image);
  const ring = new Array<number>(COLOURS.length).fill(0);
  for (let i = 0; i < SIZE; i++) {
    for (const p of [i, (SIZE - 1) * SIZE + i, i * SIZE, i * SIZE + SIZE - 1]) ring[classes.colour[p]]++;
  }
  const bg = majority(ring);
  const rest = new Array<number>(COLOURS.length).fill(0);
  for (const c of classes.colour) if (c !== bg) rest[c]++;
  const background = COLOURS[bg];
  const texture = detectTexture(classes, background);
  const obj = majority(rest);
  if (rest[obj] < MIN_OBJECT_PIXELS) {
    return { background, texture, colour: null, shape: null, objectMask: new Uint8Array(SIZE * SIZE), shapeScore: 0 };
  }
  const colour = COLOURS[obj];
  const blob = largestComponent(colourMask(classes, colour));
  const { shape, score } = classifyShape(blob);
  return { background, texture, colour, shape, objectMask: blob, shapeScore: score };
}
