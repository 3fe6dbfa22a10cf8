// The strict edit judges: true edits pass, and images that merely lack the source attribute
// (a flat grey image, the unedited input) fail.
import { describe, expect, it } from 'vitest';

import { EDIT_KINDS, heldOutCases, judgeEdit, render } from '../src/scenes/index.js';

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
