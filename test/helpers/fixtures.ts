import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixturesDir = join(repoRoot, 'test', 'fixtures');
export const tinyModel = join(fixturesDir, 'tiny');
export const closedFormModel = join(fixturesDir, 'closed-form');
export const closedFormVModel = join(fixturesDir, 'closed-form-v');

export function tempDir(prefix = 'edict-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Deterministic pseudo-random floats in [-1, 1) (test inputs only). */
export function seededFloats(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}
