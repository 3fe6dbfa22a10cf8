// Components that misbehave: a UNet whose output has the right shape but is not a dense
// floating-point tensor on the pipeline's device, and one that exhausts host memory. Each
// must come back as a typed error naming the component (fixtures: scripts/fixtures/make_faulty.py).
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { Edict, EdictError } from '../src/index.js';
import { fixturesDir, tempDir, tinyModel } from './helpers/fixtures.js';
import { scenePng } from './helpers/images.js';

let image: Buffer;
beforeAll(async () => {
  image = await scenePng();
});

/** The tiny fixture with test/fixtures/faulty/<name>.pt as its UNet. */
async function withUnet(name: string): Promise<Edict> {
  const dir = join(tempDir('edict-faulty-'), name);
  cpSync(tinyModel, dir, { recursive: true });
  writeFileSync(join(dir, 'unet.pt'), readFileSync(join(fixturesDir, 'faulty', `${name}.pt`)));
  return Edict.load(dir);
}

async function failure(name: string): Promise<EdictError> {
  const edict = await withUnet(name);
  try {
    const error = await edict.edit(image, { source: 'a red square', target: 'a blue square', steps: 4 }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(EdictError);
    return error as EdictError;
  } finally {
    await edict.dispose();
  }
}

describe('a UNet output of the right shape but the wrong kind', () => {
  it.each<[string, RegExp]>([
    ['bool', /UNet returned Bool values, expected a floating-point tensor/],
    ['int64', /UNet returned Long values, expected a floating-point tensor/],
    ['complex', /UNet returned ComplexFloat values, expected a floating-point tensor/],
    ['sparse', /UNet returned a Sparse tensor, expected a dense \(strided\) one/],
    ['meta', /UNet returned a tensor on meta, expected cpu/],
  ])('%s: ERR_COMPONENT_OUTPUT', async (name, message) => {
    const error = await failure(name);
    expect(error.code).toBe('ERR_COMPONENT_OUTPUT');
    expect(error.message).toMatch(message);
  });
});

it('a component that cannot allocate host memory: ERR_OUT_OF_MEMORY', async () => {
  const error = await failure('huge');
  expect(error.code).toBe('ERR_OUT_OF_MEMORY');
  expect(error.message).toMatch(/UNet ran out of memory: .*can't allocate memory/);
});
