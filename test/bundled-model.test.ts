// The bundled model (models/scenes, the default of every call and of the README's main job):
// it loads with no arguments, its autoencoder keeps held-out scenes, EDICT's round trip on it
// is exact, and its samples show what their captions say.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Edict, psnr } from '../src/index.js';
import { caption, heldOutCases, render, sampleMatches, SIZE } from '../src/scenes/index.js';

let edict: Edict;
beforeAll(async () => {
  edict = await Edict.load();
});
afterAll(async () => {
  await edict?.dispose();
});

const pixels = (data: Uint8Array) => ({ data, width: SIZE, height: SIZE, channels: 3 as const });

describe('the bundled scenes model', () => {
  it('is what Edict.load() loads', () => {
    expect(edict.manifest.name).toBe('edict-scenes');
    expect(edict.manifest.image).toMatchObject({ width: SIZE, height: SIZE });
  });

  it('its autoencoder round trip keeps 48 held-out scenes at 35 dB or more on average', async () => {
    // The fine-tuned decoder measured 36.8 dB on the training script's validation rows; stage
    // 1's decoder alone gave 32.4 dB, so exporting the old decoder again fails this test.
    const scenes = heldOutCases().slice(0, 48).map((c) => render(c.scene));
    const latents = await edict.encodeImage(scenes.map(pixels));
    const decoded = await edict.decodeLatents(latents);
    const mean = decoded.reduce((sum, image, i) => sum + psnr(image.data, scenes[i]), 0) / scenes.length;
    console.info(`bundled autoencoder: mean PSNR ${mean.toFixed(2)} dB over ${scenes.length} held-out scenes`);
    expect(mean).toBeGreaterThanOrEqual(35);
  });

  it('EDICT inverts and regenerates a held-out scene exactly at the paper settings', async () => {
    const { scene } = heldOutCases()[0];
    const r = await edict.reconstruct(pixels(render(scene)), { prompt: caption(scene) });
    expect(r.latentMaxAbsError).toBeLessThanOrEqual(1e-12);
    expect(r.roundTripPsnr).toBe(Number.POSITIVE_INFINITY);
  });

  it('samples for held-out captions show the prompted colours, shape and texture', async () => {
    const scenes = heldOutCases().slice(0, 6).map((c) => c.scene);
    const { images } = await edict.sample({ prompt: scenes.map(caption), steps: 25, seed: 7 });
    const verdicts = images.map((image, i) => sampleMatches(image.data, scenes[i]));
    expect(verdicts).toHaveLength(scenes.length);
    for (const v of verdicts) expect(v).toEqual({ background: true, texture: true, colour: true, shape: true });
  });
});
