/**
 * How the package writes files: the one policy every writer uses (RgbImage.toFile,
 * Latents.save, the CLI's FileBatch).
 *
 * - a regular file (or a new path) is replaced atomically: the data goes to a hidden temporary
 *   file in the same folder (`.NAME.XXXXXXXX.partial`), is fsynced, takes the old file's mode,
 *   and is renamed over the target; on failure the temporary is removed, the old file stays;
 * - a symlink is followed to its final target, which is replaced as above (the link stays);
 * - a character device or FIFO (/dev/null, /dev/stdout, a named pipe) is written through:
 *   opened without truncation and never renamed over, so the node itself is untouched;
 * - a directory, block device or socket is refused.
 * Every failure is an EdictError ERR_IO that names the path.
 */
import { randomBytes } from 'node:crypto';
import { constants, statSync, type Stats } from 'node:fs';
import { lstat, open, readlink, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

import { EdictError, ErrorCode } from './errors.js';

/** Where data for a path goes: replaced by rename, or written through (device, FIFO). */
export interface WriteTarget {
  /** The final path written: the symlink's target for a symlink. */
  path: string;
  through: boolean;
  /** Permission bits of the file replaced (kept by the new file), if one exists. */
  mode?: number;
}

function ioError(path: string, error: unknown): EdictError {
  if (error instanceof EdictError) return error;
  return new EdictError(ErrorCode.Io, `cannot write ${path}: ${(error as Error).message}`, { cause: error });
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

const isThrough = (stats: Stats) => stats.isCharacterDevice() || stats.isFIFO();

/** Follows symlinks (dangling ones too: the file is created at the link's target). */
async function followLinks(path: string): Promise<{ path: string; stats: Stats | null }> {
  let current = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    let stats: Stats;
    try {
      stats = await lstat(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { path: current, stats: null };
      throw error;
    }
    if (!stats.isSymbolicLink()) return { path: current, stats };
    current = resolve(dirname(current), await readlink(current));
  }
  throw new Error('too many levels of symbolic links');
}

/** Decides how `path` is written (see the policy above); refuses what cannot be written. */
export async function resolveWriteTarget(path: string): Promise<WriteTarget> {
  try {
    const { path: final, stats } = await followLinks(path);
    if (!stats) return { path: final, through: false };
    if (stats.isFile()) return { path: final, through: false, mode: stats.mode & 0o7777 };
    if (isThrough(stats)) return { path: final, through: true };
    throw new EdictError(
      ErrorCode.Io,
      `cannot write ${path}: it is ${kindOf(stats)}; expected a regular file (or a new path), a symlink to one, a character device or a FIFO`,
    );
  } catch (error) {
    throw ioError(path, error);
  }
}

/** Whether `path` (through symlinks) is a character device or FIFO, which is written through. */
export function isWriteThrough(path: string): boolean {
  try {
    return isThrough(statSync(path));
  } catch {
    return false;
  }
}

/** A hidden temporary name beside `target`, for a write that is renamed into place. */
export function temporaryPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.partial`);
}

/** Writes and fsyncs `data` to the new file `temporary` (with `mode`, if given); removes it on failure. */
export async function writeTemporary(temporary: string, data: Uint8Array | string, mode?: number): Promise<void> {
  try {
    const handle = await open(temporary, 'wx', mode ?? 0o666);
    try {
      await handle.writeFile(data);
      // The umask applied at creation; an existing file's mode is kept exactly.
      if (mode !== undefined) await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/** Writes `data` into an existing character device or FIFO, without truncating or replacing it. */
export async function writeThrough(path: string, data: Uint8Array | string): Promise<void> {
  try {
    const handle = await open(path, constants.O_WRONLY | constants.O_NOCTTY);
    try {
      // It may have been swapped for something else since it was looked at.
      if (!isThrough(await handle.stat())) throw new Error('it is no longer a character device or FIFO');
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw ioError(path, error);
  }
}

/** Writes `data` to `path` by the policy above: atomically, or through to a device or FIFO. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const target = await resolveWriteTarget(path);
  if (target.through) return writeThrough(target.path, data);
  const temporary = temporaryPath(target.path);
  try {
    await writeTemporary(temporary, data, target.mode);
    await rename(temporary, target.path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw ioError(path, error);
  }
}
