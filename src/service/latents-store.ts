/**
 * Where `POST /v1/invert` keeps the latents it returns an id for: a bounded LRU in memory
 * (`maxEntries` files of .safetensors bytes) and, when a folder is given, the folder too: every
 * entry is written there as `dir/<id>.safetensors` before its id is answered (at most `maxFiles`
 * files, the least recently used deleted first), and found there once memory has let it go.
 * Files already in the folder when the server starts are indexed, so latents survive a restart,
 * and a file another server wrote into a shared folder is found by its id.
 *
 * Ids are random UUIDs (crypto.randomUUID: 122 random bits), so one client cannot guess
 * another's. An id is checked against the UUID pattern before it names a file: a request can
 * never make the server read or write any other path.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SUFFIX = '.safetensors';

export function isLatentsId(id: string): boolean {
  return ID.test(id);
}

export interface LatentsStoreOptions {
  /** Entries kept in memory (default 256). */
  maxEntries?: number;
  /** A folder every entry is also written to (created if missing); none: evicted entries are gone. */
  dir?: string;
  /** Files kept in the folder (default 16x maxEntries). */
  maxFiles?: number;
  /** Told when writing to the folder fails (the entry then lives in memory only). */
  onError?: (error: unknown) => void;
}

export class LatentsStore {
  readonly maxEntries: number;
  readonly maxFiles: number;
  private readonly memory = new Map<string, Buffer>();
  /** Ids on disk, least recently used first (Map keeps insertion order). */
  private readonly disk = new Map<string, true>();

  constructor(private readonly options: LatentsStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 256;
    this.maxFiles = options.maxFiles ?? this.maxEntries * 16;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${this.maxEntries}`);
    if (options.dir) {
      mkdirSync(options.dir, { recursive: true });
      const found = readdirSync(options.dir)
        .filter((name) => name.endsWith(SUFFIX) && isLatentsId(name.slice(0, -SUFFIX.length)))
        .map((name) => ({ id: name.slice(0, -SUFFIX.length), time: statSync(join(options.dir!, name)).mtimeMs }))
        .sort((a, b) => a.time - b.time);
      for (const { id } of found) this.disk.set(id, true);
    }
  }

  get size(): { memory: number; disk: number } {
    return { memory: this.memory.size, disk: this.disk.size };
  }

  /** Keeps `bytes` and returns their new id (once written to the folder, if there is one). */
  async put(bytes: Buffer): Promise<string> {
    const id = randomUUID();
    if (this.options.dir) await this.write(id, bytes);
    this.memory.set(id, bytes);
    while (this.memory.size > this.maxEntries) this.memory.delete(this.memory.keys().next().value as string);
    return id;
  }

  /** The bytes of `id`, or null when it is unknown (or not an id at all). */
  async get(id: string): Promise<Buffer | null> {
    if (!isLatentsId(id)) return null;
    const held = this.memory.get(id);
    if (held) {
      // Most recently used last.
      this.memory.delete(id);
      this.memory.set(id, held);
      return held;
    }
    if (!this.options.dir) return null;
    try {
      // Indexed or not: another server sharing the folder may have written it.
      const bytes = await readFile(this.path(id));
      this.disk.delete(id);
      this.disk.set(id, true);
      return bytes;
    } catch {
      this.disk.delete(id);
      return null;
    }
  }

  private path(id: string): string {
    return join(this.options.dir!, `${id}${SUFFIX}`);
  }

  private async write(id: string, bytes: Buffer): Promise<void> {
    const path = this.path(id);
    try {
      // A temporary name, then a rename: a crash never leaves half a file under an id.
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, bytes);
      await rename(temporary, path);
      this.disk.set(id, true);
      while (this.disk.size > this.maxFiles) {
        const oldest = this.disk.keys().next().value as string;
        this.disk.delete(oldest);
        await unlink(this.path(oldest)).catch(() => undefined);
      }
    } catch (error) {
      // A full or read-only disk: the entry lives in memory only.
      this.options.onError?.(error);
    }
  }
}
