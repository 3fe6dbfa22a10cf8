// Latents are checked when they are made, with the options' ranges: a constructed Latents with
// impossible params is ERR_INVALID_ARGUMENT, a file carrying them ERR_LATENTS_FILE, both naming
// the field, before anything reaches the addon (which threw plain Errors, or ran guidance -5).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { EdictError, Latents, type LatentParams, type LatentShape } from '../src/index.js';
import { encodeSafeTensors } from '../src/safetensors.js';
import { tempDir } from './helpers/fixtures.js';

const inverted: LatentParams = {
  model: 'test',
  stage: 'inverted',
  method: 'edict',
  prompts: ['a red circle'],
  negativePrompts: [''],
  steps: 10,
  strength: 0.8,
  executed: 8,
  guidance: [3],
  mix: [0.93],
  leapfrog: true,
  imageWidth: 8,
  imageHeight: 8,
  seed: null,
};
const encoded: LatentParams = { ...inverted, stage: 'encoded', method: null, prompts: [], negativePrompts: [], strength: 1, executed: 0, guidance: [], mix: [] };

const zeros = (shape: number[]) => new Float64Array(shape.reduce((a, b) => a * b, 1));

/** [what, shape, params, the field the message must name] */
const bad: [string, LatentShape, LatentParams, RegExp][] = [
  ['mix 0', [1, 4, 2, 2], { ...inverted, mix: [0] }, /params\.mix\.0: must be in \(0, 1\] \(got 0\)/],
  ['mix above 1', [1, 4, 2, 2], { ...inverted, mix: [1.5] }, /params\.mix\.0/],
  ['executed 0 for inverted latents', [1, 4, 2, 2], { ...inverted, executed: 0 }, /params\.executed: must be in \[1, steps = 10\]/],
  ['executed above steps', [1, 4, 2, 2], { ...inverted, executed: 11 }, /params\.executed: must be in \[1, steps = 10\]/],
  ['guidance -5', [1, 4, 2, 2], { ...inverted, guidance: [-5] }, /params\.guidance\.0: must be >= 0 \(got -5\)/],
  ['guidance above the options\' 100', [1, 4, 2, 2], { ...inverted, guidance: [101] }, /params\.guidance\.0: must be <= 100/],
  ['NaN guidance', [1, 4, 2, 2], { ...inverted, guidance: [Number.NaN] }, /params\.guidance\.0/],
  ['steps 0', [1, 4, 2, 2], { ...inverted, steps: 0, executed: 0 }, /params\.steps/],
  ['steps above 1000', [1, 4, 2, 2], { ...inverted, steps: 1001 }, /params\.steps/],
  ['strength 0', [1, 4, 2, 2], { ...inverted, strength: 0 }, /params\.strength/],
  ['a negative seed', [1, 4, 2, 2], { ...inverted, seed: -1 }, /params\.seed/],
  ['a batch of 0', [0, 4, 2, 2], inverted, /shape\.0: must be > 0 \(got 0\)/],
  ['a fractional side', [1, 4, 2, 2.5], inverted, /shape\.3: must be an integer/],
  ['two prompts for one item', [1, 4, 2, 2], { ...inverted, prompts: ['a', 'b'] }, /params\.prompts: must have one value per item \(1\) or one for all, has 2/],
  ['no guidance for inverted latents', [2, 4, 2, 2], { ...inverted, guidance: [] }, /params\.guidance: must have one value per item \(2\)/],
  ['an unknown stage', [1, 4, 2, 2], { ...inverted, stage: 'cooked' as never }, /params\.stage/],
];

describe('Latents params', () => {
  it.each(bad)('the constructor refuses %s with ERR_INVALID_ARGUMENT', (_, shape, params, message) => {
    let error: unknown;
    try {
      new Latents(zeros(shape), zeros(shape), shape, params);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EdictError);
    expect((error as EdictError).code).toBe('ERR_INVALID_ARGUMENT');
    expect((error as EdictError).message).toMatch(message);
  });

  // (A fractional side is already refused by the safetensors reader.)
  it.each(bad.filter(([what]) => what !== 'a fractional side'))('a file with %s is ERR_LATENTS_FILE', async (_, shape, params, message) => {
    const path = join(tempDir(), 'bad.safetensors');
    const tensor = { dtype: 'F64' as const, shape: [...shape], data: zeros(shape) };
    writeFileSync(path, encodeSafeTensors({ tensors: { x: tensor, y: tensor }, metadata: { format: 'edict-latents', version: '1', params: JSON.stringify(params) } }));
    const error = await Latents.load(path).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EdictError);
    expect((error as EdictError).code).toBe('ERR_LATENTS_FILE');
    expect((error as EdictError).message).toMatch(message);
  });

  it('accepts what the API makes: encoded latents (executed 0, no per-item lists) and one value for a batch', () => {
    expect(new Latents(zeros([2, 4, 2, 2]), zeros([2, 4, 2, 2]), [2, 4, 2, 2], encoded).params.executed).toBe(0);
    const batch = new Latents(zeros([3, 4, 2, 2]), zeros([3, 4, 2, 2]), [3, 4, 2, 2], { ...inverted, executed: 10, guidance: [0, 100, 3], mix: [1] });
    expect(batch.item(1).params.guidance).toEqual([100]);
    expect(batch.repeat(2).params.guidance).toEqual([0, 100, 3, 0, 100, 3]);
    expect(batch.repeat(2).params.mix).toEqual([1]);
  });

  it('refuses x and y that are not Float64Arrays', () => {
    expect(() => new Latents(new Float32Array(16) as never, zeros([1, 4, 2, 2]), [1, 4, 2, 2], inverted)).toThrow(/Float64Array/);
  });
});
