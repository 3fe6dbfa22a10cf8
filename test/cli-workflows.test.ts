// Research workflows through the CLI (real child processes, fixture model): invert -> generate
// equals the API bit for bit, collections of images, and a sweep's grid.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Edict, Latents } from '../src/index.js';
import { ensureBuilt, jsonLines, listFiles, runCli } from './cli-helpers.js';
import { tempDir, tinyModel } from './helpers/fixtures.js';
import { scenePng } from './helpers/images.js';

const model = ['--model', tinyModel];
let dir: string;
let image: string;
let edict: Edict;

beforeAll(async () => {
  ensureBuilt();
  dir = tempDir('edict-cli-flow-');
  image = join(dir, 'scene.png');
  writeFileSync(image, await scenePng());
  edict = await Edict.load(tinyModel);
});
afterAll(() => edict.dispose());

describe('invert, then generate', () => {
  it('latents written by invert and read back by generate give the API result, bit for bit', async () => {
    const prompt = 'a red square on a gradient';
    const targets = ['a blue square on a gradient', 'a red circle on a gradient'];
    const inverted = join(dir, 'inverted.safetensors');
    const inv = await runCli([...model, '--json', 'invert', image, '--prompt', prompt, '--steps', '14', '--guidance', '4', '--mix', '0.9', '-o', inverted]);
    expect(inv.code).toBe(0);
    expect(jsonLines(inv.stdout)[0]).toMatchObject({ command: 'invert', output: inverted, method: 'edict', steps: 14, executed: 11, guidance: 4, mix: 0.9 });

    const out = join(dir, 'generated', 'g.png');
    const generatedFile = join(dir, 'generated', 'latents.safetensors');
    const gen = await runCli([...model, '--json', 'generate', inverted, '--prompt', targets[0], '--prompt', targets[1], '-o', out, '--latents-out', generatedFile]);
    expect(gen.code).toBe(0);
    const records = jsonLines(gen.stdout);
    expect(records.map((r) => r.prompt)).toEqual(targets);
    expect(records.map((r) => r.output)).toEqual([join(dir, 'generated', 'g-1.png'), join(dir, 'generated', 'g-2.png')]);

    // The API, in this process.
    const apiInverted = await edict.invert(image, { prompt, steps: 14, guidance: 4, mix: 0.9 });
    const apiGenerated = await edict.generate(apiInverted, { prompt: targets });

    const savedInverted = await Latents.load(inverted);
    expect(savedInverted.x).toEqual(apiInverted.x);
    expect(savedInverted.y).toEqual(apiInverted.y);
    const saved = await Latents.load(generatedFile);
    expect(saved.shape).toEqual(apiGenerated.latents.shape);
    expect(saved.x).toEqual(apiGenerated.latents.x);
    expect(saved.y).toEqual(apiGenerated.latents.y);
    for (const [i, record] of records.entries()) {
      const { data } = await sharp(record.output).raw().toBuffer({ resolveWithObject: true });
      expect(Buffer.from(data).equals(Buffer.from(apiGenerated.images[i].data))).toBe(true);
    }
  });

  it('generating with the source prompt gives the encoded latent back (exact round trip across processes)', async () => {
    const prompt = 'a red square';
    const z = join(dir, 'z.safetensors');
    const inverted = join(dir, 'z-inverted.safetensors');
    const back = join(dir, 'z-back.safetensors');
    expect((await runCli([...model, 'encode', image, '-o', z])).code).toBe(0);
    expect((await runCli([...model, 'invert', z, '--prompt', prompt, '--steps', '20', '-o', inverted])).code).toBe(0);
    expect((await runCli([...model, 'generate', inverted, '--prompt', prompt, '-o', join(dir, 'back.png'), '--latents-out', back])).code).toBe(0);
    const encoded = await Latents.load(z);
    const regenerated = await Latents.load(back);
    let error = 0;
    for (const values of [regenerated.x, regenerated.y]) for (let i = 0; i < values.length; i++) error = Math.max(error, Math.abs(values[i] - encoded.x[i]));
    expect(error).toBeLessThanOrEqual(1e-12);
  });
});

describe('invert over a collection', () => {
  let photos: string;
  beforeAll(async () => {
    photos = join(dir, 'photos');
    mkdirSync(photos);
    writeFileSync(join(photos, 'a.png'), await scenePng());
    writeFileSync(join(photos, 'b.png'), await sharp(await scenePng()).negate().png().toBuffer());
    writeFileSync(join(photos, 'wide.png'), await scenePng(64, 40));
    writeFileSync(join(photos, 'c.jpg'), await sharp(await scenePng()).jpeg().toBuffer());
    writeFileSync(join(photos, 'notes.txt'), 'not an image');
  });

  it('a folder: one latents file per image, same-size images batched, progress as JSON on stderr', async () => {
    const out = join(dir, 'inverted-folder');
    const r = await runCli([...model, '--json', '--progress', 'json', 'invert', photos, '--prompt', 'a photo', '--steps', '8', '--size', 'keep-aspect', '-o', out]);
    expect(r.code).toBe(0);
    expect(listFiles(out)).toEqual(['a.safetensors', 'b.safetensors', 'c.safetensors', 'wide.safetensors']);
    const records = jsonLines(r.stdout);
    expect(records.map((x) => x.input)).toEqual(['a.png', 'b.png', 'c.jpg', 'wide.png'].map((n) => join(photos, n)));
    // a, b and c come out 32x32 and share one batch; wide.png comes out 40x24 on its own.
    expect(records.map((x) => x.batchSize)).toEqual([3, 3, 3, 1]);
    expect(records[3]).toMatchObject({ imageWidth: 40, imageHeight: 24, shape: [1, 4, 6, 10] });
    const progress = jsonLines(r.stderr);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.type === 'progress' && p.command === 'invert')).toBe(true);
    expect(progress.filter((p) => p.phase === 'invert' && p.step === p.total).map((p) => p.label)).toEqual(['batch 1/2', 'batch 2/2']);

    // Each file is its own item, ready for generate.
    const b = await Latents.load(join(out, 'b.safetensors'));
    expect(b.params).toMatchObject({ stage: 'inverted', prompts: ['a photo'] });
    expect(b.shape).toEqual([1, 4, 8, 8]);
    const g = await runCli([...model, 'generate', join(out, 'wide.safetensors'), '--prompt', 'a photo', '-o', join(dir, 'wide-back.png')]);
    expect(g.code).toBe(0);
    const meta = await sharp(join(dir, 'wide-back.png')).metadata();
    expect([meta.width, meta.height]).toEqual([40, 24]);
  });

  it('a quoted glob picks only the files it matches; --batch 1 matches single inversions exactly', async () => {
    const out = join(dir, 'inverted-glob');
    const r = await runCli([...model, 'invert', join(photos, '[ab].png'), '--prompt', 'a photo', '--steps', '8', '--batch', '1', '-o', out]);
    expect(r.code).toBe(0);
    expect(listFiles(out)).toEqual(['a.safetensors', 'b.safetensors']);
    const api = await edict.invert(join(photos, 'b.png'), { prompt: 'a photo', steps: 8 });
    expect((await Latents.load(join(out, 'b.safetensors'))).x).toEqual(api.x);
  });

  it('a glob that matches nothing is a runtime error', async () => {
    const r = await runCli([...model, 'invert', join(photos, '*.gif'), '--prompt', 'a photo', '-o', join(dir, 'none')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error ERR_IO: no file matches/m);
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });
});

describe('sweep', () => {
  it('every cell of the grid is in results.json and results.csv, with images and a contact sheet', async () => {
    const out = join(dir, 'sweep');
    const targets = ['a blue square', 'a cat'];
    const r = await runCli([
      ...model,
      '--json',
      'sweep',
      image,
      '--source',
      'a red square',
      ...targets.flatMap((t) => ['--target', t]),
      '--method',
      'edict,ddim',
      '--steps',
      '6',
      '--mix',
      '0.9,0.97',
      '--strength',
      '0.5,1',
      '--guidance',
      '1,3',
      '--cell-size',
      '64',
      '-o',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');

    // EDICT: 2 strengths x 2 guidance x 2 mix = 8 cells; DDIM (no mix): 4 cells.
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.cells).toHaveLength(12);
    const key = (c: { method: string; strength: number; guidance: number; mix: number | null }) => `${c.method} ${c.strength} ${c.guidance} ${c.mix}`;
    const expected: string[] = [];
    for (const strength of [0.5, 1]) for (const guidance of [1, 3]) for (const mix of [0.9, 0.97]) expected.push(key({ method: 'edict', strength, guidance, mix }));
    for (const strength of [0.5, 1]) for (const guidance of [1, 3]) expected.push(key({ method: 'ddim', strength, guidance, mix: null }));
    expect(results.cells.map(key).sort()).toEqual(expected.sort());
    // One group (one inversion call, one generation call) per (method, steps, strength).
    expect(results.groups).toHaveLength(4);
    expect(results.groups.map((g: { cells: number[] }) => g.cells.length).sort()).toEqual([2, 2, 4, 4]);

    for (const cell of results.cells) {
      expect(cell.targets.map((t: { target: string }) => t.target)).toEqual(targets);
      for (const t of cell.targets) {
        expect(t.psnrToInput).toBeGreaterThan(0);
        expect(t.meanAbsErrorToInput).toBeGreaterThan(0);
        expect(t.ssimToInput).toBeGreaterThan(-1);
        expect(t.ssimToInput).toBeLessThan(1);
        expect(t.msSsimToInput).toBeNull(); // 32x32: the standard five scales need 176 px
        expect(existsSync(join(out, t.image))).toBe(true);
      }
      expect(cell.roundTrip.ssimToInput).toBeGreaterThan(0);
      expect(existsSync(join(out, cell.roundTrip.image))).toBe(true);
      expect(cell.timings.secondsPerCell).toBeGreaterThan(0);
      if (cell.method === 'edict') expect(cell.roundTrip.latentMaxAbsError).toBeLessThanOrEqual(1e-12);
      else expect(cell.roundTrip.latentMaxAbsError).toBeGreaterThan(1e-6);
    }

    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    const header = csv[0].split(',');
    expect(header).toEqual(expect.arrayContaining(['cell', 'method', 'strength', 'guidance', 'mix', 'target', 'psnr_to_input', 'mae_to_input', 'latent_max_abs_error', 'invert_seconds']));
    // The SSIM columns come after the original ones, so that readers by position keep working.
    expect(header.slice(-4)).toEqual(['ssim_to_input', 'ms_ssim_to_input', 'roundtrip_ssim_to_input', 'roundtrip_ms_ssim_to_input']);
    expect(csv).toHaveLength(1 + 12 * targets.length);
    const rows = csv.slice(1).map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i], v])));
    expect(new Set(rows.map((row) => row.cell)).size).toBe(12);
    for (const row of rows) {
      expect(Number(row.psnr_to_input)).toBeGreaterThan(0);
      expect(Math.abs(Number(row.ssim_to_input))).toBeLessThan(1);
      expect(row.ms_ssim_to_input).toBe('');
    }

    // The contact sheet: input + 2 targets + round trip columns, 12 rows, images scaled 2x.
    const sheet = await sharp(join(out, 'contact-sheet.png')).metadata();
    expect(sheet.format).toBe('png');
    expect(sheet.width).toBeGreaterThan(4 * 64);
    expect(sheet.height).toBeGreaterThan(12 * 64);

    const records = jsonLines(r.stdout);
    expect(records.filter((x) => x.type === 'result')).toHaveLength(12);
    expect(records.at(-1)).toMatchObject({ type: 'summary', command: 'sweep', cells: 12, groups: 4 });
  });

  it('SDEdit cells run too (no mix, no inversion)', async () => {
    const out = join(dir, 'sweep-sdedit');
    const r = await runCli([...model, 'sweep', image, '--source', 'a red square', '--target', 'a cat', '--method', 'sdedit', '--steps', '6', '--guidance', '1,3', '--mix', '0.9,0.97', '-o', out]);
    expect(r.code).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.cells.map((c: { method: string; guidance: number; mix: null }) => [c.method, c.guidance, c.mix])).toEqual([
      ['sdedit', 1, null],
      ['sdedit', 3, null],
    ]);
    expect(r.stdout).toMatch(/wrote .*results\.json/);
  });
});
