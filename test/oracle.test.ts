// The native loops against an independent float64 oracle (test/helpers/oracle.ts) on the
// closed-form denoiser, whose output both sides compute exactly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Edict, gaussianNoise, Latents, loadManifest, type LatentParams } from '../src/index.js';
import { PromptTokenizer } from '../src/prompts.js';
import { closedFormModel, closedFormVModel } from './helpers/fixtures.js';
import { makeOracle, scaledError, type OracleItem, type Scheduler } from './helpers/oracle.js';

const TOLERANCE = 1e-12;
const STEPS = 10;
const PROMPTS = ['a red cat', 'a blue dog on the beach', 'a striped horse'];
const NEGATIVE = '';

function idsOf(tokenizer: PromptTokenizer, prompt: string, maxLength: number): number[] {
  return Array.from(tokenizer.encode([prompt]).ids, Number).slice(0, maxLength);
}

function setup(dir: string) {
  const manifest = loadManifest(dir);
  const tokenizer = PromptTokenizer.fromManifest(manifest);
  const item = (prompt: string, guidance: number, mix: number): OracleItem => ({
    cond: idsOf(tokenizer, prompt, manifest.text.maxLength),
    uncond: idsOf(tokenizer, NEGATIVE, manifest.text.maxLength),
    guidance,
    mix,
  });
  return { manifest, item };
}

function params(base: Partial<LatentParams>): LatentParams {
  return {
    model: 'closed-form',
    stage: 'encoded',
    method: null,
    prompts: [],
    negativePrompts: [],
    steps: STEPS,
    strength: 1,
    executed: 0,
    guidance: [],
    mix: [],
    leapfrog: true,
    imageWidth: 8,
    imageHeight: 8,
    seed: null,
    ...base,
  };
}

interface Case {
  strength: number;
  leapfrog: boolean;
  mix: number;
  guidance: number;
  batch: number;
}

const grid: Case[] = [];
for (const strength of [0.3, 0.8, 1])
  for (const leapfrog of [true, false])
    for (const mix of [0.5, 0.93, 1])
      for (const guidance of [1, 3])
        for (const batch of [1, 3]) grid.push({ strength, leapfrog, mix, guidance, batch });

describe('native loops equal the float64 oracle (epsilon model)', () => {
  let edict: Edict;
  const { manifest, item } = setup(closedFormModel);
  beforeAll(async () => {
    edict = await Edict.load(closedFormModel, { dtype: 'float64', threads: 1 });
  });
  afterAll(() => edict.dispose());

  describe.each(grid)('strength $strength, leapfrog $leapfrog, mix $mix, guidance $guidance, batch $batch', (c) => {
    const shape: [number, number, number, number] = [c.batch, 3, 8, 8];
    const size = shape.reduce((a, b) => a * b, 1);
    const executed = Math.floor(STEPS * c.strength);
    const prompts = PROMPTS.slice(0, c.batch);
    const oracle = makeOracle({
      scheduler: manifest.scheduler as Scheduler,
      shape,
      items: prompts.map((p) => item(p, c.guidance, c.mix)),
      steps: STEPS,
      executed,
      leapfrog: c.leapfrog,
      hiddenSize: manifest.text.hiddenSize,
    });
    let x0: Float64Array;
    let y0: Float64Array;
    beforeAll(async () => {
      x0 = await gaussianNoise([size], 11);
      y0 = await gaussianNoise([size], 12);
    });
    const loopParams = (method: 'edict') =>
      params({
        stage: 'inverted',
        method,
        prompts,
        negativePrompts: prompts.map(() => NEGATIVE),
        strength: c.strength,
        executed,
        guidance: prompts.map(() => c.guidance),
        mix: prompts.map(() => c.mix),
        leapfrog: c.leapfrog,
      });

    it(`EDICT generation (${executed} steps)`, async () => {
      const result = await edict.generate(new Latents(x0, y0, shape, loopParams('edict')), { prompt: prompts });
      const expected = oracle.edictGenerate(x0, y0);
      expect(scaledError(result.latents.x, expected.x)).toBeLessThanOrEqual(TOLERANCE);
      expect(scaledError(result.latents.y, expected.y)).toBeLessThanOrEqual(TOLERANCE);
    });

    it(`EDICT inversion (${executed} steps)`, async () => {
      const start = new Latents(x0, y0, shape, params({}));
      const inverted = await edict.invert(start, {
        prompt: prompts,
        method: 'edict',
        steps: STEPS,
        strength: c.strength,
        guidance: c.guidance,
        mix: c.mix,
        leapfrog: c.leapfrog,
      });
      const expected = oracle.edictInvert(x0, y0);
      expect(scaledError(inverted.x, expected.x)).toBeLessThanOrEqual(TOLERANCE);
      expect(scaledError(inverted.y, expected.y)).toBeLessThanOrEqual(TOLERANCE);
    });
  });

  // DDIM has no mix and no leapfrog: its grid is strength x guidance x batch.
  describe.each(grid.filter((c) => c.mix === 1 && c.leapfrog))('DDIM: strength $strength, guidance $guidance, batch $batch', (c) => {
    const shape: [number, number, number, number] = [c.batch, 3, 8, 8];
    const executed = Math.floor(STEPS * c.strength);
    const prompts = PROMPTS.slice(0, c.batch);
    const oracle = makeOracle({
      scheduler: manifest.scheduler as Scheduler,
      shape,
      items: prompts.map((p) => item(p, c.guidance, 1)),
      steps: STEPS,
      executed,
      leapfrog: true,
      hiddenSize: manifest.text.hiddenSize,
    });
    let x0: Float64Array;
    beforeAll(async () => {
      x0 = await gaussianNoise([c.batch * 192], 11);
    });

    it(`DDIM generation and inversion (${executed} steps)`, async () => {
      const ddimParams = params({
        stage: 'inverted',
        method: 'ddim',
        prompts,
        negativePrompts: prompts.map(() => NEGATIVE),
        strength: c.strength,
        executed,
        guidance: prompts.map(() => c.guidance),
        mix: prompts.map(() => 1),
      });
      const generated = await edict.generate(new Latents(x0, x0, shape, ddimParams), { prompt: prompts });
      expect(scaledError(generated.latents.x, oracle.ddimGenerate(x0))).toBeLessThanOrEqual(TOLERANCE);
      const inverted = await edict.invert(new Latents(x0, x0, shape, params({})), {
        prompt: prompts,
        method: 'ddim',
        steps: STEPS,
        strength: c.strength,
        guidance: c.guidance,
      });
      expect(scaledError(inverted.x, oracle.ddimInvert(x0))).toBeLessThanOrEqual(TOLERANCE);
    });
  });

  it('per-item guidance and mix in one batch', async () => {
    const shape: [number, number, number, number] = [3, 3, 8, 8];
    const x0 = await gaussianNoise([3 * 192], 21);
    const y0 = await gaussianNoise([3 * 192], 22);
    const guidance = [1, 3, 7.5];
    const mix = [0.93, 1, 0.8];
    const oracle = makeOracle({
      scheduler: manifest.scheduler as Scheduler,
      shape,
      items: PROMPTS.map((p, i) => item(p, guidance[i], mix[i])),
      steps: 20,
      executed: 15,
      leapfrog: true,
      hiddenSize: manifest.text.hiddenSize,
    });
    const latents = new Latents(x0, y0, shape, params({
      stage: 'inverted', method: 'edict', steps: 20, strength: 0.75, executed: 15,
      prompts: PROMPTS, negativePrompts: PROMPTS.map(() => ''), guidance, mix,
    }));
    const result = await edict.generate(latents, { prompt: PROMPTS });
    const expected = oracle.edictGenerate(x0, y0);
    expect(scaledError(result.latents.x, expected.x)).toBeLessThanOrEqual(TOLERANCE);
    expect(scaledError(result.latents.y, expected.y)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('SDEdit: seeded noise to the first executed timestep, then DDIM', async () => {
    // Pixel-space model: a flat grey image is the latent 0.2 * 2 - 1 etc.; use raw pixels.
    const pixels = new Uint8Array(8 * 8 * 3).map((_, i) => (i * 37) % 256);
    const result = await edict.edit(
      { data: pixels, width: 8, height: 8, channels: 3 },
      { source: 'a red cat', target: ['a blue dog on the beach', 'a striped horse'], method: 'sdedit', steps: STEPS, strength: 0.7, guidance: 3, seed: 5 },
    );
    const z0 = Float64Array.from(pixels, (v) => v / 127.5 - 1);
    // Latents are [C, H, W]; pixels are [H, W, C].
    const chw = new Float64Array(192);
    for (let h = 0; h < 8; h++) for (let w = 0; w < 8; w++) for (let ch = 0; ch < 3; ch++) chw[ch * 64 + h * 8 + w] = z0[(h * 8 + w) * 3 + ch];
    const noise = await gaussianNoise([1, 3, 8, 8], 5);
    for (const [i, prompt] of ['a blue dog on the beach', 'a striped horse'].entries()) {
      const oracle = makeOracle({
        scheduler: manifest.scheduler as Scheduler,
        shape: [1, 3, 8, 8],
        items: [item(prompt, 3, 1)],
        steps: STEPS,
        executed: 7,
        leapfrog: false,
        hiddenSize: manifest.text.hiddenSize,
      });
      const expected = oracle.ddimGenerate(oracle.noiseToStart(chw, noise));
      expect(scaledError(result.latents.item(i).x, expected)).toBeLessThanOrEqual(TOLERANCE);
    }
  });
});

describe('native loops equal the oracle (v-prediction model)', () => {
  const { manifest, item } = setup(closedFormVModel);
  it.each([
    { strength: 0.8, leapfrog: true, guidance: 3, mix: 0.93 },
    { strength: 0.5, leapfrog: false, guidance: 1, mix: 1 },
  ])('EDICT both directions and DDIM, $strength/$leapfrog/$guidance/$mix', async (c) => {
    const edict = await Edict.load(closedFormVModel, { dtype: 'float64', threads: 1 });
    const shape: [number, number, number, number] = [2, 3, 8, 8];
    const prompts = PROMPTS.slice(0, 2);
    const executed = Math.floor(STEPS * c.strength);
    const oracle = makeOracle({
      scheduler: manifest.scheduler as Scheduler,
      shape,
      items: prompts.map((p) => item(p, c.guidance, c.mix)),
      steps: STEPS,
      executed,
      leapfrog: c.leapfrog,
      hiddenSize: manifest.text.hiddenSize,
    });
    expect(manifest.scheduler.predictionType).toBe('v_prediction');
    const x0 = await gaussianNoise([384], 31);
    const y0 = await gaussianNoise([384], 32);
    const inverted = await edict.invert(new Latents(x0, y0, shape, params({})), { prompt: prompts, steps: STEPS, ...c });
    const expected = oracle.edictInvert(x0, y0);
    expect(scaledError(inverted.x, expected.x)).toBeLessThanOrEqual(TOLERANCE);
    expect(scaledError(inverted.y, expected.y)).toBeLessThanOrEqual(TOLERANCE);
    const generated = await edict.generate(inverted, { prompt: prompts });
    const back = oracle.edictGenerate(expected.x, expected.y);
    expect(scaledError(generated.latents.x, back.x)).toBeLessThanOrEqual(TOLERANCE);
    const ddim = await edict.invert(new Latents(x0, x0, shape, params({})), { prompt: prompts, steps: STEPS, method: 'ddim', strength: c.strength, guidance: c.guidance });
    expect(scaledError(ddim.x, oracle.ddimInvert(x0))).toBeLessThanOrEqual(TOLERANCE);
    await edict.dispose();
  });
});
