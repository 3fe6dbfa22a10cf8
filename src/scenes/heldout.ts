import { EDIT_KINDS, editValues, withAttribute, type EditKind } from './edit.js';
import { createRng } from './random.js';
import { sampleScene } from './sample.js';
import { sceneKey, type Scene } from './scene.js';

/** The benchmark's fixed scenes: this seed and count define them; never change them. */
export const HELD_OUT_SEED = 505_2024;
export const HELD_OUT_COUNT = 240;

export interface HeldOutEdit {
  readonly kind: EditKind;
  readonly value: string;
  /** The ground-truth edited scene. */
  readonly target: Scene;
}

export interface HeldOutCase {
  readonly index: number;
  readonly scene: Scene;
  /** One edit of each kind, in EDIT_KINDS order. */
  readonly edits: readonly HeldOutEdit[];
}

let cache: { cases: HeldOutCase[]; keys: Set<string> } | undefined;

function build(): { cases: HeldOutCase[]; keys: Set<string> } {
  const rng = createRng(HELD_OUT_SEED);
  const cases: HeldOutCase[] = [];
  const keys = new Set<string>();
  while (cases.length < HELD_OUT_COUNT) {
    const scene = sampleScene(rng);
    const edits = EDIT_KINDS.map((kind) => {
      const value = rng.pick(editValues(scene, kind));
      return { kind, value, target: withAttribute(scene, kind, value) };
    });
    if (keys.has(sceneKey(scene))) continue; // distinct source scenes
    cases.push({ index: cases.length, scene, edits });
    keys.add(sceneKey(scene));
    for (const e of edits) keys.add(sceneKey(e.target));
  }
  return { cases, keys };
}

/** The fixed held-out benchmark cases (same list on every call and machine). */
export function heldOutCases(): readonly HeldOutCase[] {
  cache ??= build();
  return cache.cases;
}

/**
 * Whether a scene is held out: a benchmark source scene or one of its edit targets.
 * Training data must skip these, so no benchmark image (input or ground truth) is seen.
 */
export function isHeldOut(scene: Scene | string): boolean {
  cache ??= build();
  return cache.keys.has(typeof scene === 'string' ? scene : sceneKey(scene));
}
