// Distributed workers end to end: a private redis-server (test/helpers/redis.ts), real
// `edict worker` child processes over the tiny fixture model, and the EdictQueue client:
// results, validation at enqueue, a poison job, the result cap and outputDir, cancellation, a
// worker SIGKILLed mid-job (another completes it, once), a Redis restart mid-run, and SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { EdictQueue } from '../src/queue/client.js';
import { CANCEL_POLL_MS, cancelKey, redisConnection } from '../src/queue/connection.js';
import { QueueBackend } from '../src/queue/queue-backend.js';
import { EdictServer } from '../src/service/server.js';
import { codeOf } from './helpers/errors.js';
import { repoRoot, tempDir, tinyModel } from './helpers/fixtures.js';
import { scenePng } from './helpers/images.js';
import { TestRedis } from './helpers/redis.js';

const SOURCE = 'a red circle';
const TARGET = 'a blue circle';
/** A job that runs for over a second on the tiny model (999 DDIM steps: the most its 1000-timestep schedule takes; EDICT's coupling overflows this untrained model at so many steps). */
const LONG = { source: SOURCE, target: TARGET, method: 'ddim' as const, steps: 999, strength: 1 };

// The worker command as `edict worker` runs it (registerWorker on a program with the global
// options), from the sources through tsx, so the test needs no build.

interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const workers: WorkerProcess[] = [];

/** `edict worker` as a child process (src/cli/main.ts through tsx: no build needed). */
async function startWorker(url: string, queue: string, extra: string[] = []): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', '--model', tinyModel, '--threads', '1', 'worker', '--redis', url, '--queue', queue, ...extra],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const w = { child, output: () => text, exited };
  workers.push(w);
  const deadline = Date.now() + 60_000;
  while (!/ready on queue/.test(text)) {
    if (child.exitCode !== null) throw new Error(`the worker exited with ${child.exitCode}: ${text}`);
    if (Date.now() > deadline) throw new Error(`the worker did not start: ${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return w;
}

async function stopWorker(w: WorkerProcess): Promise<number | null> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  return w.exited;
}

let redis: TestRedis;
let image: Buffer;
let queueCount = 0;
/** Each test its own queue name, so no job of one test reaches another's workers. */
const freshQueue = () => `q${++queueCount}`;

beforeAll(async () => {
  redis = await TestRedis.start();
  image = await scenePng();
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map(async (w) => {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await w.exited;
  }));
});

afterAll(async () => {
  await redis?.stop();
});

describe('edict worker and EdictQueue', () => {
  it('runs edit, invert -> generate and reconstruct jobs and reports progress', async () => {
    const queue = freshQueue();
    await startWorker(redis.url, queue);
    const client = new EdictQueue({ connection: redis.url, queue });
    try {
      const phases = new Set<string>();
      const edited = await client.edit(image, { source: SOURCE, target: [TARGET, 'a green circle'], steps: 10 }, { onProgress: (p) => phases.add(p.phase) });
      expect(edited.images).toHaveLength(2);
      expect((await sharp(edited.images[0]).metadata()).format).toBe('png');
      expect(edited.timings.unetCalls).toBeGreaterThan(0);
      expect([...phases]).toEqual(expect.arrayContaining(['invert', 'generate']));

      const inverted = await client.invert(image, { prompt: SOURCE, steps: 10 });
      const generated = await client.generate(inverted.latents, { prompt: TARGET });
      expect(generated.images).toHaveLength(1);
      expect(generated.latents.length).toBeGreaterThan(0);

      const round = await client.reconstruct(image, { prompt: SOURCE, steps: 10 });
      expect((await sharp(round.image).metadata()).format).toBe('png');
      expect(Number.isFinite(round.latentMaxAbsError)).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('refuses a bad job at enqueue with the API error, before any job is created', async () => {
    const queue = freshQueue();
    const client = new EdictQueue({ connection: redis.url, queue });
    try {
      expect(await codeOf(client.edit(image, { source: SOURCE, target: TARGET, steps: -1 }))).toBe('ERR_INVALID_OPTION');
      await expect(client.edit(image, { source: SOURCE, target: TARGET, stepz: 5 } as never)).rejects.toThrow(/did you mean "steps"/);
      expect(await codeOf(client.edit(image, { source: '', target: TARGET }))).toBe('ERR_PROMPT');
      expect(await codeOf(client.edit(image, { source: SOURCE, target: TARGET, onStep: () => undefined } as never))).toBe('ERR_INVALID_OPTION');
      expect(await codeOf(client.generate(Buffer.from('not safetensors'), { prompt: TARGET }))).toBe('ERR_LATENTS_FILE');
      expect(await codeOf(client.edit(image, { source: SOURCE, target: TARGET }, { outputDir: 'relative/dir' }))).toBe('ERR_INVALID_OPTION');
      const counts = await client.status();
      expect(counts.waiting + counts.active).toBe(0);
    } finally {
      await client.close();
    }
  });

  it('fails a poison job with its typed code and goes on; caps results, or writes them to outputDir', async () => {
    const queue = freshQueue();
    const worker = await startWorker(redis.url, queue);
    const client = new EdictQueue({ connection: redis.url, queue });
    const dir = tempDir('edict-queue-out-');
    try {
      expect(await codeOf(client.edit(Buffer.from('not an image'), { source: SOURCE, target: TARGET, steps: 5 }))).toBe('ERR_IMAGE_DECODE');
      expect((await client.edit(image, { source: SOURCE, target: TARGET, steps: 5 })).images).toHaveLength(1);
      await expect(client.edit(image, { source: SOURCE, target: TARGET, steps: 5 }, { maxResultBytes: 10 })).rejects.toThrow(/maxResultBytes.*outputDir/);
      const written = await client.edit(image, { source: SOURCE, target: TARGET, steps: 5 }, { maxResultBytes: 10, outputDir: dir });
      expect((await sharp(written.images[0]).metadata()).format).toBe('png');
      expect(worker.child.exitCode).toBe(null);
    } finally {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cancels a running job between UNet calls (ERR_CANCELLED), and a waiting one', async () => {
    const queue = freshQueue();
    await startWorker(redis.url, queue, ['--concurrency', '1']);
    const client = new EdictQueue({ connection: redis.url, queue });
    try {
      let running = '';
      let queued = '';
      const first = client.edit(image, LONG, { onEnqueued: (id) => (running = id) });
      const second = client.edit(image, LONG, { onEnqueued: (id) => (queued = id) });
      const firstCode = codeOf(first);
      const secondCode = codeOf(second);
      // Wait until both are enqueued and the first is running (its job is active).
      const deadline = Date.now() + 30_000;
      while (!running || !queued || (await client.status()).active === 0) {
        if (Date.now() > deadline) throw new Error('the job never started');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await client.cancel(queued)).toBe(true);
      expect(await secondCode).toBe('ERR_CANCELLED');
      const start = Date.now();
      expect(await client.cancel(running)).toBe(true);
      expect(await firstCode).toBe('ERR_CANCELLED');
      expect(Date.now() - start).toBeLessThan(5000); // between UNet calls (ms apart), with slack for a loaded machine
      // An AbortSignal does the same.
      const controller = new AbortController();
      const third = codeOf(client.edit(image, LONG, { signal: controller.signal, onProgress: () => controller.abort() }));
      expect(await third).toBe('ERR_CANCELLED');
      // timeoutMs counts queued or running: ERR_TIMEOUT, the job is stopped.
      expect(await codeOf(client.edit(image, { ...LONG, timeoutMs: 300 }))).toBe('ERR_TIMEOUT');
      // And the worker goes on.
      expect((await client.edit(image, { source: SOURCE, target: TARGET, steps: 5 })).images).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('a cancel whose message the worker missed (cut off from Redis) still lands: the worker polls the cancel keys', async () => {
    const queue = freshQueue();
    await startWorker(redis.url, queue, ['--concurrency', '1']);
    const client = new EdictQueue({ connection: redis.url, queue });
    const plain = redisConnection(redis.url);
    try {
      let id = '';
      const code = codeOf(client.edit(image, LONG, { onEnqueued: (j) => (id = j) }));
      const deadline = Date.now() + 30_000;
      while (!id || (await client.status()).active === 0) {
        if (Date.now() > deadline) throw new Error('the job never started');
        await new Promise((r) => setTimeout(r, 50));
      }
      // What EdictQueue.cancel leaves behind when its message is lost: the key alone, no message.
      const start = Date.now();
      await plain.set(cancelKey(queue, id), '1', 'EX', 60);
      expect(await code).toBe('ERR_CANCELLED');
      expect(Date.now() - start).toBeLessThan(CANCEL_POLL_MS + 4000);
    } finally {
      plain.disconnect();
      await client.close();
    }
  });

  it('a worker SIGKILLed mid-job: another worker completes the job, once from the client\'s view', async () => {
    const queue = freshQueue();
    const first = await startWorker(redis.url, queue, ['--lock-ms', '2000']);
    const client = new EdictQueue({ connection: redis.url, queue });
    const events = new Redis(redis.url);
    try {
      let id = '';
      let progressed = false;
      let settled = 0;
      const result = client.edit(image, LONG, { onEnqueued: (j) => (id = j), onProgress: () => (progressed = true) }).finally(() => settled++);
      const deadline = Date.now() + 30_000;
      while (!progressed) {
        if (Date.now() > deadline) throw new Error('no progress');
        await new Promise((r) => setTimeout(r, 20));
      }
      first.child.kill('SIGKILL');
      await first.exited;
      await startWorker(redis.url, queue, ['--lock-ms', '2000']);
      const edited = await result;
      expect(edited.images).toHaveLength(1);
      expect(settled).toBe(1);
      // The job was completed once: one "completed" event in the queue's stream.
      const stream = (await events.xrange(`bull:${queue}:events`, '-', '+')) as [string, string[]][];
      const completed = stream.filter(([, fields]) => fields[1] === 'completed' && fields.includes(id));
      expect(completed).toHaveLength(1);
      const connection = events.duplicate({ maxRetriesPerRequest: null });
      const q = new Queue(queue, { connection });
      const job = await q.getJob(id);
      expect(job?.stalledCounter).toBeGreaterThanOrEqual(1);
      await q.close();
      connection.disconnect();
    } finally {
      events.disconnect();
      await client.close();
    }
  });

  it('Redis restarted mid-run: the worker and the client reconnect and no job is lost', async () => {
    const queue = freshQueue();
    await startWorker(redis.url, queue, ['--concurrency', '2']);
    const client = new EdictQueue({ connection: redis.url, queue });
    try {
      const jobs = Array.from({ length: 8 }, (_, i) => client.edit(image, { source: SOURCE, target: TARGET, steps: 200, seed: i }));
      await new Promise((r) => setTimeout(r, 300));
      await redis.down();
      await new Promise((r) => setTimeout(r, 1000));
      await redis.up();
      const results = await Promise.all(jobs);
      expect(results).toHaveLength(8);
      for (const r of results) expect(r.images).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('the queue backend of edict serve --queue: ready with a worker, results through it; SIGTERM: the running job finishes and the worker exits 0', async () => {
    const queue = freshQueue();
    const backend = new QueueBackend({ connection: redis.url, queue });
    try {
      expect((await backend.ready()).ready).toBe(false);
      const worker = await startWorker(redis.url, queue);
      expect(await backend.ready()).toEqual({ ready: true });
      expect(backend.counters()).toBe(null);
      let progressed = false;
      const running = backend.edit(image, LONG, { onProgress: () => (progressed = true) });
      while (!progressed) await new Promise((r) => setTimeout(r, 20));
      worker.child.kill('SIGTERM');
      expect((await running).images).toHaveLength(1);
      expect(await worker.exited).toBe(0);
      expect(worker.output()).toMatch(/stopped/);
    } finally {
      await backend.close();
    }
  });
});

it('the HTTP service fronts the workers: POST /v1/edit and /v1/invert through the queue backend, typed errors kept', async () => {
  const queue = freshQueue();
  await startWorker(redis.url, queue);
  const server = await EdictServer.create({ backend: new QueueBackend({ connection: redis.url, queue }) });
  try {
    const url = await server.listen({ port: 0 });
    const post = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const edited = await post('/v1/edit', { image: image.toString('base64'), source: SOURCE, target: TARGET, steps: 5 });
    expect(edited.status).toBe(200);
    expect((await sharp(Buffer.from(await edited.arrayBuffer())).metadata()).format).toBe('png');
    const inverted = await post('/v1/invert', { image: image.toString('base64'), prompt: SOURCE, steps: 5 });
    expect(inverted.ok).toBe(true);
    const poison = await post('/v1/edit', { image: Buffer.from('not an image').toString('base64'), source: SOURCE, target: TARGET, steps: 5 });
    expect(poison.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(await poison.json())).toMatch(/ERR_IMAGE_DECODE/);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  } finally {
    await server.close();
  }
});

it('edict serve --queue (the CLI): a front end with no model, an edit through a worker, `both` and typed errors kept, exit 0 on SIGTERM', async () => {
  const queue = freshQueue();
  await startWorker(redis.url, queue);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', '--json', 'serve', '--port', '0', '--queue', redis.url, '--queue-name', queue],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (!stdout.includes('"type":"ready"')) {
      if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}: ${stdout} ${stderr}`);
      if (Date.now() > deadline) throw new Error(`serve did not get ready: ${stdout} ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const { url } = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; url: string }).find((r) => r.type === 'listening')!;
    const post = (body: unknown) => fetch(`${url}/v1/edit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const edited = await post({ image: image.toString('base64'), source: SOURCE, target: TARGET, steps: 5 });
    expect(edited.status).toBe(200);
    expect((await sharp(Buffer.from(await edited.arrayBuffer())).metadata()).format).toBe('png');
    const both = await post({ image: image.toString('base64'), source: SOURCE, target: TARGET, steps: 5, both: true });
    const body = (await both.json()) as { images: string[]; imagesY: string[] };
    expect([body.images.length, body.imagesY.length]).toEqual([1, 1]);
    const poison = await post({ image: Buffer.from('not an image').toString('base64'), source: SOURCE, target: TARGET, steps: 5 });
    expect(JSON.stringify(await poison.json())).toMatch(/ERR_IMAGE_DECODE/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/"type":"stopped"/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 120_000);

it('redis-server is there and never on the standard port', () => {
  expect(redis.port).not.toBe(6379);
  expect(existsSync(join(redis.dir))).toBe(true);
});
