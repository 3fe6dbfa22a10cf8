// Ctrl-C: SIGINT mid-loop cancels through the API's AbortSignal, exits 130 and leaves no
// output file and no temporary file behind.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { Latents } from '../src/index.js';
import { collect, ensureBuilt, listFiles, startCli, waitForStderr } from './cli-helpers.js';
import { tempDir, tinyModel } from './helpers/fixtures.js';
import { scenePng } from './helpers/images.js';

const model = ['--model', tinyModel];
let dir: string;
let image: string;

beforeAll(async () => {
  ensureBuilt();
  dir = tempDir('edict-cli-cancel-');
  image = join(dir, 'scene.png');
  writeFileSync(image, await scenePng());
});

/** Starts the CLI with JSON progress, sends SIGINT once `when` accepts a progress record. */
async function interrupt(args: string[], when: (record: { phase: string; step: number; label?: string }) => boolean) {
  const child = startCli([...model, '--progress', 'json', ...args]);
  const done = collect(child);
  await waitForStderr(child, (line) => {
    if (!line.startsWith('{')) return false;
    try {
      return when(JSON.parse(line));
    } catch {
      return false;
    }
  });
  child.kill('SIGINT');
  return done;
}

describe('SIGINT', () => {
  it('mid-inversion: exit 130, ERR_CANCELLED, no output and no temporary file', async () => {
    const out = join(dir, 'edit');
    const r = await interrupt(
      ['edit', image, '--source', 'a red square', '--target', 'a cat', '--target', 'a dog', '--steps', '999', '--strength', '1', '-o', join(out, 'x.png')],
      (p) => p.phase === 'invert' && p.step >= 3,
    );
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/^error ERR_CANCELLED: interrupted by SIGINT/m);
    const last = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).at(-1);
    expect(last.phase).toBe('invert');
    expect(last.step).toBeLessThan(999); // stopped inside the loop, not after it
    expect(existsSync(out)).toBe(false);
    expect(listFiles(dir)).toEqual(['scene.png']);
  });

  it('mid-generation of an edit with --latents-out: nothing is written', async () => {
    const out = join(dir, 'gen');
    const r = await interrupt(
      // mix 0.99: a long inversion at the default 0.93 grows the latents past float32's range.
      ['edit', image, '--source', 'a', '--target', 'b', '--steps', '999', '--strength', '0.6', '--mix', '0.99', '--latents-out', join(out, 'z.safetensors'), '-o', join(out, 'x.png')],
      (p) => p.phase === 'generate' && p.step >= 2,
    );
    expect(r.code).toBe(130);
    expect(existsSync(out)).toBe(false);
  });

  it('a sweep interrupted in its second group writes nothing, not even its folder', async () => {
    const out = join(dir, 'sweep');
    const r = await interrupt(
      ['sweep', image, '--source', 'a', '--target', 'b', '--steps', '600', '--strength', '0.5,1', '--guidance', '1,3', '-o', out],
      (p) => p.label === 'group 2/2' && p.phase === 'invert' && p.step >= 2,
    );
    expect(r.code).toBe(130);
    expect(existsSync(out)).toBe(false);
  });

  it('a collection keeps the files of finished batches, complete, and nothing of the interrupted one', async () => {
    const photos = join(dir, 'photos');
    mkdirSync(photos, { recursive: true });
    for (const name of ['a', 'b', 'c']) {
      writeFileSync(join(photos, `${name}.png`), await scenePng());
    }
    const out = join(dir, 'inverted');
    const r = await interrupt(
      ['invert', photos, '--prompt', 'a photo', '--steps', '999', '--strength', '0.3', '--batch', '1', '-o', out],
      (p) => p.label === 'batch 2/3' && p.phase === 'invert' && p.step >= 2,
    );
    expect(r.code).toBe(130);
    expect(listFiles(out)).toEqual(['a.safetensors']);
    const a = await Latents.load(join(out, 'a.safetensors'));
    expect(a.params.stage).toBe('inverted');
  });
});
