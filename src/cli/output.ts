/**
 * What the CLI writes: JSON records on stdout with --json (one per line, one per result),
 * human text otherwise; files staged under temporary names and renamed into place only when
 * everything of a step is ready, so an interrupted run never leaves a half-written file.
 * Which paths are replaced, written through or refused is the package's policy (src/files.ts).
 */
import { unlinkSync } from 'node:fs';
import { mkdir, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';

import { EdictError, ErrorCode } from '../errors.js';
import { resolveWriteTarget, temporaryPath, writeTemporary, writeThrough } from '../files.js';
import type { RgbImage } from '../image.js';
import { UsageError } from './errors.js';

export { IMAGE_EXTENSIONS, imageFormat } from '../image.js';

/**
 * One JSON line. Non-finite numbers (a PSNR of identical images is Infinity) are written as
 * the strings "Infinity", "-Infinity" and "NaN": JSON has no literal for them, and
 * Number("Infinity") / float("Infinity") read them back.
 */
export function jsonLine(record: object): string {
  return `${JSON.stringify(record, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? String(value) : value))}\n`;
}

export class Output {
  constructor(readonly json: boolean) {}

  /** A result record: printed with --json, ignored otherwise (the command prints text too). */
  record(record: { type: string } & Record<string, unknown>): void {
    if (this.json) process.stdout.write(jsonLine(record));
  }

  /** Human text on stdout, only without --json. */
  text(line: string): void {
    if (!this.json) process.stdout.write(`${line}\n`);
  }

  /** A warning (prompt truncated, ...) on stderr. */
  warn(message: string): void {
    process.stderr.write(`warning: ${message}\n`);
  }
}

// ---- images ------------------------------------------------------------------------------

/** Encodes an image in the format of `path`'s extension (PNG is lossless: keep it for research). */
export function encodeImageFor(path: string, image: RgbImage): Promise<Buffer> {
  return image.encodeFor(path);
}

// ---- atomic, all-or-nothing writes ---------------------------------------------------------

/** Temporary files not yet renamed: removed if the process is forced to exit. */
const pending = new Set<string>();

/** Removes staged temporary files (synchronously: used on a forced exit). */
export function removePendingFiles(): void {
  for (const path of pending) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
  pending.clear();
}

/**
 * A set of files written together: each is written to a hidden temporary name in its target
 * folder, and renamed into place by commit() after a last check that the run was not
 * cancelled. discard() removes what was staged. A character device or FIFO cannot be staged:
 * its data is held and written through at commit, before the renames.
 */
export class FileBatch {
  private readonly staged: ({ path: string; target: string } & ({ temporary: string } | { data: Buffer | string }))[] = [];
  /** Folders this batch created (the first of each mkdir -p), removed again by discard() if empty. */
  private readonly createdFolders = new Set<string>();

  /**
   * Stages files with `stage`, then commits them all, or discards them all if staging fails
   * or `signal` fired: the one way commands write their outputs.
   */
  static async write(signal: AbortSignal, stage: (files: FileBatch) => Promise<void>): Promise<void> {
    const files = new FileBatch();
    try {
      await stage(files);
      await files.commit(signal);
    } catch (error) {
      await files.discard();
      throw error;
    }
  }

  async add(path: string, data: Buffer | string): Promise<void> {
    const folder = dirname(path);
    try {
      const created = await mkdir(folder, { recursive: true });
      if (created) {
        // mkdir -p made `created` and every folder below it down to `folder`.
        const top = resolve(created);
        for (let f = resolve(folder); f.length >= top.length && f !== dirname(f); f = dirname(f)) this.createdFolders.add(f);
      }
    } catch (error) {
      throw new EdictError(ErrorCode.Io, `cannot create folder ${folder}: ${(error as Error).message}`, { cause: error });
    }
    const target = await resolveWriteTarget(path);
    if (target.through) {
      this.staged.push({ path, target: target.path, data });
      return;
    }
    const temporary = temporaryPath(target.path);
    pending.add(temporary);
    this.staged.push({ temporary, path, target: target.path });
    try {
      await writeTemporary(temporary, data, target.mode);
    } catch (error) {
      throw new EdictError(ErrorCode.Io, `cannot write ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  get paths(): string[] {
    return this.staged.map((s) => s.path);
  }

  /** Renames every staged file into place; throws ERR_CANCELLED (and discards) if `signal` fired. */
  async commit(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) {
      await this.discard();
      throw new EdictError(ErrorCode.Cancelled, 'the operation was cancelled');
    }
    try {
      for (const file of this.staged) if ('data' in file) await writeThrough(file.target, file.data);
      for (const file of this.staged) {
        if (!('temporary' in file)) continue;
        try {
          await rename(file.temporary, file.target);
        } catch (error) {
          throw new EdictError(ErrorCode.Io, `cannot write ${file.path}: ${(error as Error).message}`, { cause: error });
        }
        pending.delete(file.temporary);
      }
    } catch (error) {
      await this.discard();
      throw error;
    }
    this.staged.length = 0;
    this.createdFolders.clear();
  }

  async discard(): Promise<void> {
    for (const file of this.staged) {
      if (!('temporary' in file)) continue;
      await unlink(file.temporary).catch(() => undefined);
      pending.delete(file.temporary);
    }
    this.staged.length = 0;
    // Folders created for this batch go too, deepest first, when nothing else was put there.
    for (const folder of [...this.createdFolders].sort((a, b) => b.length - a.length)) await rmdir(folder).catch(() => undefined);
    this.createdFolders.clear();
  }
}

// ---- output naming -------------------------------------------------------------------------

/** A file-name-safe form of a prompt: lower case, words joined by "-", at most 60 characters. */
export function slug(text: string): string {
  const s = text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return s || 'prompt';
}

const placeholder = /\{(i|target|prompt)\}/;

/** Whether a pattern names its outputs by placeholders. */
export function hasPlaceholder(pattern: string): boolean {
  return placeholder.test(pattern);
}

/** `path` with `suffix` inserted before the extension: out.png + "-2" = out-2.png. */
export function withSuffix(path: string, suffix: string): string {
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}${suffix}${ext}`;
}

/**
 * The output paths for `labels.length` results of one command (labels are the prompts):
 *   - `{i}` is replaced by the 1-based index, `{target}` and `{prompt}` by the prompt's slug;
 *   - without a placeholder, one result is written to `pattern` itself, several to
 *     `pattern` with "-1", "-2", ... before the extension.
 * Two results may not share a name.
 */
export function outputPaths(pattern: string, labels: string[]): string[] {
  let paths: string[];
  if (hasPlaceholder(pattern)) {
    paths = labels.map((label, i) =>
      pattern.replaceAll('{i}', String(i + 1)).replaceAll('{target}', slug(label)).replaceAll('{prompt}', slug(label)),
    );
  } else if (labels.length === 1) {
    paths = [pattern];
  } else {
    paths = labels.map((_, i) => withSuffix(pattern, `-${i + 1}`));
  }
  const seen = new Set<string>();
  for (const path of paths) {
    if (seen.has(path)) {
      throw new UsageError(`two outputs would both be written to ${path}: add {i} to the output pattern`);
    }
    seen.add(path);
  }
  return paths;
}

/** Stages one encoded image per path (and the y images beside them, when given). */
export async function stageImages(
  files: FileBatch,
  paths: string[],
  images: RgbImage[],
  pathsY?: string[],
  imagesY?: RgbImage[],
): Promise<void> {
  for (const [i, path] of paths.entries()) {
    await files.add(path, await encodeImageFor(path, images[i]));
    if (pathsY && imagesY) await files.add(pathsY[i], await encodeImageFor(pathsY[i], imagesY[i]));
  }
}
