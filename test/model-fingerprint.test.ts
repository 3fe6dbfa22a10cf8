// Latents record the fingerprint of the model that made them, and another model refuses them
// with ERR_MODEL_MISMATCH unless told to allow it (only the channel count was checked: latents
// of any 4-channel model ran through any other, meaning nothing).
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Edict, EdictError, Latents, loadManifest } from '../src/index.js';
import { modelFingerprint } from '../src/fingerprint.js';
import { ensureBuilt, runCli } from './cli-helpers.js';
import { tempDir, tinyModel } from './helpers/fixtures.js';
import { codeOf } from './helpers/errors.js';

/** The tiny fixture with two vocabulary ids swapped: another model of the same shape. */
function otherModel(): string {
  const dir = join(tempDir('edict-other-model-'), 'model');
  cpSync(tinyModel, dir, { recursive: true });
  const tokenizer = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  const vocab = tokenizer.model.vocab as Record<string, number>;
  const [a, b] = Object.keys(vocab).filter((w) => !w.startsWith('['));
  [vocab[a], vocab[b]] = [vocab[b], vocab[a]];
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  return dir;
}

const image = { data: new Uint8Array(32 * 32 * 3).map((_, i) => (i * 37) % 256), width: 32, height: 32, channels: 3 as const };
const invertOptions = { prompt: 'a red square', steps: 6 };

let own: Edict;
let other: Edict;
let otherDir: string;
let inverted: Latents;

beforeAll(async () => {
  otherDir = otherModel();
  own = await Edict.load(tinyModel);
  other = await Edict.load(otherDir);
  inverted = await own.invert(image, invertOptions);
});

afterAll(async () => {
  await own?.dispose();
  await other?.dispose();
});

describe('model fingerprint', () => {
  it('names the folder contents: stable across loads, different for another model', () => {
    expect(own.fingerprint).toMatch(/^[0-9a-f]{32}$/);
    expect(modelFingerprint(loadManifest(tinyModel))).toBe(own.fingerprint);
    expect(other.fingerprint).not.toBe(own.fingerprint);
  });

  it('is recorded in every latents a pipeline makes, and survives a file', async () => {
    expect(inverted.params.modelFingerprint).toBe(own.fingerprint);
    expect((await own.encodeImage(image)).params.modelFingerprint).toBe(own.fingerprint);
    expect((await own.generate(inverted, { prompt: 'a blue square' })).latents.params.modelFingerprint).toBe(own.fingerprint);
    expect((await own.sample({ prompt: 'a red square', steps: 2 })).latents.params.modelFingerprint).toBe(own.fingerprint);
    const path = join(tempDir(), 'z.safetensors');
    await inverted.save(path);
    expect((await Latents.load(path)).params.modelFingerprint).toBe(own.fingerprint);
  });

  it("another model's latents are refused by generate, invert, reconstruct and decodeLatents", async () => {
    const encoded = await own.encodeImage(image);
    expect(await codeOf(other.generate(inverted, { prompt: 'a blue square' }))).toBe('ERR_MODEL_MISMATCH');
    expect(await codeOf(other.invert(encoded, invertOptions))).toBe('ERR_MODEL_MISMATCH');
    expect(await codeOf(other.reconstruct(encoded, invertOptions))).toBe('ERR_MODEL_MISMATCH');
    expect(await codeOf(other.decodeLatents(encoded))).toBe('ERR_MODEL_MISMATCH');
    const error = await other.generate(inverted, { prompt: 'a blue square' }).catch((e: EdictError) => e);
    expect((error as EdictError).message).toContain(`latents were made by model "tiny-fixture" (fingerprint ${own.fingerprint})`);
    expect((error as EdictError).message).toContain('allowModelMismatch: true');
  });

  it('allowModelMismatch runs them, and the results are the running model\'s', async () => {
    const result = await other.generate(inverted, { prompt: 'a blue square', allowModelMismatch: true });
    expect(result.latents.params.modelFingerprint).toBe(other.fingerprint);
    const images = await other.decodeLatents(inverted, { allowModelMismatch: true });
    expect(images).toHaveLength(1);
  });

  it('latents built by hand (no fingerprint) are accepted; a malformed one is refused', async () => {
    const { modelFingerprint: _, ...params } = inverted.params;
    const byHand = new Latents(inverted.x, inverted.y, inverted.shape, params);
    expect((await other.generate(byHand, { prompt: 'a blue square' })).images).toHaveLength(1);
    expect(() => new Latents(inverted.x, inverted.y, inverted.shape, { ...params, modelFingerprint: 'xyz' })).toThrow(/modelFingerprint: must be 32 hex digits/);
  });

  it('Latents.concat refuses parts of different models', async () => {
    const theirs = await other.invert(image, invertOptions);
    expect(() => Latents.concat([inverted, theirs])).toThrow(/differ in .*model/);
  });

  it('the CLI: edict generate refuses with ERR_MODEL_MISMATCH (exit 1), --allow-model-mismatch runs', async () => {
    ensureBuilt();
    const dir = tempDir();
    const latents = join(dir, 'z.safetensors');
    await inverted.save(latents);
    const refused = await runCli(['--model', otherDir, 'generate', latents, '--prompt', 'a blue square', '-o', join(dir, 'a.png')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/error ERR_MODEL_MISMATCH: latents were made by model "tiny-fixture"/);
    const allowed = await runCli(['--model', otherDir, 'generate', latents, '--prompt', 'a blue square', '--allow-model-mismatch', '-o', join(dir, 'b.png')]);
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
  });
});
