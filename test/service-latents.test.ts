// Where /v1/invert keeps latents (src/service/latents-store.ts): a bounded LRU in memory,
// and a folder when one is given (itself bounded), found again after a restart; ids
// are random UUIDs, and anything else never names a file.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { isLatentsId, LatentsStore } from '../src/service/latents-store.js';
import { tempDir } from './helpers/fixtures.js';

const bytes = (n: number) => Buffer.from(`latents ${n}`);

describe('LatentsStore', () => {
  it('keeps the most recently used entries in memory and drops the rest without a folder', async () => {
    const store = new LatentsStore({ maxEntries: 2 });
    const a = await store.put(bytes(1));
    const b = await store.put(bytes(2));
    expect((await store.get(a))?.toString()).toBe('latents 1'); // a is now the most recent
    const c = await store.put(bytes(3)); // evicts b
    expect(await store.get(b)).toBeNull();
    expect((await store.get(a))?.toString()).toBe('latents 1');
    expect((await store.get(c))?.toString()).toBe('latents 3');
    expect(store.size).toEqual({ memory: 2, disk: 0 });
  });

  it('writes every entry to the folder, bounded, and finds it there after memory and after a restart', async () => {
    const dir = tempDir('edict-latents-');
    const store = new LatentsStore({ maxEntries: 1, dir, maxFiles: 2 });
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await store.put(bytes(i)));
    // Memory holds the last; the folder the last two; the first two are gone.
    expect(store.size).toEqual({ memory: 1, disk: 2 });
    expect(readdirSync(dir).sort()).toEqual([`${ids[2]}.safetensors`, `${ids[3]}.safetensors`].sort());
    expect(await store.get(ids[0])).toBeNull();
    expect(await store.get(ids[1])).toBeNull();
    expect((await store.get(ids[2]))?.toString()).toBe('latents 2'); // from the folder
    expect((await store.get(ids[3]))?.toString()).toBe('latents 3');

    const restarted = new LatentsStore({ maxEntries: 1, dir, maxFiles: 2 });
    expect(restarted.size).toEqual({ memory: 0, disk: 2 });
    expect((await restarted.get(ids[2]))?.toString()).toBe('latents 2');

    // Another server sharing the folder finds an id written after it started.
    const other = new LatentsStore({ dir });
    const late = await restarted.put(bytes(9));
    expect((await other.get(late))?.toString()).toBe('latents 9');
  });

  it('ids are random UUIDs; anything else is unknown and never read as a path', async () => {
    const dir = tempDir('edict-latents-');
    writeFileSync(join(dir, 'secret.safetensors'), 'not yours');
    const store = new LatentsStore({ dir });
    const id = await store.put(bytes(0));
    expect(isLatentsId(id)).toBe(true);
    expect(id).not.toBe(await store.put(bytes(0)));
    for (const bad of ['secret', '../secret', `${dir}/secret`, id.toUpperCase(), `${id}/../secret`, '']) expect(await store.get(bad)).toBeNull();
    expect(store.size.disk).toBe(2); // the two puts; secret.safetensors is not an id: not indexed
    expect(existsSync(join(dir, 'secret.safetensors'))).toBe(true);
  });
});
