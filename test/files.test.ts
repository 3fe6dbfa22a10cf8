// The write policy every writer of the package follows (src/files.ts), checked for both API
// writers: RgbImage.toFile and Latents.save. Regular files are replaced by a temporary file and
// a rename (the old inode is never written), symlinks are followed, character devices and
// FIFOs are written through, directories, block devices and sockets are refused with ERR_IO.
import { chmodSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { EdictError } from '../src/errors.js';
import { RgbImage } from '../src/image.js';
import { Latents } from '../src/latents.js';
import { tempDir } from './helpers/fixtures.js';
import { blockDevice, charDevice, fifoWithReader, kindOf, unixSocket } from './helpers/special-files.js';

const pixels = Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 37) % 256);
const image = new RgbImage(pixels, 8, 8);
const values = Float64Array.from({ length: 16 }, (_, i) => i / 7);
const latents = new Latents(values, values.map((v) => -v), [1, 4, 2, 2], {
  model: 'test',
  stage: 'inverted',
  method: 'edict',
  prompts: ['a'],
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
});

interface Writer {
  name: string;
  file: string;
  write: (path: string) => Promise<void>;
  bytes: () => Promise<Buffer>;
}

const writers: Writer[] = [
  { name: 'RgbImage.toFile', file: 'out.png', write: (path) => image.toFile(path), bytes: () => image.toPng() },
  { name: 'Latents.save', file: 'z.safetensors', write: (path) => latents.save(path), bytes: async () => latents.toSafeTensors() },
];

async function errorOf(promise: Promise<unknown>): Promise<EdictError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(EdictError);
  return error as EdictError;
}

describe.each(writers)('$name', (writer) => {
  it('writes a new regular file and leaves no temporary file', async () => {
    const dir = tempDir();
    await writer.write(join(dir, writer.file));
    expect(readFileSync(join(dir, writer.file)).equals(await writer.bytes())).toBe(true);
    expect(readdirSync(dir)).toEqual([writer.file]);
  });

  it('replaces an existing file by rename: the old inode keeps its content, the mode is kept', async () => {
    const dir = tempDir();
    const path = join(dir, writer.file);
    writeFileSync(path, 'old content');
    chmodSync(path, 0o640);
    // A second name for the old inode: a write in place (O_TRUNC) would change what it reads.
    linkSync(path, join(dir, 'old'));
    const before = statSync(path).ino;
    await writer.write(path);
    expect(statSync(path).ino).not.toBe(before);
    expect(readFileSync(join(dir, 'old'), 'utf8')).toBe('old content');
    expect(readFileSync(path).equals(await writer.bytes())).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir).sort()).toEqual([writer.file, 'old'].sort());
  });

  it('follows a symlink: the target is replaced, the link stays', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'real'));
    const target = join(dir, 'real', writer.file);
    writeFileSync(target, 'old');
    const link = join(dir, `link-${writer.file}`);
    symlinkSync(join('real', writer.file), link);
    await writer.write(link);
    expect(kindOf(link)).toBe('symlink');
    expect(readFileSync(target).equals(await writer.bytes())).toBe(true);
    expect(readdirSync(join(dir, 'real'))).toEqual([writer.file]);
  });

  it('follows a dangling symlink: the file is created at its target', async () => {
    const dir = tempDir();
    const link = join(dir, `link-${writer.file}`);
    symlinkSync(writer.file, link);
    await writer.write(link);
    expect(kindOf(link)).toBe('symlink');
    expect(readFileSync(join(dir, writer.file)).equals(await writer.bytes())).toBe(true);
  });

  it('writes through to a FIFO: the reader gets the bytes, the FIFO stays', async () => {
    const dir = tempDir();
    const fifo = fifoWithReader(dir, `fifo-${writer.file}`);
    await writer.write(fifo.path);
    expect((await fifo.received).equals(await writer.bytes())).toBe(true);
    expect(kindOf(fifo.path)).toBe('fifo');
  });

  it('writes through to a character device like /dev/null, which stays a device', async () => {
    const dir = tempDir();
    const device = charDevice(dir, 'null');
    await writer.write(device);
    expect(kindOf(device)).toBe('char');
    expect(readdirSync(dir).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });

  it('a full device (/dev/full) is ERR_IO naming the path, not an abort', async () => {
    const dir = tempDir();
    const device = charDevice(dir, 'full');
    const error = await errorOf(writer.write(device));
    expect(error.code).toBe('ERR_IO');
    expect(error.message).toContain(device);
    expect(error.message).toMatch(/ENOSPC|no space/i);
    expect(kindOf(device)).toBe('char');
  });

  it('refuses a directory with ERR_IO naming the kind', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, writer.file));
    const error = await errorOf(writer.write(join(dir, writer.file)));
    expect(error.code).toBe('ERR_IO');
    expect(error.message).toMatch(/is a directory; expected a regular file/);
    expect(kindOf(join(dir, writer.file))).toBe('dir');
  });

  it('refuses a socket and a block device with ERR_IO naming the kind', async () => {
    const dir = tempDir();
    const { path, server } = await unixSocket(dir, writer.file);
    try {
      const error = await errorOf(writer.write(path));
      expect(error.code).toBe('ERR_IO');
      expect(error.message).toMatch(/is a socket/);
      expect(kindOf(path)).toBe('socket');
    } finally {
      server.close();
    }
    const block = blockDevice(dir, `block-${writer.file}`);
    if (block) {
      const error = await errorOf(writer.write(block));
      expect(error.message).toMatch(/is a block device/);
      expect(kindOf(block)).toBe('block');
    }
  });

  it('a missing folder is ERR_IO and leaves nothing behind', async () => {
    const dir = tempDir();
    const error = await errorOf(writer.write(join(dir, 'missing', writer.file)));
    expect(error.code).toBe('ERR_IO');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('RgbImage.toFile formats', () => {
  it('takes the format from the extension and refuses an unknown one with ERR_IO', async () => {
    const dir = tempDir();
    await image.toFile(join(dir, 'a.jpg'));
    expect(readFileSync(join(dir, 'a.jpg')).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const error = await errorOf(image.toFile(join(dir, 'a.xyz')));
    expect(error.code).toBe('ERR_IO');
    expect(error.message).toMatch(/a\.xyz.*\.png, \.jpg/);
    expect(readdirSync(dir)).toEqual(['a.jpg']);
  });
});
