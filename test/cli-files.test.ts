// The CLI's -o follows the package's write policy (src/files.ts) through its FileBatch: regular
// files are replaced by rename, symlinks followed, character devices and FIFOs written
// through (images as PNG when the name has no extension), directories refused with ERR_IO.
// Also: --version --json, and --size bounded by the work-size limit (src/limits.ts).
import { linkSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { Latents } from '../src/latents.js';
import { ensureBuilt, jsonLines, runCli } from './cli-helpers.js';
import { repoRoot, tempDir, tinyModel } from './helpers/fixtures.js';
import { scenePng } from './helpers/images.js';
import { charDevice, fifoWithReader, kindOf } from './helpers/special-files.js';

const model = ['--model', tinyModel];
let dir: string;
let image: string;

beforeAll(async () => {
  ensureBuilt();
  dir = tempDir('edict-cli-files-');
  image = join(dir, 'scene.png');
  writeFileSync(image, await scenePng());
});

const encode = (output: string) => runCli([...model, 'encode', image, '-o', output]);
const isLatents = (bytes: Buffer) => expect(Latents.fromSafeTensors(bytes).shape).toEqual([1, 4, 8, 8]);

describe('edict encode -o (latents through FileBatch)', () => {
  it('replaces a regular file by rename (the old inode is untouched) and leaves no temporary file', async () => {
    const out = tempDir();
    const path = join(out, 'z.safetensors');
    writeFileSync(path, 'old content');
    linkSync(path, join(out, 'old'));
    const r = await encode(path);
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, 'old'), 'utf8')).toBe('old content');
    expect(statSync(path).ino).not.toBe(statSync(join(out, 'old')).ino);
    isLatents(readFileSync(path));
    expect(readdirSync(out).sort()).toEqual(['old', 'z.safetensors']);
  });

  it('follows a symlink: the target gets the file, the link stays', async () => {
    const out = tempDir();
    mkdirSync(join(out, 'real'));
    writeFileSync(join(out, 'real', 'z.safetensors'), 'old');
    symlinkSync(join('real', 'z.safetensors'), join(out, 'link.safetensors'));
    const r = await encode(join(out, 'link.safetensors'));
    expect(r.code).toBe(0);
    expect(kindOf(join(out, 'link.safetensors'))).toBe('symlink');
    isLatents(readFileSync(join(out, 'real', 'z.safetensors')));
  });

  it('writes through to a FIFO with a reader; the FIFO stays', async () => {
    const fifo = fifoWithReader(tempDir());
    const r = await encode(fifo.path);
    expect(r.code).toBe(0);
    isLatents(await fifo.received);
    expect(kindOf(fifo.path)).toBe('fifo');
  });

  it('writes through to a character device like /dev/null, which stays a device', async () => {
    const device = charDevice(tempDir(), 'null');
    const r = await encode(device);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(kindOf(device)).toBe('char');
  });

  it('a full device (/dev/full) exits 1 with ERR_IO', async () => {
    const device = charDevice(tempDir(), 'full');
    const r = await runCli([...model, '--json', 'encode', image, '-o', device]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error ERR_IO: cannot write .*full.*(ENOSPC|no space)/im);
    expect(jsonLines(r.stdout)).toEqual([expect.objectContaining({ type: 'error', code: 'ERR_IO', exitCode: 1 })]);
    expect(kindOf(device)).toBe('char');
  });

  it('refuses a directory with ERR_IO naming the kind', async () => {
    const out = tempDir();
    mkdirSync(join(out, 'z.safetensors'));
    const r = await encode(join(out, 'z.safetensors'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error ERR_IO: cannot write .*z\.safetensors: it is a directory/);
    expect(readdirSync(out)).toEqual(['z.safetensors']);
  });
});

describe('image outputs to a device or FIFO are PNG', () => {
  const reconstruct = (output: string) => runCli([...model, 'reconstruct', image, '--prompt', 'a', '--steps', '2', '-o', output]);
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

  it('a FIFO without an image extension receives a PNG', async () => {
    const fifo = fifoWithReader(tempDir());
    const r = await reconstruct(fifo.path);
    expect(r.code).toBe(0);
    expect((await fifo.received).subarray(0, 4)).toEqual(png);
  });

  it('a character device without an extension is accepted (not a usage error)', async () => {
    const device = charDevice(tempDir(), 'null');
    const r = await reconstruct(device);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(kindOf(device)).toBe('char');
  });
});

describe('--version', () => {
  it('--version --json prints a JSON record, in either order', async () => {
    for (const args of [['--version', '--json'], ['--json', '-V']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
      expect(jsonLines(r.stdout)).toEqual([{ type: 'version', version }]);
    }
    expect((await runCli(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('--size', () => {
  it('a --size beyond the work-size limit is a usage error naming the limit', async () => {
    const r = await runCli([...model, 'encode', image, '--size', '99992x99992', '-o', join(tempDir(), 'z.safetensors')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/99992x99992 is 9998400064 pixels, more than the limit of 4096/);
  });

  it('--max-work-pixels raises the limit', async () => {
    const out = join(tempDir(), 'z.safetensors');
    const refused = await runCli([...model, 'encode', image, '--size', '128x64', '-o', out]);
    expect(refused.code).toBe(2);
    const r = await runCli([...model, '--max-work-pixels', '8192', 'encode', image, '--size', '128x64', '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Latents.fromSafeTensors(readFileSync(out)).shape).toEqual([1, 4, 16, 32]);
  });
});
