/**
 * A model's identity, recorded in the latents it makes so that latents are not continued by
 * another model (they would decode and run, meaning nothing). A SHA-256 over model.json,
 * tokenizer.json and, for each component file, its size and 16 evenly spaced 64 KiB samples of
 * its bytes: quick for a 3 GB Stable Diffusion folder (1 MiB read per file), and different for
 * any two trainings or fine-tunes, whose weights differ throughout. Files that differ only
 * outside the samples would share a fingerprint.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';

import { EdictError, ErrorCode } from './errors.js';
import type { ModelManifest } from './manifest.js';

const SAMPLES = 16;
const SAMPLE_BYTES = 64 * 1024;

function sampleFile(hash: ReturnType<typeof createHash>, path: string): void {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    hash.update(`${size}\n`);
    const buffer = Buffer.alloc(SAMPLE_BYTES);
    const span = Math.max(0, size - SAMPLE_BYTES);
    for (let i = 0; i < SAMPLES; i++) {
      const offset = Math.floor((span * i) / (SAMPLES - 1));
      const read = readSync(fd, buffer, 0, SAMPLE_BYTES, offset);
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
}

/** 32 hex digits (128 bits of the SHA-256) naming the model folder's contents. */
export function modelFingerprint(manifest: ModelManifest): string {
  const hash = createHash('sha256');
  try {
    hash.update(readFileSync(join(manifest.dir, 'model.json')));
    for (const [name, path] of Object.entries(manifest.paths).sort(([a], [b]) => a.localeCompare(b))) {
      hash.update(`\n${name}\n`);
      if (name === 'tokenizer') hash.update(readFileSync(path));
      else sampleFile(hash, path);
    }
  } catch (error) {
    throw new EdictError(ErrorCode.ModelFileMissing, `cannot read the model's files to fingerprint them: ${(error as Error).message}`);
  }
  return hash.digest('hex').slice(0, 32);
}
