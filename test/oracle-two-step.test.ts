// BDIA and BELM (native/samplers/bdia.cpp, belm.cpp) against the independent float64 oracle
// (test/helpers/oracle.ts, written from the papers' equations: BELM in xbar/lambda form) on the
// closed-form denoiser; and their round trips with float64 UNets for every executed step
// count 1..60 on the random-weight fixture and the bundled model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Edict, gaussianNoise, Latents, loadManifest, type LatentParams } from '../src/index.js';
import { PromptTokenizer } from '../src/prompts.js';
import { closedFormModel, closedFormVModel, tinyModel } from './helpers/fixtures.js';
import { alphaBars, makeOracle, scaledError, type Scheduler } from './helpers/oracle.js';

const TOLERANCE = 1e-12;
const STEPS = 10;
const PROMPTS = ['a red cat', 'a blue dog on the beach', 'a striped horse'];

/** The product over BELM's inversion steps of max(1, 1/A_k): how much it can grow rounding. */
function belmGrowth(scheduler: Scheduler, executed: number): number {
  const abar = alphaBars(scheduler);
  const ratio = Math.floor(scheduler.numTrainTimesteps / STEPS);
  const stepT = (i: number) => (STEPS - 1 - (STEPS - executed + i)) * ratio + scheduler.stepsOffset;
  const level = (k: number) => {
    const t = k >= 1 ? stepT(executed - k) : stepT(executed - 1) - ratio;
    const ab = t < 0 ? (scheduler.setAlphaToOne ? 1 : abar[0]) : abar[t];
    return { a: Math.sqrt(ab), lambda: Math.sqrt(1 - ab) / Math.sqrt(ab) };
  };
  let growth = 1;
  for (let k = 1; k < executed; k++) {
    const [below, at, above] = [level(k - 1), level(k), level(k + 1)];
    const h = at.lambda - below.lambda;
    const hNext = above.lambda - at.lambda;
    growth *= Math.max(1, (hNext / h) ** 2 * (above.a / below.a));
  }
  return growth;
}

const cases: { method: 'bdia' | 'belm'; gamma: number; strength: number; guidance: number; batch: number }[] = [];
for (const method of ['bdia', 'belm'] as const)
  for (const gamma of method === 'bdia' ? [0.96, 1] : [1])
    for (const strength of [0.1, 0.3, 0.8, 1])
      for (const guidance of [1, 3])
        for (const batch of [1, 3]) cases.push({ method, gamma, strength, guidance, batch });

describe.each([
  ['epsilon', closedFormModel],
  ['v-prediction', closedFormVModel],
])('BDIA and BELM equal the float64 oracle (%s model)', (_, dir) => {
  const manifest = loadManifest(dir);
  const tokenizer = PromptTokenizer.fromManifest(manifest);
  const ids = (prompt: string) => Array.from(tokenizer.encode([prompt]).ids, Number).slice(0, manifest.text.maxLength);
  let edict: Edict;
  beforeAll(async () => {
    edict = await Edict.load(dir, { dtype: 'float64', threads: 1 });
  });
  afterAll(() => edict.dispose());

  describe.each(cases)('$method gamma $gamma, strength $strength, guidance $guidance, batch $batch', (c) => {
    const shape: [number, number, number, number] = [c.batch, 3, 8, 8];
    const size = shape.reduce((a, b) => a * b, 1);
    const executed = Math.floor(STEPS * c.strength);
    const prompts = PROMPTS.slice(0, c.batch);
    const oracle = makeOracle({
      scheduler: manifest.scheduler as Scheduler,
      shape,
      items: prompts.map((p) => ({ cond: ids(p), uncond: ids(''), guidance: c.guidance, mix: 1 })),
      steps: STEPS,
      executed,
      leapfrog: true,
      hiddenSize: manifest.text.hiddenSize,
    });
    const params = (stage: LatentParams['stage']): LatentParams => ({
      model: manifest.name,
      stage,
      method: stage === 'encoded' ? null : c.method,
      ...(c.method === 'bdia' && stage !== 'encoded' ? { gamma: c.gamma } : {}),
      prompts: stage === 'encoded' ? [] : prompts,
      negativePrompts: stage === 'encoded' ? [] : prompts.map(() => ''),
      steps: STEPS,
      strength: stage === 'encoded' ? 1 : c.strength,
      executed: stage === 'encoded' ? 0 : executed,
      guidance: stage === 'encoded' ? [] : prompts.map(() => c.guidance),
      mix: stage === 'encoded' ? [] : prompts.map(() => 1),
      leapfrog: true,
      imageWidth: 8,
      imageHeight: 8,
      seed: null,
    });
    const expected = (which: 'generate' | 'invert', x: Float64Array, y: Float64Array | null) =>
      c.method === 'bdia'
        ? which === 'generate'
          ? oracle.bdiaGenerate(x, y, c.gamma)
          : oracle.bdiaInvert(x, c.gamma)
        : which === 'generate'
          ? oracle.belmGenerate(x, y)
          : oracle.belmInvert(x);
    let x0: Float64Array;
    let y0: Float64Array;
    beforeAll(async () => {
      x0 = await gaussianNoise([size], 31);
      y0 = await gaussianNoise([size], 32);
    });

    it(`inversion (${executed} steps)`, async () => {
      const inverted = await edict.invert(new Latents(x0, x0, shape, params('encoded')), {
        prompt: prompts,
        method: c.method,
        gamma: c.gamma,
        steps: STEPS,
        strength: c.strength,
        guidance: c.guidance,
        onWarning: () => {},
      });
      const want = expected('invert', x0, null);
      // BELM's inversion divides by A_k = (h_k/h_{k+1})^2 a_{k-1}/a_{k+1} every step, so two
      // algebraically equal forms (native: x; oracle: xbar) round apart by up to ~1e-16 times
      // the product of 1/A_k: 3.4e3 for 10 steps from the top of the schedule, whose first
      // step (level 0 at the final alpha) has h_2/h_1 = 24. The tolerance is 1e-12, or 1e-15
      // times that growth where it is larger.
      const tolerance = c.method === 'belm' ? Math.max(TOLERANCE, 1e-15 * belmGrowth(manifest.scheduler as Scheduler, executed)) : TOLERANCE;
      expect(scaledError(inverted.x, want.x)).toBeLessThanOrEqual(tolerance);
      expect(scaledError(inverted.y, want.y)).toBeLessThanOrEqual(tolerance);
    });

    it(`generation from an inverted pair and from one latent (${executed} steps)`, async () => {
      const fromPair = await edict.generate(new Latents(x0, y0, shape, params('inverted')), { prompt: prompts });
      const wantPair = expected('generate', x0, y0);
      expect(scaledError(fromPair.latents.x, wantPair.x)).toBeLessThanOrEqual(TOLERANCE);
      expect(scaledError(fromPair.latents.y, wantPair.y)).toBeLessThanOrEqual(TOLERANCE);
      const fromOne = await edict.generate(new Latents(x0, x0, shape, params('noise')), { prompt: prompts });
      const wantOne = expected('generate', x0, null);
      expect(scaledError(fromOne.latents.x, wantOne.x)).toBeLessThanOrEqual(TOLERANCE);
      // One UNet evaluation per level: n from one latent, n - 1 from a pair.
      expect(fromOne.timings.unetCalls).toBe(executed);
      expect(fromPair.timings.unetCalls).toBe(executed - 1);
    });
  });
});

describe.each([
  ['the random-weight fixture', tinyModel, 3],
  ['the bundled model', undefined, 1],
])('BDIA and BELM round trips with a float64 UNet on %s, every executed step count 1..60', (_, dir, guidance) => {
  let edict: Edict;
  let encoded: Latents;
  beforeAll(async () => {
    // A float64 UNet is exact whatever the batch, so the 60 round trips run concurrently and
    // share UNet calls (the step scheduler), which makes the sweep affordable on a CPU.
    edict = await Edict.load(dir, { dtype: 'float64', batching: { maxBatch: 64 } });
    const image = { data: new Uint8Array(32 * 32 * 3).map((_, i) => (i * 37) % 256), width: 32, height: 32, channels: 3 as const };
    encoded = await edict.encodeImage(image);
  }, 120_000);
  afterAll(() => edict.dispose());

  // BDIA's inversion divides by gamma every step: its rounding grows like gamma^-(n-1)
  // (11x for 0.96 over 60 steps), which is the bound used for gamma < 1.
  it.each([
    ['bdia', 1],
    ['bdia', 0.96],
    ['belm', 1],
  ] as const)('%s (gamma %s)', async (method, gamma) => {
    const counts = Array.from({ length: 60 }, (_, i) => i + 1);
    const inverted = await Promise.all(
      counts.map((executed) => edict.invert(encoded, { prompt: 'a red square', method, gamma, steps: 60, strength: executed / 60, guidance })),
    );
    const back = await Promise.all(inverted.map((latents) => edict.generate(latents, { prompt: 'a red square', onWarning: () => {} })));
    let worst = 0;
    for (const [i, executed] of counts.entries()) {
      expect(inverted[i].params.executed).toBe(executed);
      let error = 0;
      for (let k = 0; k < encoded.x.length; k++) error = Math.max(error, Math.abs(back[i].latents.x[k] - encoded.x[k]));
      worst = Math.max(worst, error);
      expect(error, `${executed} steps`).toBeLessThanOrEqual(TOLERANCE * gamma ** -(executed - 1));
    }
    console.info(`${method} gamma ${gamma}: worst round trip over 1..60 steps ${worst.toExponential(2)}`);
  }, 600_000);
});
