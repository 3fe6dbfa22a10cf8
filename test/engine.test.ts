// The engine on the random-weight fixture model: exact round trips, the DDIM contrast,
// progress, cancellation, concurrency and batching.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Edict, EdictError } from '../src/index.js';
import { tinyModel } from './helpers/fixtures.js';
import { maxAbsDiff, scenePng } from './helpers/images.js';

let image: Buffer;
beforeAll(async () => {
  image = await scenePng();
});

describe('exact inversion on the fixture UNet', () => {
  it('float64 UNet: invert then generate with the same prompt returns the latent to 1e-12 (paper settings)', async () => {
    const edict = await Edict.load(tinyModel, { dtype: 'float64' });
    const r = await edict.reconstruct(image, { prompt: 'a red square on a blue background' });
    console.info(`float64 UNet round trip: max abs ${r.latentMaxAbsError.toExponential(2)}, RMS ${r.latentRmsError.toExponential(2)}`);
    expect(r.latentMaxAbsError).toBeLessThanOrEqual(1e-12);
    expect(r.roundTripPsnr).toBe(Number.POSITIVE_INFINITY);
    await edict.dispose();
  });

  it('float32 UNet with float64 coupling: the same bound holds', async () => {
    // Generation re-evaluates the UNet at points equal to inversion's to ~1e-16; cast to
    // float32 they are the same bits, so the UNet returns the same bits and only float64
    // rounding of the coupling remains (measured ~2e-15). The bound is that float64 rounding
    // bound, the same as for a float64 UNet.
    const edict = await Edict.load(tinyModel);
    expect(edict.dtype).toBe('float32');
    const r = await edict.reconstruct(image, { prompt: 'a red square on a blue background' });
    console.info(`float32 UNet round trip: max abs ${r.latentMaxAbsError.toExponential(2)}, RMS ${r.latentRmsError.toExponential(2)}`);
    expect(r.latentMaxAbsError).toBeLessThanOrEqual(1e-12);
    await edict.dispose();
  });

  it.each([
    { steps: 49, strength: 0.8, leapfrog: true }, // 39 steps: odd
    { steps: 49, strength: 0.8, leapfrog: false },
    { steps: 20, strength: 1, leapfrog: true }, // 20: even, from pure noise level
    { steps: 7, strength: 0.3, leapfrog: true }, // 2 steps
  ])('exact for $steps steps at strength $strength (leapfrog $leapfrog)', async (o) => {
    const edict = await Edict.load(tinyModel, { dtype: 'float64' });
    const r = await edict.reconstruct(image, { prompt: 'a cat on the grass', guidance: 3, ...o });
    expect(r.latentMaxAbsError).toBeLessThanOrEqual(1e-12);
    await edict.dispose();
  });

  it('float64 UNet: exact even when one inverted latent is regenerated inside a larger batch', async () => {
    // A float32 kernel may give other low bits for an item in a batch of another size (~4e-6
    // here); in float64 those differences are ~1e-16 and the bound still holds.
    const edict = await Edict.load(tinyModel, { dtype: 'float64' });
    const prompt = 'a red square on a blue background';
    const start = await edict.encodeImage(image);
    const inverted = await edict.invert(start, { prompt });
    const regenerated = await edict.generate(inverted, { prompt: [prompt, prompt, prompt] });
    const perItem = start.x.length;
    expect(regenerated.latents.x.length).toBe(3 * perItem);
    for (let i = 0; i < 3; i++) {
      expect(maxAbsDiff(regenerated.latents.x.subarray(i * perItem, (i + 1) * perItem), start.x)).toBeLessThanOrEqual(1e-12);
    }
    await edict.dispose();
  });

  it('editing with source equal to target returns the VAE round trip, pixel for pixel', async () => {
    const edict = await Edict.load(tinyModel);
    const prompt = 'a red square on a blue background';
    const edited = await edict.edit(image, { source: prompt, target: prompt });
    const [vae] = await edict.decodeLatents(await edict.encodeImage(image));
    expect(edited.images[0].width).toBe(32);
    expect(Buffer.from(edited.images[0].data).equals(Buffer.from(vae.data))).toBe(true);
    await edict.dispose();
  });

  it('DDIM inversion at guidance 3 drifts by many orders of magnitude more', async () => {
    const edict = await Edict.load(tinyModel, { dtype: 'float64' });
    const prompt = 'a red square on a blue background';
    const exact = await edict.reconstruct(image, { prompt, guidance: 3 });
    const ddim = await edict.reconstruct(image, { prompt, guidance: 3, method: 'ddim' });
    console.info(`round trip at guidance 3: EDICT ${exact.latentMaxAbsError.toExponential(2)}, DDIM ${ddim.latentMaxAbsError.toExponential(2)}`);
    expect(ddim.latentMaxAbsError).toBeGreaterThan(1e-3);
    expect(ddim.latentMaxAbsError).toBeGreaterThan(1e8 * exact.latentMaxAbsError);
    expect(ddim.roundTripPsnr).toBeLessThan(exact.roundTripPsnr);
    await edict.dispose();
  });
});

describe('calls: progress, cancellation, concurrency, batching', () => {
  let edict: Edict;
  beforeAll(async () => {
    edict = await Edict.load(tinyModel);
  });
  afterAll(() => edict.dispose());

  it('reports progress in order, phase by phase', async () => {
    const events: string[] = [];
    await edict.edit(image, {
      source: 'a cat',
      target: 'a dog',
      steps: 10,
      strength: 0.5,
      onProgress: (e) => events.push(`${e.phase}:${e.step}/${e.total}`),
    });
    expect(events).toEqual([
      'encode:1/1',
      ...Array.from({ length: 5 }, (_, i) => `invert:${i + 1}/5`),
      ...Array.from({ length: 5 }, (_, i) => `generate:${i + 1}/5`),
      'decode:1/1',
    ]);
  });

  it('cancels mid-loop with ERR_CANCELLED, and the pipeline keeps working', async () => {
    const controller = new AbortController();
    const steps: number[] = [];
    const pending = edict.edit(image, {
      source: 'a cat',
      target: 'a dog',
      signal: controller.signal,
      onProgress: (e) => {
        if (e.phase === 'invert') steps.push(e.step);
        if (e.phase === 'invert' && e.step === 3) controller.abort();
      },
    });
    await expect(pending).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
    expect(Math.max(...steps)).toBeLessThan(40);
    const after = await edict.edit(image, { source: 'a cat', target: 'a dog', steps: 5 });
    expect(after.images).toHaveLength(1);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(edict.edit(image, { source: 'a', target: 'b', signal: controller.signal })).rejects.toMatchObject({
      code: 'ERR_CANCELLED',
    });
  });

  it('ten concurrent edits succeed: bitwise the same edits run one by one with isolate, within 1e-5 sharing UNet calls', async () => {
    const targets = ['a dog', 'a cat', 'a bird', 'a fish', 'a horse', 'a red dog', 'a blue cat', 'a green bird', 'a white fish', 'a black horse'];
    const options = (target: string, isolate: boolean) => ({ source: 'a red square', target, steps: 12, isolate });
    const isolated = await Promise.all(targets.map((t) => edict.edit(image, options(t, true))));
    const shared = await Promise.all(targets.map((t) => edict.edit(image, options(t, false))));
    for (const [i, target] of targets.entries()) {
      const single = await edict.edit(image, options(target, false));
      expect(Buffer.from(isolated[i].images[0].data).equals(Buffer.from(single.images[0].data))).toBe(true);
      expect(isolated[i].latents.x).toEqual(single.latents.x);
      // A float32 UNet's low bits depend on the batch it runs in.
      expect(maxAbsDiff(shared[i].latents.x, single.latents.x)).toBeLessThan(1e-5);
    }
  });

  it('a list of targets runs one inversion and one batched generation', async () => {
    const targets = ['a dog', 'a cat', 'a bird'];
    const batched = await edict.edit(image, { source: 'a red square', target: targets, steps: 10, both: true });
    expect(batched.images).toHaveLength(3);
    expect(batched.imagesY).toHaveLength(3);
    expect(batched.inverted?.batch).toBe(1);
    // floor(10 * 0.8) = 8 steps each way, two UNet calls per EDICT step, each call one batch.
    expect(batched.timings.unetCalls).toBe(32);
    for (const [i, target] of targets.entries()) {
      const single = await edict.edit(image, { source: 'a red square', target, steps: 10 });
      // Batch size can change low bits of float32 kernels; the results agree to rounding.
      expect(maxAbsDiff(batched.latents.item(i).x, single.latents.x)).toBeLessThan(1e-4);
    }
  });

  it('later calls after dispose fail with ERR_DISPOSED', async () => {
    const other = await Edict.load(tinyModel);
    await other.dispose();
    expect(other.disposed).toBe(true);
    await expect(other.edit(image, { source: 'a', target: 'b' })).rejects.toMatchObject({ code: 'ERR_DISPOSED' });
  });

  it('guidance 1 runs the conditional pass alone: half the UNet batch', async () => {
    const guided = await edict.reconstruct(image, { prompt: 'a cat', steps: 10, guidance: 3 });
    const plain = await edict.reconstruct(image, { prompt: 'a cat', steps: 10, guidance: 1 });
    expect(plain.timings.unetCalls).toBe(guided.timings.unetCalls);
    expect(plain.latentMaxAbsError).toBeLessThanOrEqual(1e-12);
  });

  it('surfaces prompt truncation as a warning the caller sees', async () => {
    const warnings: string[] = [];
    const long = Array.from({ length: 30 }, () => 'cat').join(' ');
    const result = await edict.edit(image, { source: long, target: 'a dog', steps: 4, onWarning: (w) => warnings.push(w) });
    expect(warnings.some((w) => w.includes('truncated'))).toBe(true);
    expect(result.warnings).toEqual(warnings);
  });

  it('reports NaN or infinity in the latents as ERR_NONFINITE', async () => {
    // Mix 0.5 makes EDICT's inversion expand by ~4x per step: float32 state overflows.
    const f32 = await Edict.load(tinyModel, { stateDtype: 'float32' });
    const error = await f32
      .invert(image, { prompt: 'a cat', steps: 100, strength: 1, mix: 0.5 })
      .then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(EdictError);
    expect((error as EdictError).code).toBe('ERR_NONFINITE');
    await f32.dispose();
  });
});
