// Scheduler settings the engine does not implement are refused at load, naming the field
// (clip_sample and thresholding were dropped in silence, so a model that needs them ran wrong).
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { EdictError, loadManifest } from '../src/index.js';
import { tempDir, tinyModel } from './helpers/fixtures.js';

function withScheduler(settings: Record<string, unknown>): string {
  const dir = join(tempDir('edict-model-'), 'model');
  cpSync(tinyModel, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  Object.assign(manifest.scheduler, settings);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(manifest));
  return dir;
}

function errorOf(dir: string): EdictError {
  try {
    loadManifest(dir);
  } catch (error) {
    expect(error).toBeInstanceOf(EdictError);
    return error as EdictError;
  }
  throw new Error('expected an error');
}

describe('scheduler settings', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['clipSample: true', { clipSample: true }, /scheduler\.clipSample: must be false or absent: the engine does not clip the predicted sample/],
    ['thresholding: true', { thresholding: true }, /scheduler\.thresholding: must be false or absent: the engine does not apply dynamic thresholding/],
    ["diffusers' own key clip_sample", { clip_sample: true }, /scheduler: unknown setting\(s\) clip_sample: the engine implements only those of docs\/model-format\.md/],
    ['an unknown setting', { timestepSpacing: 'trailing' }, /unknown setting\(s\) timestepSpacing/],
  ])('%s is ERR_MODEL_MANIFEST naming the field', (_, settings, message) => {
    const error = errorOf(withScheduler(settings));
    expect(error.code).toBe('ERR_MODEL_MANIFEST');
    expect(error.message).toMatch(message);
  });

  it('clipSample and thresholding false (what an SD export means) load', () => {
    expect(loadManifest(withScheduler({ clipSample: false, thresholding: false })).scheduler.clipSample).toBe(false);
  });
});
