// Bounds on work size (src/limits.ts): small inputs cannot ask for unbounded compute or memory.
// Working sizes above maxWorkPixels (default 4x the native area), keep-aspect's extreme
// aspects, latents files that are not regular files or whose header is too long, and model.json
// numbers that would allocate gigabytes or overflow the addon's int32 are refused with typed
// errors before anything is allocated.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Edict, EdictError, Latents } from '../src/index.js';
import { tempDir, tinyModel } from './helpers/fixtures.js';
import { scenePng } from './helpers/images.js';

let edict: Edict;
let image: Buffer;
beforeAll(async () => {
  edict = await Edict.load(tinyModel);
  image = await scenePng();
});
afterAll(() => edict.dispose());

async function errorOf(promise: Promise<unknown>): Promise<EdictError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(EdictError);
  return error as EdictError;
}

/** Inverted-looking latents of `height x width` latent pixels for the tiny model (4 channels). */
function latentsOf(height: number, width: number): Latents {
  const zeros = new Float64Array(4 * height * width);
  return new Latents(zeros, zeros, [1, 4, height, width], {
    model: 'tiny-fixture',
    stage: 'inverted',
    method: 'edict',
    prompts: ['a'],
    negativePrompts: [''],
    steps: 4,
    strength: 0.5,
    executed: 2,
    guidance: [3],
    mix: [0.93],
    leapfrog: true,
    imageWidth: width * 4,
    imageHeight: height * 4,
    seed: null,
  });
}

describe('working size (maxWorkPixels, default 4x the native 32x32 = 4096 pixels)', () => {
  it('sample refuses 8x8000000 and 1e6x1e6 at once with ERR_IMAGE_SIZE (no RangeError, no minutes of work)', async () => {
    for (const size of [
      { width: 8, height: 8_000_000 },
      { width: 1_000_000, height: 1_000_000 },
    ]) {
      const started = performance.now();
      const error = await errorOf(edict.sample({ prompt: 'a', steps: 2, size }));
      expect(error.code).toBe('ERR_IMAGE_SIZE');
      expect(error.message).toContain(`${size.width}x${size.height} is ${size.width * size.height} pixels, more than the limit of 4096`);
      expect(error.message).toContain('maxWorkPixels');
      expect(performance.now() - started).toBeLessThan(2000);
    }
  });

  it('an explicit size at the limit runs, one multiple above is refused', async () => {
    const at = await edict.encodeImage(image, { size: { width: 64, height: 64 } });
    expect(at.shape).toEqual([1, 4, 16, 16]);
    expect((await errorOf(edict.encodeImage(image, { size: { width: 72, height: 64 } }))).code).toBe('ERR_IMAGE_SIZE');
    expect((await errorOf(edict.edit(image, { source: 'a', target: 'b', steps: 2, size: { width: 1_000_000, height: 1_000_000 } }))).code).toBe(
      'ERR_IMAGE_SIZE',
    );
  });

  it('maxWorkPixels raises (or lowers) the limit', async () => {
    const larger = await Edict.load(tinyModel, { maxWorkPixels: 128 * 64 });
    try {
      expect((await larger.encodeImage(image, { size: { width: 128, height: 64 } })).shape).toEqual([1, 4, 16, 32]);
      expect((await larger.sample({ prompt: 'a', steps: 2, size: { width: 128, height: 64 } })).images[0].width).toBe(128);
    } finally {
      await larger.dispose();
    }
    const smaller = await Edict.load(tinyModel, { maxWorkPixels: 512 });
    try {
      expect((await errorOf(smaller.encodeImage(image))).message).toMatch(/32x32 is 1024 pixels, more than the limit of 512/);
    } finally {
      await smaller.dispose();
    }
    expect((await errorOf(Edict.load(tinyModel, { maxWorkPixels: 0 }))).code).toBe('ERR_INVALID_OPTION');
  });

  it('keep-aspect turns a 1x1,000,000 PNG into about the native area (8x128), not 8x32000', async () => {
    const tall = await sharp({ create: { width: 1, height: 1_000_000, channels: 3, background: '#808080' } }).png().toBuffer();
    const latents = await edict.encodeImage(tall, { size: 'keep-aspect' });
    expect([latents.params.imageWidth, latents.params.imageHeight]).toEqual([8, 128]);
    const wide = await sharp({ create: { width: 1_000_000, height: 1, channels: 3, background: '#808080' } }).png().toBuffer();
    const w = await edict.encodeImage(wide, { size: 'keep-aspect' });
    expect([w.params.imageWidth, w.params.imageHeight]).toEqual([128, 8]);
  });

  it('latents of a size above the limit are refused before the loop', async () => {
    const error = await errorOf(edict.generate(latentsOf(8, 200), { prompt: 'a' }));
    expect(error.code).toBe('ERR_IMAGE_SIZE');
    expect(error.message).toMatch(/latents of image size 800x32 is 25600 pixels/);
    expect((await edict.generate(latentsOf(8, 8), { prompt: 'a' })).images[0].width).toBe(32);
  });
});

describe('latents files are read with bounds', () => {
  it('Latents.load refuses /dev/zero, a FIFO and a folder at once (not a regular file)', async () => {
    const dir = tempDir();
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    for (const path of ['/dev/zero', join(dir, 'fifo'), dir]) {
      const error = await errorOf(Latents.load(path));
      expect(error.code).toBe('ERR_LATENTS_FILE');
      expect(error.message).toMatch(/not a regular file/);
    }
  });

  it('a header length over the cap (100 MB) or past the end is refused before reading on', async () => {
    const dir = tempDir();
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(2n ** 40n, 0);
    writeFileSync(join(dir, 'huge.safetensors'), huge);
    const error = await errorOf(Latents.load(join(dir, 'huge.safetensors')));
    expect(error.code).toBe('ERR_LATENTS_FILE');
    expect(error.message).toMatch(/header length 1099511627776 is over the limit of 100000000 bytes/);
    const past = Buffer.alloc(16);
    past.writeBigUInt64LE(1000n, 0);
    writeFileSync(join(dir, 'past.safetensors'), past);
    expect((await errorOf(Latents.load(join(dir, 'past.safetensors')))).message).toMatch(/header length 1000 does not fit the file \(16 bytes\)/);
  });

  it('a header entry that is not an object ("x": null) is ERR_LATENTS_FILE, not a TypeError', async () => {
    const header = Buffer.from(JSON.stringify({ __metadata__: { format: 'edict-latents' }, x: null }));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length), 0);
    const path = join(tempDir(), 'null.safetensors');
    writeFileSync(path, Buffer.concat([length, header]));
    const error = await errorOf(Latents.load(path));
    expect(error.code).toBe('ERR_LATENTS_FILE');
    expect(error.message).toMatch(/entry x is null, expected an object/);
  });
});

describe('model.json numbers are bounded', () => {
  function modelWith(edit: (manifest: Record<string, any>) => void): string {
    const dir = join(tempDir('edict-model-'), 'model');
    cpSync(tinyModel, dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    edit(manifest);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(manifest));
    return dir;
  }

  it.each<[string, (m: Record<string, any>) => void, RegExp]>([
    ['numTrainTimesteps 2e9 (16 GB of schedule)', (m) => (m.scheduler.numTrainTimesteps = 2e9), /scheduler\.numTrainTimesteps: .*<=\s?100000 .*got 2000000000/],
    ['latent.channels 2^31', (m) => (m.latent.channels = 2 ** 31), /latent\.channels: .*<=\s?1024 .*got 2147483648/],
    ['text.maxLength 2^31', (m) => (m.text.maxLength = 2 ** 31), /text\.maxLength: .*<=\s?4096/],
    ['text.hiddenSize 2^31', (m) => (m.text.hiddenSize = 2 ** 31), /text\.hiddenSize: .*<=\s?65536/],
    ['text.padId 2^31', (m) => (m.text.padId = 2 ** 31), /text\.padId: .*<=\s?2147483647/],
    ['image.width 2^20', (m) => (m.image.width = 2 ** 20), /image\.width: .*<=\s?8192/],
  ])('%s is ERR_MODEL_MANIFEST', async (_, edit, message) => {
    const error = await errorOf(Edict.load(modelWith(edit)));
    expect(error.code).toBe('ERR_MODEL_MANIFEST');
    expect(error.message).toMatch(message);
  });
});
