// Intra-op threads are a per-pipeline setting: pipelines (and worker_threads) with different
// `threads` each run with their own, and every call reports the count it ran with.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { beforeAll, describe, expect, it } from 'vitest';

import { Edict } from '../src/index.js';
import { ensureBuilt } from './cli-helpers.js';
import { repoRoot, tinyModel } from './helpers/fixtures.js';
import { scenePng } from './helpers/images.js';

let image: Buffer;
beforeAll(async () => {
  ensureBuilt();
  image = await scenePng();
});

const edit = { source: 'a red square', target: 'a blue square', steps: 30 };

describe('threads', () => {
  it('two pipelines in one process, edits interleaved: each runs with its own count', async () => {
    const one = await Edict.load(tinyModel, { threads: 1 });
    const two = await Edict.load(tinyModel, { threads: 2 });
    const results = await Promise.all([one.edit(image, edit), two.edit(image, edit), one.edit(image, edit), two.edit(image, edit)]);
    expect(results.map((r) => r.timings.threads)).toEqual([1, 2, 1, 2]);
    await Promise.all([one.dispose(), two.dispose()]);
  });

  it('two worker_threads with different counts, at the same time: each its own', async () => {
    const index = JSON.stringify(`file://${join(repoRoot, 'dist', 'index.js')}`);
    const run = (threads: number) =>
      new Promise<number[]>((resolve, reject) => {
        const worker = new Worker(
          `const { parentPort, workerData } = require('node:worker_threads');
           import(${index}).then(async ({ Edict }) => {
             const edict = await Edict.load(workerData.model, { threads: workerData.threads });
             const seen = [];
             for (let i = 0; i < 3; i++) seen.push((await edict.edit(Buffer.from(workerData.image), workerData.edit)).timings.threads);
             await edict.dispose();
             parentPort.postMessage(seen);
           });`,
          { eval: true, workerData: { model: tinyModel, threads, image, edit } },
        );
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    expect(await Promise.all([run(1), run(2)])).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]);
  });

  it('the default without EDICT_THREADS is half the cores, at least one', () => {
    const env = { ...process.env };
    delete env.EDICT_THREADS;
    const script = `import { Edict } from ${JSON.stringify(join(repoRoot, 'dist', 'index.js'))};
      const edict = await Edict.load(${JSON.stringify(tinyModel)});
      const { timings } = await edict.edit({ data: new Uint8Array(32 * 32 * 3), width: 32, height: 32, channels: 3 }, { source: 'a red square', target: 'a blue square', steps: 2 });
      console.log(timings.threads);
      await edict.dispose();`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(Number(child.stdout.trim())).toBe(Math.max(1, Math.floor(availableParallelism() / 2)));
  });
});
