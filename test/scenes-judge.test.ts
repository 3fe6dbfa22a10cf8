// The strict edit judges: true edits pass, and images that merely lack the source attribute
// (a flat grey image, the unedited input) fail.
import { describe, expect, it } from 'vitest';

import {
  EDIT_KINDS,
  diagnoseShapeEdit,
  heldOutCases,
  judgeEdit,
  render,
  summariseShapeEdits,
  type Shape,
} from '../src/scenes/index.js';

const cases = heldOutCases().slice(0, 60);
const grey = new Uint8Array(32 * 32 * 3).fill(128);

describe('judgeEdit', () => {
  it.each(EDIT_KINDS)('%s: every ground-truth edit passes', (kind) => {
    for (const c of cases) {
      const edit = c.edits.find((e) => e.kind === kind)!;
      expect(judgeEdit(render(edit.target), c.scene, kind, edit.value).success).toBe(true);
    }
  });

  it.each(EDIT_KINDS)('%s: the unedited input and a flat grey image fail', (kind) => {
    for (const c of cases) {
      const edit = c.edits.find((e) => e.kind === kind)!;
      expect(judgeEdit(render(c.scene), c.scene, kind, edit.value).success).toBe(false);
      // Grey (128) is nearest the shade of white, so it is a white background to the detector.
      const whiteTarget = edit.target.background === 'white' && kind.startsWith('background');
      if (!whiteTarget) expect(judgeEdit(grey, c.scene, kind, edit.value).success).toBe(false);
    }
  });
});

describe('diagnoseShapeEdit', () => {
  const shapeEdits = cases.map((c) => ({ c, edit: c.edits.find((e) => e.kind === 'objectShape')! }));

  it('reads a ground-truth edit as the right template in the right place', () => {
    for (const { c, edit } of shapeEdits) {
      const d = diagnoseShapeEdit(render(edit.target), c.scene, edit.value as Shape);
      expect(d).toMatchObject({ templateRight: true, iouNew: 1, shiftPx: 0, areaRatio: 1 });
      expect(d.iouOld).toBeLessThan(1);
    }
  });

  it('reads the unedited input as the old shape', () => {
    for (const { c, edit } of shapeEdits) {
      const d = diagnoseShapeEdit(render(c.scene), c.scene, edit.value as Shape);
      expect(d.templateRight).toBe(false);
      expect(d.iouOld).toBe(1);
      expect(d.iouNew).toBeLessThan(1);
    }
  });

  it('measures how far a right shape was drawn from its true place', () => {
    for (const { c, edit } of shapeEdits) {
      // 3 px towards the centre, so the moved object is never clipped by the border.
      const dx = edit.target.dx > 0 ? edit.target.dx - 3 : edit.target.dx + 3;
      const d = diagnoseShapeEdit(render({ ...edit.target, dx }), c.scene, edit.value as Shape);
      expect(d.templateRight).toBe(true);
      expect(d.shiftPx).toBeCloseTo(3, 12);
      expect(d.areaRatio).toBe(1);
      expect(d.iouNew).toBeLessThan(1);
    }
  });

  it('summarises: all true edits pass, every unedited input fails, counted per shape pair', () => {
    const truth = summariseShapeEdits(shapeEdits.map(({ c, edit }) => diagnoseShapeEdit(render(edit.target), c.scene, edit.value as Shape)));
    expect(truth).toMatchObject({ n: cases.length, success: 1, templateRight: 1, rightShapeWrongPlace: 0, medianShiftPx: 0 });
    const pairs = Object.entries(truth.byPair);
    expect(pairs.reduce((n, [, v]) => n + v.n, 0)).toBe(cases.length);
    for (const [pair, v] of pairs) {
      expect(pair).toMatch(/^(circle|square|triangle)->(circle|square|triangle)$/);
      expect(v.success).toBe(1);
    }
    const unedited = summariseShapeEdits(shapeEdits.map(({ c, edit }) => diagnoseShapeEdit(render(c.scene), c.scene, edit.value as Shape)));
    expect(unedited.success).toBe(0);
    expect(unedited.templateRight).toBe(0);
  });
});
