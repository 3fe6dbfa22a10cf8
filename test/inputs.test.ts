// Bad input gets a typed error with a stable code; images of every kind are accepted;
// latents survive a trip through a .safetensors file bit for bit.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Edict, EdictError, Latents } from '../src/index.js';
import { tempDir, tinyModel } from './helpers/fixtures.js';
import { codeOf } from './helpers/errors.js';
import { scenePng } from './helpers/images.js';

let edict: Edict;
let image: Buffer;
beforeAll(async () => {
  edict = await Edict.load(tinyModel);
  image = await scenePng();
});
afterAll(() => edict.dispose());

/** A copy of the tiny model with its manifest edited (or a file replaced). */
function brokenModel(edit: (manifest: Record<string, any>) => void, files: Record<string, Buffer | string> = {}): string {
  const dir = join(tempDir('edict-model-'), 'model');
  cpSync(tinyModel, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  edit(manifest);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(manifest));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

describe('bad model folders', () => {
  it.each<[string, () => string, string, RegExp]>([
    ['a missing folder', () => '/nonexistent/model', 'ERR_MODEL_NOT_FOUND', /model folder not found/],
    ['a folder without model.json', () => tempDir(), 'ERR_MODEL_NOT_FOUND', /no model\.json/],
    [
      'model.json that is not JSON',
      () => {
        const dir = brokenModel(() => {});
        writeFileSync(join(dir, 'model.json'), '{ not json');
        return dir;
      },
      'ERR_MODEL_MANIFEST',
      /not valid JSON/,
    ],
    ['a missing field', () => brokenModel((m) => delete m.scheduler.betaEnd), 'ERR_MODEL_MANIFEST', /scheduler\.betaEnd: .*missing/],
    ['a field of the wrong type', () => brokenModel((m) => (m.latent.channels = '4')), 'ERR_MODEL_MANIFEST', /latent\.channels: .*got "4"/],
    ['an unknown prediction type', () => brokenModel((m) => (m.scheduler.predictionType = 'sample')), 'ERR_MODEL_MANIFEST', /predictionType/],
    ['a missing component file', () => brokenModel((m) => (m.components.unet = 'nope.pt')), 'ERR_MODEL_FILE_MISSING', /components\.unet/],
    ['a corrupt TorchScript file', () => brokenModel(() => {}, { 'unet.pt': 'garbage' }), 'ERR_MODEL_CORRUPT', /UNet: not a loadable TorchScript/],
    ['a broken tokenizer.json', () => brokenModel(() => {}, { 'tokenizer.json': '{"model": 3}' }), 'ERR_TOKENIZER', /tokenizer/],
  ])('%s', async (_, make, code, message) => {
    const error = await Edict.load(make()).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(EdictError);
    expect((error as EdictError).code).toBe(code);
    expect((error as EdictError).message).toMatch(message);
  });

  it('a component whose output has the wrong shape is ERR_COMPONENT_OUTPUT', async () => {
    const wrong = await Edict.load(brokenModel((m) => (m.text.hiddenSize = 64)));
    const error = await wrong.edit(image, { source: 'a', target: 'b', steps: 2 }).then(() => null, (e: unknown) => e);
    expect((error as EdictError).code).toBe('ERR_COMPONENT_OUTPUT');
    expect((error as EdictError).message).toMatch(/text encoder returned shape \[1, 12, 32\], expected \[1, 12, 64\]/);
    await wrong.dispose();
  });
});

describe('bad options', () => {
  const base = { source: 'a cat', target: 'a dog', steps: 4 };
  it.each<[string, Record<string, unknown>, string]>([
    ['empty source', { source: '' }, 'ERR_PROMPT'],
    ['blank target', { target: '   ' }, 'ERR_PROMPT'],
    ['empty target list', { target: [] }, 'ERR_PROMPT'],
    ['non-string target', { target: 5 }, 'ERR_PROMPT'],
    ['missing source', { source: undefined }, 'ERR_PROMPT'],
    ['steps 0', { steps: 0 }, 'ERR_INVALID_OPTION'],
    ['fractional steps', { steps: 1.5 }, 'ERR_INVALID_OPTION'],
    ['strength 0', { strength: 0 }, 'ERR_INVALID_OPTION'],
    ['strength above 1', { strength: 1.5 }, 'ERR_INVALID_OPTION'],
    ['strength that runs no step', { steps: 50, strength: 0.01 }, 'ERR_INVALID_OPTION'],
    ['steps beyond the schedule (1000 steps, offset 1)', { steps: 1000 }, 'ERR_INVALID_OPTION'],
    ['mix 0', { mix: 0 }, 'ERR_INVALID_OPTION'],
    ['mix above 1', { mix: 1.2 }, 'ERR_INVALID_OPTION'],
    ['negative guidance', { guidance: -1 }, 'ERR_INVALID_OPTION'],
    ['NaN guidance', { guidance: Number.NaN }, 'ERR_INVALID_OPTION'],
    ['infinite guidance', { guidance: Number.POSITIVE_INFINITY }, 'ERR_INVALID_OPTION'],
    ['unknown method', { method: 'magic' }, 'ERR_INVALID_OPTION'],
    ['a non-boolean leapfrog', { leapfrog: 'yes' }, 'ERR_INVALID_OPTION'],
    ['a non-signal signal', { signal: {} }, 'ERR_INVALID_OPTION'],
    ['a size that is not a multiple of 8', { size: { width: 30, height: 32 } }, 'ERR_IMAGE_SIZE'],
  ])('%s', async (_, change, code) => {
    expect(await codeOf(edict.edit(image, { ...base, ...change } as never))).toBe(code);
  });

  it('names the option, the rule and the value in the message', async () => {
    const error = await edict.edit(image, { ...base, strength: 1.5 }).then(() => null, (e: EdictError) => e);
    expect(error?.message).toBe('edit: option strength: must be in (0, 1] (got 1.5)');
  });

  it('prints NaN and Infinity as themselves, not as JSON\'s null', async () => {
    for (const [value, shown] of [
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
    ] as const) {
      const error = await edict.edit(image, { ...base, guidance: value }).then(() => null, (e: EdictError) => e);
      expect(error?.message).toMatch(new RegExp(`^edit: option guidance: .*\\(got ${shown}\\)$`));
    }
  });

  it('rejects non-object options', async () => {
    expect(await codeOf(edict.edit(image, null as never))).toBe('ERR_INVALID_OPTION');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an unknown device', { device: 'tpu' }, 'ERR_UNKNOWN_DEVICE'],
    ['a device index', { device: 'cuda:x' }, 'ERR_UNKNOWN_DEVICE'],
    ['an unknown dtype', { dtype: 'float8' }, 'ERR_UNSUPPORTED_DTYPE'],
    ['zero threads', { threads: 0 }, 'ERR_INVALID_OPTION'],
  ])('load with %s', async (_, options, code) => {
    expect(await codeOf(Edict.load(tinyModel, options as never))).toBe(code);
  });

  it('load on CUDA without CUDA is ERR_CUDA_UNAVAILABLE', async () => {
    const { runtimeInfo } = await import('../src/index.js');
    if ((await runtimeInfo()).cuda) return;
    expect(await codeOf(Edict.load(tinyModel, { device: 'cuda' }))).toBe('ERR_CUDA_UNAVAILABLE');
  });
});

describe('images', () => {
  it.each<[string, () => Promise<unknown>, string]>([
    ['undecodable bytes', async () => Buffer.from('definitely not an image'), 'ERR_IMAGE_DECODE'],
    ['a missing file', async () => '/nonexistent/image.png', 'ERR_IMAGE_DECODE'],
    ['raw pixels of the wrong length', async () => ({ data: new Uint8Array(10), width: 4, height: 4, channels: 3 }), 'ERR_IMAGE_DECODE'],
    ['an object that is no image', async () => ({ foo: 1 }), 'ERR_IMAGE_DECODE'],
  ])('%s', async (_, make, code) => {
    expect(await codeOf(edict.encodeImage((await make()) as never))).toBe(code);
  });

  it('refuses images above the pixel limit', async () => {
    const limited = await Edict.load(tinyModel, { maxPixels: 1000 });
    expect(await codeOf(limited.encodeImage(image))).toBe('ERR_IMAGE_TOO_LARGE');
    const raw = { data: new Uint8Array(40 * 40 * 3), width: 40, height: 40, channels: 3 as const };
    expect(await codeOf(limited.encodeImage(raw))).toBe('ERR_IMAGE_TOO_LARGE');
    await limited.dispose();
  });

  it('accepts a path, a Buffer, a sharp instance and raw pixels alike', async () => {
    const dir = tempDir();
    const path = join(dir, 'in.png');
    writeFileSync(path, image);
    const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
    const inputs = [path, image, sharp(image), { data, width: info.width, height: info.height, channels: info.channels as 3 }];
    const latents = await Promise.all(inputs.map((input) => edict.encodeImage(input)));
    for (const l of latents) expect(l.x).toEqual(latents[0].x);
  });

  it('composites alpha over white and makes grayscale RGB', async () => {
    const transparent = await sharp({ create: { width: 32, height: 32, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    const white = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#ffffff' } }).png().toBuffer();
    expect((await edict.encodeImage(transparent)).x).toEqual((await edict.encodeImage(white)).x);
    const gray = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } }).grayscale().png().toBuffer();
    const rgbGray = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } }).png().toBuffer();
    expect((await edict.encodeImage(gray)).x).toEqual((await edict.encodeImage(rgbGray)).x);
  });

  it('applies EXIF orientation', async () => {
    const tall = await sharp(await scenePng(32, 64)).png().toBuffer();
    // The same pixels stored sideways with orientation 6 (rotate 90 clockwise to display).
    const sideways = await sharp(tall).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 100 }).toBuffer();
    const a = await edict.encodeImage(tall, { size: 'keep-aspect' });
    const b = await edict.encodeImage(sideways, { size: 'keep-aspect' });
    expect(a.shape).toEqual(b.shape);
    expect(a.params.imageHeight).toBeGreaterThan(a.params.imageWidth);
  });

  it('sizes: native crops to the model size, keep-aspect keeps the shape, explicit sizes are honoured', async () => {
    const wide = await scenePng(96, 48);
    const native = await edict.encodeImage(wide);
    expect([native.params.imageWidth, native.params.imageHeight]).toEqual([32, 32]);
    const keep = await edict.encodeImage(wide, { size: 'keep-aspect' });
    expect([keep.params.imageWidth, keep.params.imageHeight]).toEqual([48, 24]);
    expect(keep.shape).toEqual([1, 4, 6, 12]);
    const explicit = await edict.encodeImage(wide, { size: { width: 64, height: 16 } });
    expect(explicit.shape).toEqual([1, 4, 4, 16]);
  });
});

describe('latents files', () => {
  it('invert -> save -> load -> generate equals the in-process result bit for bit', async () => {
    const dir = tempDir();
    const inverted = await edict.invert(image, { prompt: 'a red square', steps: 12 });
    await inverted.save(join(dir, 'z.safetensors'));
    const loaded = await Latents.load(join(dir, 'z.safetensors'));
    expect(loaded.x).toEqual(inverted.x);
    expect(loaded.y).toEqual(inverted.y);
    expect(loaded.params).toEqual(inverted.params);
    const a = await edict.generate(inverted, { prompt: 'a blue square' });
    const b = await edict.generate(loaded, { prompt: 'a blue square' });
    expect(Buffer.from(b.latents.x.buffer).equals(Buffer.from(a.latents.x.buffer))).toBe(true);
    expect(Buffer.from(b.images[0].data).equals(Buffer.from(a.images[0].data))).toBe(true);
  });

  it('writes the safetensors layout Python reads: header, F64 x and y, metadata', async () => {
    const inverted = await edict.invert(image, { prompt: 'a red square', steps: 4 });
    const bytes = inverted.toSafeTensors();
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString());
    expect(header.x).toEqual({ dtype: 'F64', shape: [1, 4, 8, 8], data_offsets: [0, 2048] });
    expect(header.y.data_offsets).toEqual([2048, 4096]);
    expect(header.__metadata__.format).toBe('edict-latents');
    expect(JSON.parse(header.__metadata__.params).prompts).toEqual(['a red square']);
    expect(bytes.length).toBe(8 + headerLength + 4096);
  });

  it.each<[string, (bytes: Buffer) => Buffer]>([
    ['a truncated file', (b) => b.subarray(0, b.length - 100)],
    ['a header that is not JSON', (b) => Buffer.concat([b.subarray(0, 8), Buffer.from('x'.repeat(Number(b.readBigUInt64LE(0)))), b.subarray(8 + Number(b.readBigUInt64LE(0)))])],
    ['four bytes', () => Buffer.from([1, 2, 3, 4])],
  ])('refuses %s with ERR_LATENTS_FILE', async (_, damage) => {
    const dir = tempDir();
    const inverted = await edict.invert(image, { prompt: 'a', steps: 2 });
    const path = join(dir, 'bad.safetensors');
    writeFileSync(path, damage(inverted.toSafeTensors()));
    expect(await codeOf(Latents.load(path))).toBe('ERR_LATENTS_FILE');
  });

  it('refuses latents of another model shape and of the wrong stage', async () => {
    const encoded = await edict.encodeImage(image);
    expect(await codeOf(edict.generate(encoded, { prompt: 'a dog' }))).toBe('ERR_INVALID_OPTION');
    const wrong = new Latents(new Float64Array(3 * 64), new Float64Array(3 * 64), [1, 3, 8, 8], { ...encoded.params });
    expect(await codeOf(edict.invert(wrong, { prompt: 'a dog' }))).toBe('ERR_LATENTS_FILE');
  });

  it('never leaves a half-written file when the target folder is missing', async () => {
    const inverted = await edict.invert(image, { prompt: 'a', steps: 2 });
    const dir = tempDir();
    mkdirSync(join(dir, 'sub'));
    expect(await codeOf(inverted.save(join(dir, 'missing', 'z.safetensors')))).toBe('ERR_IO');
  });
});

describe('Latents.concat', () => {
  it('joins inverted latents into one batch that generates like the parts', async () => {
    const a = await edict.invert(image, { prompt: 'a red square', steps: 8 });
    const b = await edict.invert(image, { prompt: 'a cat', steps: 8, guidance: 5 });
    const both = Latents.concat([a, b]);
    expect(both.shape).toEqual([2, 4, 8, 8]);
    expect(both.params.prompts).toEqual(['a red square', 'a cat']);
    expect(both.params.guidance).toEqual([3, 5]);
    expect(both.item(1).x).toEqual(b.x);
    const other = await edict.invert(image, { prompt: 'a', steps: 9 });
    expect(() => Latents.concat([a, other])).toThrow(/differ/);
  });
});
