import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { EdictError, TorchModule } from '../src/index.js';
import { addon } from '../src/native.js';
import { seededFloats, tempDir, tinyModel } from './helpers/fixtures.js';

const component = (name: string) => join(tinyModel, name);

function ids(batch: number, length: number): BigInt64Array {
  const out = new BigInt64Array(batch * length);
  for (let i = 0; i < out.length; i++) out[i] = BigInt((i * 7) % 40);
  return out;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<EdictError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected rejection with ${code}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EdictError);
  expect((error as EdictError).code).toBe(code);
  return error as EdictError;
}

describe('TorchModule: loading and running the fixture components', () => {
  it('runs the text encoder on token ids', async () => {
    const encoder = await TorchModule.load(component('text_encoder.pt'));
    expect(encoder.device).toBe('cpu');
    expect(encoder.dtype).toBe('float32');
    const out = await encoder.forward([{ data: ids(2, 12), shape: [2, 12] }]);
    expect(out.shape).toEqual([2, 12, 32]);
    expect(out.data).toBeInstanceOf(Float32Array);
    const values = Array.from(out.data as Float32Array);
    expect(values.every(Number.isFinite)).toBe(true);
    // Different prompts give different states (the encoder really reads its input).
    expect(values.slice(0, 12 * 32)).not.toEqual(values.slice(12 * 32));
  });

  it('runs the UNet with a timestep and text states, and both matter', async () => {
    const unet = await TorchModule.load(component('unet.pt'));
    const sample = { data: seededFloats(2 * 4 * 8 * 8, 1), shape: [2, 4, 8, 8] };
    const states = { data: seededFloats(2 * 12 * 32, 2), shape: [2, 12, 32] };
    const t = (a: number, b: number) => ({ data: new BigInt64Array([BigInt(a), BigInt(b)]), shape: [2] });
    const base = await unet.forward([sample, t(981, 981), states]);
    expect(base.shape).toEqual([2, 4, 8, 8]);
    const otherTime = await unet.forward([sample, t(1, 1), states]);
    const otherText = await unet.forward([sample, t(981, 981), { ...states, data: seededFloats(2 * 12 * 32, 3) }]);
    const maxDiff = (a: Float32Array, b: Float32Array) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    expect(maxDiff(base.data as Float32Array, otherTime.data as Float32Array)).toBeGreaterThan(1e-3);
    expect(maxDiff(base.data as Float32Array, otherText.data as Float32Array)).toBeGreaterThan(1e-4);
  });

  it('runs the VAE encoder and decoder at two sizes', async () => {
    const encoder = await TorchModule.load(component('vae_encoder.pt'));
    const decoder = await TorchModule.load(component('vae_decoder.pt'));
    for (const [h, w] of [
      [32, 32],
      [16, 48],
    ]) {
      const moments = await encoder.forward([{ data: seededFloats(3 * h * w, 4), shape: [1, 3, h, w] }]);
      expect(moments.shape).toEqual([1, 8, h / 4, w / 4]);
      const image = await decoder.forward([{ data: seededFloats(4 * (h / 4) * (w / 4), 5), shape: [1, 4, h / 4, w / 4] }]);
      expect(image.shape).toEqual([1, 3, h, w]);
      expect(Math.max(...(image.data as Float32Array).map(Math.abs))).toBeLessThanOrEqual(1);
    }
  });

  it('casts a module to float64 and agrees with float32', async () => {
    const f32 = await TorchModule.load(component('unet.pt'), { dtype: 'float32' });
    const f64 = await TorchModule.load(component('unet.pt'), { dtype: 'float64' });
    const inputs = [
      { data: seededFloats(4 * 8 * 8, 6), shape: [1, 4, 8, 8] },
      { data: new BigInt64Array([500n]), shape: [1] },
      { data: seededFloats(12 * 32, 7), shape: [1, 12, 32] },
    ];
    const a = await f32.forward(inputs);
    const b = await f64.forward(inputs);
    expect(b.data).toBeInstanceOf(Float64Array);
    const diff = Math.max(...(a.data as Float32Array).map((v, i) => Math.abs(v - (b.data as Float64Array)[i])));
    expect(diff).toBeGreaterThan(0); // really computed in another precision
    expect(diff).toBeLessThan(1e-4);
  });
});

describe('TorchModule: errors reach JS with stable codes', () => {
  it('a missing file is ERR_MODEL_FILE_MISSING', async () => {
    await expectCode(TorchModule.load('/nonexistent/unet.pt'), 'ERR_MODEL_FILE_MISSING');
  });

  it('a corrupt file is ERR_MODEL_CORRUPT', async () => {
    const path = join(tempDir(), 'corrupt.pt');
    writeFileSync(path, Buffer.from('this is not a zip archive of TorchScript'));
    const error = await expectCode(TorchModule.load(path), 'ERR_MODEL_CORRUPT');
    expect(error.message).toContain(path);
  });

  it('a wrong input shape is ERR_COMPONENT_FAILED, and the module still works after', async () => {
    const unet = await TorchModule.load(component('unet.pt'));
    const wrong = [
      { data: seededFloats(3 * 8 * 8, 1), shape: [1, 3, 8, 8] }, // 3 channels, model wants 4
      { data: new BigInt64Array([10n]), shape: [1] },
      { data: seededFloats(12 * 32, 2), shape: [1, 12, 32] },
    ];
    await expectCode(unet.forward(wrong), 'ERR_COMPONENT_FAILED');
    const right = [{ ...wrong[0], data: seededFloats(4 * 8 * 8, 1), shape: [1, 4, 8, 8] }, wrong[1], wrong[2]];
    expect((await unet.forward(right)).shape).toEqual([1, 4, 8, 8]);
  });

  it('data that does not fit its shape is ERR_INVALID_ARGUMENT', async () => {
    const unet = await TorchModule.load(component('unet.pt'));
    await expect(unet.forward([{ data: new Float32Array(5), shape: [1, 4, 8, 8] }])).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  it('devices: unknown names and CUDA on a CPU-only libtorch', async () => {
    await expectCode(TorchModule.load(component('unet.pt'), { device: 'tpu' as never }), 'ERR_UNKNOWN_DEVICE');
    // The C++ side validates too (the TS check can be bypassed by calling the addon).
    await expect(addon().loadModule(component('unet.pt'), { device: 'gpu:0' })).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_DEVICE',
    });
    const info = await addon().info();
    if (!info.cuda) {
      await expectCode(TorchModule.load(component('unet.pt'), { device: 'cuda' }), 'ERR_CUDA_UNAVAILABLE');
    }
  });
});

describe('the compute thread', () => {
  it('keeps the event loop running while native work runs', async () => {
    const unet = await TorchModule.load(component('unet.pt'));
    const batch = 64;
    const inputs = [
      { data: seededFloats(batch * 4 * 64 * 64, 8), shape: [batch, 4, 64, 64] },
      { data: new BigInt64Array(batch).fill(500n), shape: [batch] },
      { data: seededFloats(batch * 12 * 32, 9), shape: [batch, 12, 32] },
    ];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const pending = unet.forward(inputs);
    let settled = false;
    void pending.finally(() => (settled = true));
    // The timer must fire while the call is still in flight.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const ticksWhilePending = ticks;
    expect(settled).toBe(false);
    await pending;
    clearInterval(timer);
    expect(ticksWhilePending).toBeGreaterThanOrEqual(3);
    expect(performance.now() - started).toBeGreaterThan(50);
  });

  it('runs calls in submission order and all of them settle', async () => {
    const encoder = await TorchModule.load(component('text_encoder.pt'));
    const order: number[] = [];
    const calls = Array.from({ length: 20 }, (_, i) =>
      encoder.forward([{ data: ids(1, 12), shape: [1, 12] }]).then((out) => {
        order.push(i);
        return out;
      }),
    );
    const results = await Promise.all(calls);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (const r of results) expect(Array.from(r.data as Float32Array)).toEqual(Array.from(results[0].data as Float32Array));
  });
});
