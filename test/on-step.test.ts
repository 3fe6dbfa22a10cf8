// onStep: a per-step hook for research, with the step's timestep and, on request, copies of
// the current latents (the final one equals the result); costing nothing when not set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Edict, type StepEvent } from '../src/index.js';
import { tinyModel } from './helpers/fixtures.js';

const image = { data: new Uint8Array(32 * 32 * 3).map((_, i) => (i * 37) % 256), width: 32, height: 32, channels: 3 as const };
let edict: Edict;
beforeAll(async () => {
  edict = await Edict.load(tinyModel);
});
afterAll(() => edict.dispose());

describe('onStep', () => {
  it('reports every step of an inversion with its timestep, in the order the loop runs', async () => {
    const events: StepEvent[] = [];
    // 10 steps, strength 0.8: executed steps run timesteps 701, 601, ..., 1 (stride 100, offset 1).
    await edict.invert(image, { prompt: 'a red square', steps: 10, onStep: (e) => events.push(e) });
    expect(events.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events.every((e) => e.phase === 'invert' && e.total === 8 && e.x === undefined)).toBe(true);
    // Inversion runs from the least noisy step up.
    expect(events.map((e) => e.t)).toEqual([1, 101, 201, 301, 401, 501, 601, 701]);
  });

  it('with stepLatents, carries copies of x and y; the last equals the result', async () => {
    const events: StepEvent[] = [];
    const result = await edict.generate(await edict.invert([image, image], { prompt: 'a red square', steps: 6 }), {
      prompt: 'a blue square',
      onStep: (e) => events.push(e),
      stepLatents: true,
    });
    // 6 steps: stride 166; the 4 executed steps run 499, 333, 167, 1, noisiest first.
    expect(events.map((e) => e.t)).toEqual([499, 333, 167, 1]);
    for (const e of events) expect(e.x).toHaveLength(result.latents.x.length);
    const last = events.at(-1)!;
    expect(Array.from(last.x!)).toEqual(Array.from(result.latents.x));
    expect(Array.from(last.y!)).toEqual(Array.from(result.latents.y));
    // Earlier steps differ from the result: they are copies, not views.
    expect(Array.from(events[0].x!)).not.toEqual(Array.from(result.latents.x));
  });

  it('a throwing onStep becomes a warning and the call completes', async () => {
    const warnings: string[] = [];
    const result = await edict.invert(image, {
      prompt: 'a red square',
      steps: 6,
      onStep: () => {
        throw new Error('boom');
      },
      onWarning: (m) => warnings.push(m),
    });
    expect(result.params.stage).toBe('inverted');
    expect(warnings).toEqual(['onStep threw and will not be called again in this call: boom']);
  });
});
