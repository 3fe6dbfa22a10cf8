// The edict CLI as a real child process (node dist/cli/main.js) against the fixture model:
// help, usage errors (exit 2), runtime errors (exit 1), edit, encode, reconstruct, info.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
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

beforeAll(async () => {
  ensureBuilt();
  dir = tempDir('edict-cli-');
  image = join(dir, 'scene.png');
  writeFileSync(image, await scenePng());
});

async function pixels(path: string) {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

describe('help', () => {
  it.each(['edit', 'encode', 'invert', 'generate', 'reconstruct', 'sweep', 'info'])('edict %s --help shows usage and examples, exit 0', async (command) => {
    const r = await runCli([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: edict ${command}`);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain(`$ edict ${command}`);
    expect(r.stdout).toContain('--model <dir>'); // the global options are listed too
  });

  it('edict --help lists every command and the exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const command of ['edit', 'encode', 'invert', 'generate', 'reconstruct', 'sweep', 'info']) expect(r.stdout).toMatch(new RegExp(`\\n  ${command} `));
    expect(r.stdout).toContain('2 usage error');
  });
});

describe('usage errors exit 2 and say what was given and what is allowed', () => {
  const edit = (...extra: string[]) => ['edit', 'IMAGE', '--source', 'a cat', '--target', 'a dog', '-o', 'OUT.png', ...extra];
  it.each<[string, string[], RegExp[]]>([
    ['an unknown flag', edit('--bogus'), [/unknown option '--bogus'/]],
    ['steps 0', edit('--steps', '0'), [/--steps/, /'0'/, /must be >= 1/]],
    ['a non-number', edit('--guidance', 'lots'), [/--guidance/, /'lots'/, /must be a number/]],
    ['strength out of range', edit('--strength', '1.5'), [/--strength/, /'1\.5'/, /must be in \(0, 1\]/]],
    ['an unknown method', edit('--method', 'magic'), [/'magic'/, /edict, ddim, sdedit/]],
    ['a bad size', edit('--size', 'big'), [/'big'/, /native.*keep-aspect.*WIDTHxHEIGHT/]],
    ['a size the model cannot take', edit('--size', '30x30'), [/30x30/, /multiples of 8/]],
    ['an unknown device', edit('--device', 'gpu'), [/'gpu'/, /"cpu", "cuda" or "cuda:N"/]],
    ['an unknown dtype', edit('--dtype', 'half'), [/'half'/, /float16, bfloat16, float32, float64/]],
    ['no step to run', edit('--steps', '2', '--strength', '0.2'), [/--strength 0\.2 with --steps 2 runs no step/]],
    ['an output with no image extension', edit().map((a) => (a === 'OUT.png' ? 'OUT.xyz' : a)), [/OUT\.xyz/, /\.png, \.jpg/]],
    ['a missing required option', ['edit', 'IMAGE', '--target', 'a dog', '-o', 'x.png'], [/required option '--source <prompt>'/]],
    ['an empty prompt', edit('--negative', 'x').map((a) => (a === 'a cat' ? '' : a)), [/--source/, /must not be empty/]],
    ['a bad list item', ['sweep', 'IMAGE', '--source', 'a', '--target', 'b', '-o', 'D', '--mix', '0.9,0,0.97'], [/--mix/, /item 2 \("0"\) must be in \(0, 1\]/]],
    ['an unknown sweep method', ['sweep', 'IMAGE', '--source', 'a', '--target', 'b', '-o', 'D', '--method', 'edict,dim'], [/"dim" is not a method/]],
    ['a bad progress mode', ['--progress', 'fancy', 'info'], [/'fancy'/, /auto, bar, json, none/]],
    ['an unknown command', ['frobnicate'], [/unknown command 'frobnicate'/]],
  ])('%s', async (_name, args, patterns) => {
    const cwd = join(dir, 'usage');
    mkdirSync(cwd, { recursive: true });
    const r = await runCli([...model, ...args], { cwd });
    expect(r.code).toBe(2);
    for (const pattern of patterns) expect(r.stderr).toMatch(pattern);
    expect(r.stdout).toBe('');
    expect(listFiles(cwd)).toEqual([]);
  });

  it('prints an error record on stdout with --json', async () => {
    const r = await runCli([...model, '--json', 'edit', image, '--source', 'a', '--target', 'b', '-o', 'x.png', '--steps', '1', '--strength', '0.5']);
    expect(r.code).toBe(2);
    const [record] = jsonLines(r.stdout);
    expect(record).toMatchObject({ type: 'error', code: 'ERR_USAGE', exitCode: 2 });
  });
});

describe('runtime errors exit 1 with the error code, no stack unless --verbose', () => {
  it('a missing image', async () => {
    const r = await runCli([...model, 'edit', join(dir, 'nope.png'), '--source', 'a', '--target', 'b', '-o', join(dir, 'x.png'), '--steps', '4']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error ERR_IMAGE_DECODE: .*nope\.png/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'x.png'))).toBe(false);
  });

  it('a file that is not an image, with --verbose: the stack is printed', async () => {
    const bad = join(dir, 'text.png');
    writeFileSync(bad, 'this is not a PNG');
    const r = await runCli([...model, '--verbose', 'edit', bad, '--source', 'a', '--target', 'b', '-o', join(dir, 'x.png'), '--steps', '4']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error ERR_IMAGE_DECODE: /m);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('a latents file that is not one', async () => {
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, Buffer.from('not safetensors at all'));
    const r = await runCli([...model, '--json', 'generate', bad, '--prompt', 'a dog', '-o', join(dir, 'g.png')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error ERR_LATENTS_FILE: /m);
    expect(jsonLines(r.stdout)).toEqual([expect.objectContaining({ type: 'error', code: 'ERR_LATENTS_FILE', exitCode: 1 })]);
  });

  it('a model folder that does not exist', async () => {
    const r = await runCli(['--model', join(dir, 'no-model'), 'reconstruct', image, '--prompt', 'a cat', '--steps', '4']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error ERR_MODEL_NOT_FOUND: model folder not found/m);
  });
});

describe('edit', () => {
  let edict: Edict;
  beforeAll(async () => {
    edict = await Edict.load(tinyModel);
  });
  afterAll(() => edict.dispose());

  it('several targets: one file each (-1, -2), JSON records with the numbers, nothing on stderr on a pipe', async () => {
    const out = join(dir, 'edit', 'out.png');
    const r = await runCli([...model, '--json', 'edit', image, '--source', 'a red square', '--target', 'a blue square', '--target', 'a green square', '--steps', '10', '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const records = jsonLines(r.stdout);
    expect(records).toHaveLength(2);
    for (const [i, record] of records.entries()) {
      expect(record).toMatchObject({ type: 'result', command: 'edit', index: i + 1, method: 'edict', steps: 10, executed: 8, width: 32, height: 32 });
      expect(record.output).toBe(join(dir, 'edit', `out-${i + 1}.png`));
      expect(record.psnrToInput).toBeGreaterThan(0);
      expect(record.meanAbsErrorToInput).toBeGreaterThan(0);
      expect(record.timings.unetCalls).toBe(32);
      const png = await pixels(record.output);
      expect([png.width, png.height, png.channels]).toEqual([32, 32, 3]);
    }
    expect(records.map((r) => r.target)).toEqual(['a blue square', 'a green square']);
    expect(listFiles(join(dir, 'edit'))).toEqual(['out-1.png', 'out-2.png']);

    // The same edit through the API in this process gives the same pixels.
    const api = await edict.edit(image, { source: 'a red square', target: ['a blue square', 'a green square'], steps: 10 });
    for (const [i, record] of records.entries()) {
      expect(Buffer.from((await pixels(record.output)).data).equals(Buffer.from(api.images[i].data))).toBe(true);
    }
  });

  it('a {i}-{target} pattern, --both, and the latents outputs', async () => {
    const out = join(dir, 'pattern');
    const r = await runCli([
      ...model,
      'edit',
      image,
      '--source',
      'a red square',
      '--target',
      'a cat',
      '--target',
      'a dog!',
      '--steps',
      '6',
      '--both',
      '--inverted-out',
      join(out, 'inverted.safetensors'),
      '--latents-out',
      join(out, 'generated.safetensors'),
      '-o',
      join(out, '{i}-{target}.png'),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote .*1-a-cat\.png/);
    expect(listFiles(out)).toEqual(['1-a-cat-y.png', '1-a-cat.png', '2-a-dog-y.png', '2-a-dog.png', 'generated.safetensors', 'inverted.safetensors']);
    const inverted = await Latents.load(join(out, 'inverted.safetensors'));
    expect(inverted.params).toMatchObject({ stage: 'inverted', method: 'edict', steps: 6, prompts: ['a red square'] });
    const generated = await Latents.load(join(out, 'generated.safetensors'));
    expect(generated.params).toMatchObject({ stage: 'generated', prompts: ['a cat', 'a dog!'] });
    expect(generated.shape).toEqual([2, 4, 8, 8]);
  });

  it.each(['ddim', 'sdedit'])('method %s writes its output', async (method) => {
    const out = join(dir, `${method}.png`);
    const r = await runCli([...model, '--json', 'edit', image, '--source', 'a red square', '--target', 'a cat', '--method', method, '--steps', '8', '-o', out]);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)[0]).toMatchObject({ method, mix: null });
    expect((await pixels(out)).width).toBe(32);
  });
});

describe('encode, reconstruct, info', () => {
  it('encode writes the scaled VAE latent, equal to the API', async () => {
    const out = join(dir, 'z.safetensors');
    const r = await runCli([...model, '--json', 'encode', image, '-o', out]);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)[0]).toMatchObject({ type: 'result', command: 'encode', shape: [1, 4, 8, 8], imageWidth: 32, imageHeight: 32 });
    const saved = await Latents.load(out);
    expect(saved.params.stage).toBe('encoded');
    const edict = await Edict.load(tinyModel);
    const api = await edict.encodeImage(image);
    await edict.dispose();
    expect(saved.x).toEqual(api.x);
  });

  it('reconstruct prints the measured round-trip errors', async () => {
    const human = await runCli([...model, 'reconstruct', image, '--prompt', 'a red square', '--steps', '12']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/latent max abs error\s+\d\.\d+e[-+]\d+/);
    expect(human.stdout).toMatch(/VAE PSNR vs input\s+\d+\.\d+ dB/);

    const json = await runCli([...model, '--json', 'reconstruct', image, '--prompt', 'a red square', '--steps', '12']);
    const [record] = jsonLines(json.stdout);
    expect(record).toMatchObject({ type: 'result', command: 'reconstruct', method: 'edict', executed: 9 });
    expect(record.latentMaxAbsError).toBeLessThanOrEqual(1e-12);
    expect(record.latentRmsError).toBeLessThanOrEqual(record.latentMaxAbsError);
    expect(record.pixelPsnr).toBeGreaterThan(5);
    expect(record.vaePsnr).toBeCloseTo(record.pixelPsnr, 6);
    expect(record.roundTripPsnr).toBe('Infinity'); // identical to the VAE round trip
    // SSIM as PSNR: the reconstruction is the VAE round trip, so both SSIMs agree; the standard
    // five-scale MS-SSIM needs 176 px, so a 32x32 image has none.
    expect(record.ssim).toBeGreaterThan(0);
    expect(record.ssim).toBeLessThanOrEqual(1);
    expect(record.vaeSsim).toBe(record.ssim);
    expect(record.msSsim).toBeNull();
    expect(human.stdout).toMatch(/SSIM vs input\s+\d\.\d{4}\s+\(the VAE alone: \d\.\d{4}\)/);
    expect(human.stdout).toMatch(/MS-SSIM vs input\s+n\/a \(the standard 5 scales need 176 px; the image is 32x32\)/);

    const ddim = await runCli([...model, '--json', 'reconstruct', image, '--prompt', 'a red square', '--steps', '12', '--method', 'ddim']);
    expect(jsonLines(ddim.stdout)[0].latentMaxAbsError).toBeGreaterThan(1e-6);
  });

  it('info reports the model, libtorch, CUDA and threads', async () => {
    const r = await runCli([...model, '--json', '--threads', '1', 'info']);
    expect(r.code).toBe(0);
    const [record] = jsonLines(r.stdout);
    expect(record).toMatchObject({ type: 'info', device: 'cpu', dtype: 'float32', threads: 1 });
    expect(record.model).toMatchObject({ name: 'tiny-fixture', image: { width: 32, height: 32 }, latent: { channels: 4 } });
    expect(record.runtime.libtorch).toMatch(/^\d+\.\d+/);
    expect(typeof record.runtime.cuda).toBe('boolean');
    expect(record.runtime.cudaDevices).toBeGreaterThanOrEqual(0);
    expect(record.runtime.build.settings).toHaveProperty('USE_CUDA');

    const human = await runCli([...model, 'info']);
    expect(human.stdout).toMatch(/^model\s+tiny-fixture/m);
    expect(human.stdout).toMatch(/^libtorch\s+\d+\.\d+/m);
    expect(human.stdout).toMatch(/^CUDA\s+/m);

    const missing = await runCli(['--model', join(dir, 'missing'), 'info']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^libtorch/m);
    expect(missing.stderr).toMatch(/^error ERR_MODEL_NOT_FOUND/m);
  });
});
