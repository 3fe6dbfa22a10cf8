/**
 * Distributed workers on one machine (a private redis-server on loopback, `edict worker`
 * child processes, the EdictQueue client in this process):
 *
 * 1. the same job stream (--jobs edits of the bundled model, all enqueued at once) through one
 *    worker with 2 intra-op threads, and through two workers with 1 thread each: wall time,
 *    jobs per second, p50/p99 latency from enqueue to result;
 * 2. faults: --fault-jobs small edits (the tiny fixture model) over two workers, one of which
 *    is SIGKILLed at a random point between 30% and 70% of the results: every job must get
 *    exactly one result (counted from the client's calls and from the queue's "completed"
 *    events, live), none lost, none duplicated.
 *
 *   npx tsx bench/workers.ts [--jobs 32] [--steps 10] [--fault-jobs 200] [--json bench/out/workers.json]
 *   npx tsx bench/workers.ts --jobs 0        # the fault run alone
 *
 * Run it on an otherwise idle machine (`uptime` load under 0.5).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { QueueEvents } from 'bullmq';

import { bundledModelDir } from '../src/pipeline.js';
import { EdictQueue } from '../src/queue/client.js';
import { redisConnection } from '../src/queue/connection.js';
import { scenePng } from '../test/helpers/images.js';
import { TestRedis } from '../test/helpers/redis.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tiny = join(root, 'test', 'fixtures', 'tiny');

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '32' },
    steps: { type: 'string', default: '10' },
    'fault-jobs': { type: 'string', default: '200' },
    json: { type: 'string' },
  },
});
const JOBS = Number(values.jobs);
const STEPS = Number(values.steps);
const FAULT_JOBS = Number(values['fault-jobs']);


async function startWorker(url: string, queue: string, model: string, threads: number, extra: string[] = []): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', '--model', model, '--threads', String(threads), 'worker', '--redis', url, '--queue', queue, ...extra],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  while (!/ready on queue/.test(text)) {
    if (child.exitCode !== null) throw new Error(`worker exited: ${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function stream(url: string, queue: string, layout: { workers: number; threads: number }, image: Buffer) {
  const workers = await Promise.all(Array.from({ length: layout.workers }, () => startWorker(url, queue, bundledModelDir, layout.threads)));
  const client = new EdictQueue({ connection: url, queue });
  try {
    // Warm-up: one job per worker.
    await Promise.all(Array.from({ length: layout.workers }, () => client.edit(image, { source: 'a red circle on a blue striped background', target: 'a yellow circle on a blue striped background', steps: STEPS })));
    const start = performance.now();
    const latencies = await Promise.all(
      Array.from({ length: JOBS }, async (_, i) => {
        const t = performance.now();
        await client.edit(image, { source: 'a red circle on a blue striped background', target: 'a yellow circle on a blue striped background', steps: STEPS, seed: i });
        return performance.now() - t;
      }),
    );
    const wall = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    return { ...layout, jobs: JOBS, steps: STEPS, wallSeconds: wall, jobsPerSecond: JOBS / wall, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
  } finally {
    await client.close();
    await Promise.all(workers.map(stop));
  }
}

async function faults(url: string, queue: string, image: Buffer) {
  const workers = [await startWorker(url, queue, tiny, 1, ['--lock-ms', '3000']), await startWorker(url, queue, tiny, 1, ['--lock-ms', '3000'])];
  const client = new EdictQueue({ connection: url, queue });
  const eventsConnection = redisConnection(url);
  const events = new QueueEvents(queue, { connection: eventsConnection });
  await events.waitUntilReady();
  const completedEvents = new Map<string, number>();
  events.on('completed', ({ jobId }) => completedEvents.set(jobId, (completedEvents.get(jobId) ?? 0) + 1));
  const killAt = Math.floor(FAULT_JOBS * (0.3 + 0.4 * Math.random()));
  let done = 0;
  let killedAfter = -1;
  const settledPerCall: number[] = new Array(FAULT_JOBS).fill(0);
  const ids: string[] = new Array(FAULT_JOBS).fill('');
  const start = performance.now();
  const outcomes = await Promise.allSettled(
    Array.from({ length: FAULT_JOBS }, (_, i) =>
      client.edit(image, { source: 'a red circle', target: 'a blue circle', steps: 10, seed: i }, { onEnqueued: (id) => (ids[i] = id) }).finally(() => {
        settledPerCall[i]++;
        if ((done + 1) % Math.max(1, Math.floor(FAULT_JOBS / 10)) === 0) process.stderr.write(`faults: ${done + 1} of ${FAULT_JOBS} results\n`);
        if (++done === killAt) {
          killedAfter = done;
          workers[0].kill('SIGKILL');
        }
      }),
    ),
  );
  const wall = (performance.now() - start) / 1000;
  await new Promise((r) => setTimeout(r, 500)); // late events, if any
  const failed = outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason));
  const duplicated = ids.filter((id) => (completedEvents.get(id) ?? 0) > 1).length;
  const result = {
    jobs: FAULT_JOBS,
    killedAfterResults: killedAfter,
    results: outcomes.filter((o) => o.status === 'fulfilled').length,
    failed: failed.length,
    failures: failed.slice(0, 5),
    lost: FAULT_JOBS - outcomes.length,
    callsSettledMoreThanOnce: settledPerCall.filter((n) => n !== 1).length,
    completedEvents: [...completedEvents.values()].reduce((a, b) => a + b, 0),
    duplicatedCompletions: duplicated,
    wallSeconds: wall,
  };
  await events.close();
  eventsConnection.disconnect(); // passed in, so QueueEvents leaves it open
  await client.close();
  await Promise.all(workers.map(stop));
  return result;
}

// A stuck phase (a lost job would leave its call pending forever) is reported, not waited on.
let phase = 'start';
const watchdog = setTimeout(() => {
  process.stderr.write(`bench/workers: no end after 20 minutes, in phase "${phase}"\n`);
  process.exit(1);
}, 20 * 60_000);
watchdog.unref();

const load = loadavg()[0];
if (load > 0.5) process.stderr.write(`warning: load average ${load.toFixed(2)} (the numbers want an idle machine)\n`);
const redis = await TestRedis.start();
try {
  const image = await scenePng(64, 64);
  // --jobs 0: the fault run alone.
  phase = 'one worker, 2 threads';
  const oneWorker = JOBS > 0 ? await stream(redis.url, 'bench-1x2', { workers: 1, threads: 2 }, image) : null;
  process.stderr.write(`one worker, 2 threads: ${JSON.stringify(oneWorker)}\n`);
  phase = 'two workers, 1 thread';
  const twoWorkers = JOBS > 0 ? await stream(redis.url, 'bench-2x1', { workers: 2, threads: 1 }, image) : null;
  process.stderr.write(`two workers, 1 thread: ${JSON.stringify(twoWorkers)}\n`);
  phase = 'faults';
  const fault = await faults(redis.url, 'bench-faults', image);
  process.stderr.write(`faults: ${JSON.stringify(fault)}\n`);
  const report = {
    date: new Date().toISOString(),
    machine: { cores: availableParallelism(), loadAverageAtStart: load },
    model: 'bundled (models/scenes)',
    throughput: { oneWorkerTwoThreads: oneWorker, twoWorkersOneThread: twoWorkers, speedup: oneWorker && twoWorkers ? twoWorkers.jobsPerSecond / oneWorker.jobsPerSecond : null },
    faults: fault,
  };
  if (values.json) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (fault.results !== FAULT_JOBS || fault.duplicatedCompletions !== 0 || fault.callsSettledMoreThanOnce !== 0) process.exitCode = 1;
} finally {
  await redis.stop();
}
