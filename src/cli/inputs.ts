/**
 * Input lists for collection commands (invert): files, folders (their images, sorted by
 * name, not recursive) and glob patterns the shell did not expand (`"photos/**\/*.png"`:
 * `*`, `?`, `[abc]`, `{png,jpg}`, `**` for any depth; names starting with "." match only
 * a pattern that spells the dot).
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';

import { EdictError, ErrorCode } from '../errors.js';

export const READABLE_IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif', '.avif'];

export interface InputFile {
  path: string;
  kind: 'image' | 'latents';
}

export interface ExpandedInputs {
  files: InputFile[];
  /** True when a folder or glob was given (the output is then a folder). */
  collection: boolean;
}

const magic = /[*?[{]/;

function kindOf(path: string): InputFile['kind'] {
  return extname(path).toLowerCase() === '.safetensors' ? 'latents' : 'image';
}

const isImage = (name: string) => READABLE_IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}

/** A regular expression for one glob path segment pattern (or a whole path, with `**`). */
export function globToRegExp(pattern: string): RegExp {
  const noDot = '(?!\\.)';
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const segmentStart = i === 0 || pattern[i - 1] === '/';
    if (c === '*' && pattern[i + 1] === '*' && segmentStart) {
      // "**/" matches any number of folders (zero included); a final "**" anything.
      if (pattern[i + 2] === '/') {
        out += `(?:${noDot}[^/]+/)*`;
        i += 2;
      } else {
        out += `(?:${noDot}[^/]+(?:/${noDot}[^/]+)*)?`;
        i += 1;
      }
    } else if (c === '*') {
      out += `${segmentStart ? noDot : ''}[^/]*`;
    } else if (c === '?') {
      out += `${segmentStart ? noDot : ''}[^/]`;
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
      } else {
        let body = pattern.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        out += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '{') {
      const end = pattern.indexOf('}', i);
      if (end < 0) {
        out += '\\{';
      } else {
        const options = pattern.slice(i + 1, end).split(',');
        out += `(?:${options.map((o) => globToRegExp(o).source.slice(1, -1)).join('|')})`;
        i = end;
      }
    } else {
      out += c.replace(/[.+^$()|\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}

/** Files matching a glob pattern, sorted. */
export async function expandGlob(pattern: string): Promise<string[]> {
  const normalized = pattern.split(sep).join('/');
  const segments = normalized.split('/');
  const firstMagic = segments.findIndex((s) => magic.test(s));
  const base = segments.slice(0, firstMagic).join('/') || (normalized.startsWith('/') ? '/' : '.');
  const rest = segments.slice(firstMagic).join('/');
  const regex = globToRegExp(rest);
  const deep = rest.includes('**');
  const depth = segments.length - firstMagic;
  const matches: string[] = [];
  const walk = async (dir: string, relative: string, level: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (deep || level + 1 < depth) await walk(full, rel, level + 1);
      } else if (regex.test(rel)) {
        matches.push(base === '.' ? rel : join(base, rel));
      }
    }
  };
  await walk(base, '', 0);
  return matches.sort();
}

/** Resolves command-line inputs to files: each argument a file, a folder or a glob. */
export async function expandInputs(args: string[]): Promise<ExpandedInputs> {
  const files: InputFile[] = [];
  let collection = args.length > 1;
  for (const arg of args) {
    const info = await statOrNull(arg);
    if (info?.isDirectory()) {
      collection = true;
      const names = (await readdir(arg)).filter((name) => isImage(name) && !name.startsWith('.')).sort();
      if (names.length === 0) {
        throw new EdictError(ErrorCode.Io, `folder ${arg} holds no images (${READABLE_IMAGE_EXTENSIONS.join(', ')})`);
      }
      files.push(...names.map((name) => ({ path: join(arg, name), kind: 'image' as const })));
    } else if (info) {
      files.push({ path: arg, kind: kindOf(arg) });
    } else if (magic.test(arg)) {
      collection = true;
      const matches = await expandGlob(arg);
      if (matches.length === 0) throw new EdictError(ErrorCode.Io, `no file matches ${arg}`);
      files.push(...matches.map((path) => ({ path, kind: kindOf(path) })));
    } else {
      throw new EdictError(ErrorCode.Io, `no such file or folder: ${arg}`);
    }
  }
  const seen = new Set<string>();
  return {
    files: files.filter((f) => {
      const key = resolve(f.path);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    }),
    collection,
  };
}
