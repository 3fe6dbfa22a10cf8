// Latents record what made them (package, libtorch, UNet dtype, device, threads, batch layout),
// and regenerating inverted latents with their source prompt under other conditions warns with
// a typed code and the error to expect (a float32 round trip is exact only under the same ones).
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Edict, EdictError, Latents } from '../src/index.js';
import { tempDir, tinyModel } from './helpers/fixtures.js';

const image = { data: new Uint8Array(32 * 32 * 3).map((_, i) => (i * 37) % 256), width: 32, height: 32, channels: 3 as const };
const prompt = 'a red square';
let one: Edict;
let two: Edict;
let f64one: Edict;
let f64two: Edict;
beforeAll(async () => {
  [one, two, f64one, f64two] = await Promise.all([
    Edict.load(tinyModel, { threads: 1 }),
    Edict.load(tinyModel, { threads: 2 }),
    Edict.load(tinyModel, { threads: 1, dtype: 'float64' }),
    Edict.load(tinyModel, { threads: 2, dtype: 'float64' }),
  ]);
});
afterAll(() => Promise.all([one, two, f64one, f64two].map((e) => e.dispose())));

async function warningsOf(edict: Edict, latents: Latents, options: { prompt: string | string[]; isolate?: boolean }) {
  const seen: [string, string][] = [];
  await edict.generate(latents, { ...options, onWarning: (message, code) => seen.push([code, message]) });
  return seen.filter(([code]) => code === 'EDICT_INEXACT_ROUND_TRIP');
}

describe('latents provenance', () => {
  it('inverted latents record package, libtorch, dtype, device, threads and layout, and keep them in a file', async () => {
    const inverted = await one.invert([image, image], { prompt, steps: 6, isolate: true });
    expect(inverted.params.provenance).toEqual({
      package: '0.1.0',
      libtorch: expect.stringMatching(/^\d+\.\d+/),
      dtype: 'float32',
      device: 'cpu',
      threads: 1,
      isolated: true,
      batch: 2,
    });
    const path = join(tempDir(), 'z.safetensors');
    await inverted.save(path);
    expect((await Latents.load(path)).params.provenance).toEqual(inverted.params.provenance);
    const bad = new Latents(inverted.x, inverted.y, inverted.shape, { ...inverted.params });
    expect(() => new Latents(bad.x, bad.y, bad.shape, { ...bad.params, provenance: { ...bad.params.provenance!, threads: -1 } })).toThrow(EdictError);
  });

  it('the source prompt under another thread count, dtype, batch or isolation warns EDICT_INEXACT_ROUND_TRIP with the error to expect', async () => {
    const inverted = await one.invert(image, { prompt, steps: 6 });
    const threads = await warningsOf(two, inverted, { prompt });
    expect(threads).toHaveLength(1);
    expect(threads[0][1]).toMatch(/intra-op threads 1 -> 2\); expect a latent error up to ~1e-6/);
    expect((await warningsOf(f64one, inverted, { prompt }))[0][1]).toMatch(/UNet dtype float32 -> float64/);
    expect((await warningsOf(one, inverted, { prompt: [prompt, prompt] }))[0][1]).toMatch(/batch of 1 -> 2/);
    expect((await warningsOf(one, inverted, { prompt, isolate: true }))[0][1]).toMatch(/isolate false -> true/);
  });

  it('no warning under the same conditions, for an edit (another prompt), or between float64 UNets', async () => {
    const inverted = await one.invert(image, { prompt, steps: 6 });
    expect(await warningsOf(one, inverted, { prompt })).toEqual([]);
    expect(await warningsOf(two, inverted, { prompt: 'a blue square' })).toEqual([]);
    const inverted64 = await f64one.invert(image, { prompt, steps: 6 });
    expect(await warningsOf(f64two, inverted64, { prompt })).toEqual([]);
  });

  it('the warning tells the truth on the bundled model: threads 1 -> 2 breaks its float32 round trip', async () => {
    const [b1, b2] = await Promise.all([Edict.load(undefined, { threads: 1 }), Edict.load(undefined, { threads: 2 })]);
    try {
      const encoded = await b1.encodeImage(image);
      const inverted = await b1.invert(encoded, { prompt: 'a red circle on a blue plain background', steps: 20 });
      const maxAbs = (a: Float64Array, b: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
      const same = (await b1.generate(inverted, { prompt: 'a red circle on a blue plain background' })).latents.x;
      const warned: string[] = [];
      const other = (await b2.generate(inverted, { prompt: 'a red circle on a blue plain background', onWarning: (_, code) => warned.push(code) })).latents.x;
      expect(maxAbs(same, encoded.x)).toBeLessThan(1e-12);
      expect(maxAbs(other, encoded.x)).toBeGreaterThan(1e-10);
      expect(warned).toContain('EDICT_INEXACT_ROUND_TRIP');
    } finally {
      await Promise.all([b1.dispose(), b2.dispose()]);
    }
  });
});
