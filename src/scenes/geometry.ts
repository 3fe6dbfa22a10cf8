import { SIZE, type Scene, type Shape } from './scene.js';

/**
 * Pixel membership of the shapes, tested at pixel centres (x + 0.5, y + 0.5) with no
 * anti-aliasing: a pixel is wholly object or wholly background, so masks are exact.
 * With even sizes and integer centres no pixel centre lies on an edge (no ties).
 * Centre and size may be fractional: the detector matches templates at estimated places.
 */
export function insideShape(shape: Shape, cx: number, cy: number, size: number, px: number, py: number): boolean {
  const h = size / 2;
  const x = px + 0.5 - cx;
  const y = py + 0.5 - cy;
  switch (shape) {
    case 'square':
      return Math.abs(x) < h && Math.abs(y) < h;
    case 'circle':
      return x * x + y * y < h * h;
    case 'triangle':
      // Apex up at y = -h, base at y = +h, base width = size: half-width grows by 1/2 per row.
      return y > -h && y < h && Math.abs(x) < (y + h) / 2;
  }
}

/** A mask (1 = inside) of a shape at an arbitrary centre and size, SIZE x SIZE. */
export function shapeMask(shape: Shape, cx: number, cy: number, size: number): Uint8Array {
  const mask = new Uint8Array(SIZE * SIZE);
  for (let py = 0; py < SIZE; py++) {
    for (let px = 0; px < SIZE; px++) {
      if (insideShape(shape, cx, cy, size, px, py)) mask[py * SIZE + px] = 1;
    }
  }
  return mask;
}

export function objectCentre(s: Scene): [number, number] {
  return [SIZE / 2 + s.dx, SIZE / 2 + s.dy];
}

/** The exact object mask of a scene (1 = object pixel). */
export function objectMask(s: Scene): Uint8Array {
  const [cx, cy] = objectCentre(s);
  return shapeMask(s.shape, cx, cy, s.size);
}

/** Intersection over union of two masks; 0 when both are empty. */
export function iou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) inter++;
    if (a[i] || b[i]) union++;
  }
  return union === 0 ? 0 : inter / union;
}

export function invertMask(m: Uint8Array): Uint8Array {
  return m.map((v) => (v ? 0 : 1));
}

export function unionMask(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((v, i) => (v || b[i] ? 1 : 0));
}

export function countMask(m: Uint8Array): number {
  let n = 0;
  for (const v of m) n += v ? 1 : 0;
  return n;
}
