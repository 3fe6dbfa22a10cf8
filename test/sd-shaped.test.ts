// A model folder with Stable Diffusion 1.x's calling convention and shapes (random weights):
// CLIP-layout BPE tokenizer, 77x768 text states, 4 latent channels, 8x VAE down-sampling.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Edict } from '../src/index.js';
import { fixturesDir } from './helpers/fixtures.js';
import { scenePng } from './helpers/images.js';

const dir = join(fixturesDir, 'sd-shaped');

describe('an SD-shaped model folder', () => {
  let edict: Edict;
  let image: Buffer;
  beforeAll(async () => {
    edict = await Edict.load(dir);
    image = await scenePng(96, 64);
  });
  afterAll(() => edict.dispose());

  it('tokenizes with the CLIP BPE layout: <|startoftext|> ... <|endoftext|>, padded to 77', async () => {
    const vocab = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')).model.vocab as Record<string, number>;
    const encoded = await edict.encodePrompt('A photo of a CAT');
    expect(encoded.ids.shape).toEqual([1, 77]);
    expect(encoded.embeddings.shape).toEqual([1, 77, 768]);
    const ids = Array.from(encoded.ids.data, Number);
    const expected = ['<|startoftext|>', 'a</w>', 'photo</w>', 'of</w>', 'a</w>', 'cat</w>', '<|endoftext|>'].map((t) => vocab[t]);
    expect(ids.slice(0, 7)).toEqual(expected);
    expect(new Set(ids.slice(7))).toEqual(new Set([vocab['<|endoftext|>']]));
  });

  it('edits at a small size the model accepts (multiples of 64), batching two targets', async () => {
    const result = await edict.edit(image, {
      source: 'a photo of a cat',
      target: ['a photo of a dog', 'a cat'],
      steps: 6,
      size: { width: 128, height: 64 },
    });
    expect(result.inverted?.shape).toEqual([1, 4, 8, 16]);
    expect(result.images.map((i) => [i.width, i.height])).toEqual([
      [128, 64],
      [128, 64],
    ]);
  });

  it('keep-aspect picks sides in multiples of 64 around the native 512x512 area', async () => {
    const latents = await edict.encodeImage(image, { size: 'keep-aspect' });
    expect([latents.params.imageWidth, latents.params.imageHeight]).toEqual([640, 448]);
    expect(latents.shape).toEqual([1, 4, 56, 80]);
  });

  it('round-trips exactly with a float64 UNet', async () => {
    const f64 = await Edict.load(dir, { dtype: 'float64' });
    const r = await f64.reconstruct(image, { prompt: 'a photo of a cat', steps: 10, size: { width: 64, height: 64 } });
    expect(r.latentMaxAbsError).toBeLessThanOrEqual(1e-12);
    await f64.dispose();
  });
});
