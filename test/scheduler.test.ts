// The step scheduler on the fixture model: concurrent calls share UNet evaluations and give the
// results they give alone; cancellation, timeouts, the queue limit and priorities; the three
// admission policies; the counters.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { Edict, EdictError, Latents, type LoadOptions } from '../src/index.js';
import { addon } from '../src/native.js';
import { tinyModel } from './helpers/fixtures.js';
import { codeOf } from './helpers/errors.js';
import { maxAbsDiff, scenePng } from './helpers/images.js';

let image: Buffer;
const open: Edict[] = [];
beforeAll(async () => {
  image = await scenePng();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.dispose()));
});

async function load(options: LoadOptions = {}): Promise<Edict> {
  const edict = await Edict.load(tinyModel, options);
  open.push(edict);
  return edict;
}

const prompts = ['a red square on a blue background', 'a cat on the grass', 'a blue circle'];
const settings = { steps: 30, strength: 0.8, guidance: 3 } as const;

/** Inverted latents of the same image with three prompts, and their edits, run alone. */
async function alone(edict: Edict) {
  const encoded = await edict.encodeImage(image);
  const inverted: Latents[] = [];
  for (const prompt of prompts) inverted.push(await edict.invert(encoded, { prompt, ...settings }));
  const generated: Latents[] = [];
  for (const [i, latents] of inverted.entries()) generated.push((await edict.generate(latents, { prompt: prompts[(i + 1) % 3] })).latents);
  return { encoded, inverted, generated };
}

describe('the sampler registry', () => {
  it('lists every loop kind the API routes to, with what each needs', () => {
    const kinds = addon().samplers;
    expect(kinds.map((k) => k.name).sort()).toEqual(['bdia-generate', 'bdia-invert', 'belm-generate', 'belm-invert', 'ddim-generate', 'ddim-invert', 'edict-generate', 'edict-invert', 'sdedit']);
    expect(kinds.find((k) => k.name === 'edict-invert')).toEqual({ name: 'edict-invert', phase: 'invert', pair: true, noise: false });
    expect(kinds.find((k) => k.name === 'sdedit')).toMatchObject({ pair: false, noise: true });
  });
});

describe('continuous batching', () => {
  it('concurrent calls share UNet calls and, with a float64 UNet, give their results alone to 1e-12', async () => {
    const edict = await load({ dtype: 'float64' });
    const ref = await alone(edict);
    const before = edict.counters();
    const inverted = await Promise.all(prompts.map((prompt) => edict.invert(ref.encoded, { prompt, ...settings })));
    for (let i = 0; i < 3; i++) {
      expect(maxAbsDiff(inverted[i].x, ref.inverted[i].x)).toBeLessThanOrEqual(1e-12);
      expect(maxAbsDiff(inverted[i].y, ref.inverted[i].y)).toBeLessThanOrEqual(1e-12);
    }
    const after = edict.counters();
    // Three calls of one item each, 24 steps of two UNet evaluations: 144 item evaluations,
    // shared (the compute thread may start the first before the others arrive, so the exact
    // split between batches of 1, 2 and 3 is not fixed).
    expect(after.unetItems - before.unetItems).toBe(144);
    expect(after.unetCalls - before.unetCalls).toBeLessThan(144);
    expect((after.batchSizes['3'] ?? 0) - (before.batchSizes['3'] ?? 0)).toBeGreaterThan(0);
    // Generation from the concurrently inverted latents returns each to its encoded latent.
    const generated = await Promise.all(inverted.map((latents, i) => edict.generate(latents, { prompt: prompts[i] })));
    for (const g of generated) expect(maxAbsDiff(g.latents.x, ref.encoded.x)).toBeLessThanOrEqual(1e-12);
  });

  it('float32 UNet: shared results within 1e-5 of alone; bitwise equal with isolate', async () => {
    const edict = await load();
    const ref = await alone(edict);
    const shared = await Promise.all(prompts.map((prompt) => edict.invert(ref.encoded, { prompt, ...settings })));
    const isolated = await Promise.all(prompts.map((prompt) => edict.invert(ref.encoded, { prompt, ...settings, isolate: true })));
    for (let i = 0; i < 3; i++) {
      const error = maxAbsDiff(shared[i].x, ref.inverted[i].x);
      console.info(`float32 UNet, inverted in a shared batch of 3 against alone: ${error.toExponential(2)}`);
      expect(error).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(isolated[i].x, ref.inverted[i].x)).toBe(0);
      expect(maxAbsDiff(isolated[i].y, ref.inverted[i].y)).toBe(0);
    }
  });

  it('a call admitted while another runs joins its UNet calls', async () => {
    const edict = await load();
    const encoded = await edict.encodeImage(image);
    const before = edict.counters();
    let second: Promise<Latents> | null = null;
    const first = edict.invert(encoded, {
      prompt: prompts[0],
      steps: 100,
      strength: 1,
      onProgress: ({ step }) => {
        if (step === 10 && !second) second = edict.invert(encoded, { prompt: prompts[1], steps: 20, strength: 1 });
      },
    });
    await first;
    expect(second).not.toBeNull();
    await second;
    const after = edict.counters();
    // The second call's 40 evaluations all ran inside the first call's UNet calls.
    expect((after.batchSizes['2'] ?? 0) - (before.batchSizes['2'] ?? 0)).toBe(40);
    expect(after.unetCalls - before.unetCalls).toBe(200);
  });

  it('a call cancelled mid-batch leaves the others as if it had never been there (float64)', async () => {
    const edict = await load({ dtype: 'float64' });
    const ref = await alone(edict);
    const controller = new AbortController();
    const calls = prompts.map((prompt, i) =>
      edict.invert(ref.encoded, {
        prompt,
        ...settings,
        signal: i === 1 ? controller.signal : undefined,
        onProgress: i === 1 ? ({ step }) => step === 5 && controller.abort() : undefined,
      }),
    );
    const results = await Promise.allSettled(calls);
    expect(results[1].status).toBe('rejected');
    expect(((results[1] as PromiseRejectedResult).reason as EdictError).code).toBe('ERR_CANCELLED');
    for (const i of [0, 2]) {
      const latents = (results[i] as PromiseFulfilledResult<Latents>).value;
      expect(maxAbsDiff(latents.x, ref.inverted[i].x)).toBeLessThanOrEqual(1e-12);
    }
    expect(edict.counters().cancelled).toBe(1);
  });
});

describe('queue policy', () => {
  it('maxQueue: a sampling call beyond it (queued or running) is refused at once with ERR_OVERLOADED', async () => {
    const edict = await load({ batching: { policy: 'serial', maxQueue: 2 } });
    const encoded = await edict.encodeImage(image);
    const long = { prompt: prompts[0], steps: 200, strength: 1 };
    const running = edict.invert(encoded, long);
    // Let the first call reach the scheduler, then fill the queue's one place.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const queued = edict.invert(encoded, long);
    await new Promise((resolve) => setImmediate(resolve));
    const refused = edict.invert(encoded, long);
    expect(await codeOf(refused)).toBe('ERR_OVERLOADED');
    const error = await refused.catch((e: EdictError) => e);
    expect((error as EdictError).message).toMatch(/2 sampling calls are queued or running \(maxQueue 2\)/);
    await Promise.all([running, queued]);
    expect(edict.counters().rejected).toBe(1);
  });

  it('maxQueue under the continuous policy counts the calls running in the batch', async () => {
    const edict = await load({ batching: { policy: 'continuous', maxQueue: 2 } });
    const encoded = await edict.encodeImage(image);
    const long = { prompt: prompts[0], steps: 200, strength: 1 };
    const running = [edict.invert(encoded, long), edict.invert(encoded, long)];
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(edict.counters().activeCalls).toBe(2);
    expect(await codeOf(edict.invert(encoded, long))).toBe('ERR_OVERLOADED');
    await Promise.all(running);
    expect(edict.counters().activeCalls).toBe(0);
  });

  it('a cancelled call leaves the active count at once, even with nothing else running', async () => {
    const edict = await load();
    const encoded = await edict.encodeImage(image);
    const controller = new AbortController();
    const call = edict.invert(encoded, { prompt: prompts[0], steps: 300, strength: 1, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    expect(await codeOf(call)).toBe('ERR_CANCELLED');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(edict.counters()).toMatchObject({ activeCalls: 0, activeItems: 0, cancelled: 1 });
  });

  it('timeoutMs: ERR_TIMEOUT whether the call is queued or running; the others go on', async () => {
    const edict = await load({ batching: { policy: 'serial' } });
    const encoded = await edict.encodeImage(image);
    const running = edict.invert(encoded, { prompt: prompts[0], steps: 300, strength: 1, timeoutMs: 300 });
    const queued = edict.invert(encoded, { prompt: prompts[1], steps: 10, strength: 1, timeoutMs: 100 });
    const other = edict.invert(encoded, { prompt: prompts[2], steps: 10, strength: 1 });
    const started = performance.now();
    expect(await codeOf(queued)).toBe('ERR_TIMEOUT');
    expect(performance.now() - started).toBeLessThan(250); // rejected while queued, not when admitted
    expect(await codeOf(running)).toBe('ERR_TIMEOUT');
    expect(await other).toBeInstanceOf(Latents);
    expect(edict.counters().timedOut).toBe(2);
  });

  it('priority: a higher-priority call queued last is admitted first', async () => {
    const edict = await load({ batching: { policy: 'serial' } });
    const encoded = await edict.encodeImage(image);
    const order: string[] = [];
    const run = (name: string, priority: number) =>
      edict.invert(encoded, { prompt: prompts[0], steps: 10, strength: 1, priority }).then(() => order.push(name));
    const blocker = edict.invert(encoded, { prompt: prompts[0], steps: 60, strength: 1 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await Promise.all([run('low-1', 0), run('low-2', 0), run('high', 5), blocker]);
    expect(order).toEqual(['high', 'low-1', 'low-2']);
  });
});

describe('admission policies', () => {
  async function runThree(policy: 'continuous' | 'request' | 'serial') {
    const edict = await load({ batching: { policy, maxQueueDelayMs: 50 } });
    const encoded = await edict.encodeImage(image);
    await Promise.all(prompts.map((prompt) => edict.invert(encoded, { prompt, steps: 10, strength: 1 })));
    return edict.counters();
  }

  it('serial runs one call at a time: UNet batches of one item', async () => {
    const c = await runThree('serial');
    expect(c.batchSizes).toEqual({ 1: 60 });
    expect(c).toMatchObject({ admitted: 3, completed: 3, unetCalls: 60, unetItems: 60, rounds: 60, activeCalls: 0, queued: 0 });
  });

  it('request forms one batch of the calls queued together', async () => {
    const c = await runThree('request');
    expect(c.batchSizes).toEqual({ 3: 20 });
    expect(c).toMatchObject({ admitted: 3, completed: 3, unetCalls: 20, unetItems: 60, rounds: 20 });
  });

  it('continuous shares too, and counts queue wait and UNet time', async () => {
    const c = await runThree('continuous');
    expect(c.unetItems).toBe(60);
    expect(c.unetCalls).toBeLessThan(60);
    expect(c.unetSeconds).toBeGreaterThan(0);
    // Rounds hold the UNet calls and the scheduler's own work around them.
    expect(c.roundSeconds).toBeGreaterThan(c.unetSeconds);
    expect(c.queueWaitSeconds).toBeGreaterThanOrEqual(0);
    expect(c).toMatchObject({ admitted: 3, completed: 3, failed: 0, cancelled: 0, timedOut: 0, rejected: 0 });
  });

  it('request: a call arriving after a batch started waits for it to finish', async () => {
    const edict = await load({ batching: { policy: 'request', maxQueueDelayMs: 0 } });
    const encoded = await edict.encodeImage(image);
    let late: Promise<Latents> | null = null;
    await edict.invert(encoded, {
      prompt: prompts[0],
      steps: 40,
      strength: 1,
      onProgress: ({ step }) => {
        if (step === 5 && !late) late = edict.invert(encoded, { prompt: prompts[1], steps: 10, strength: 1 });
      },
    });
    await late;
    expect(edict.counters().batchSizes).toEqual({ 1: 100 });
  });
});
