/**
 * edict worker --redis redis://host:port [--queue edict] [--concurrency 8] [--policy continuous] ...
 * A queue worker (src/queue/worker.ts): it loads the model with the global --model / --device /
 * --dtype / --threads, consumes the BullMQ queue's edit / invert / generate / reconstruct jobs
 * (enqueued by EdictQueue or `edict serve --queue`) until SIGTERM or Ctrl-C, then stops taking
 * jobs, finishes the running ones and exits 0 (a second signal exits at once; their jobs are
 * retaken by another worker once their lock expires). Guide: docs/workers.md.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';

import { loadManifest } from '../manifest.js';
import { EdictWorker } from '../queue/worker.js';
import { interrupt } from './context.js';
import { UsageError } from './errors.js';
import { examples, globalOptions, positiveIntArg } from './options.js';
import { jsonLine } from './output.js';

interface WorkerValues {
  redis: string;
  queue: string;
  concurrency: number;
  policy: 'continuous' | 'request' | 'serial';
  maxBatch: number;
  lockMs: number;
  maxStalled: number;
}

function redisArg(text: string): string {
  if (!/^rediss?:\/\/[^\s]+$/.test(text)) throw new InvalidArgumentError('must be a redis:// (or rediss://) URL, e.g. redis://127.0.0.1:6379');
  return text;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .summary('consume a Redis (BullMQ) queue of edit / invert / generate / reconstruct jobs')
    .description(
      'Runs a queue worker: it loads the model once and runs the jobs of the BullMQ queue --queue on ' +
        'the Redis at --redis, --concurrency at a time so that the step scheduler (--policy) batches ' +
        'jobs that arrive together. Jobs are enqueued by the EdictQueue client or by "edict serve --queue". ' +
        "A job whose worker dies is retaken by another once its lock (--lock-ms) expires. SIGTERM or Ctrl-C: stop " +
        'taking jobs, finish the running ones, exit 0. Guide: docs/workers.md.',
    )
    .addOption(new Option('--redis <url>', 'the Redis server, redis://[user:password@]host:port[/db]').argParser(redisArg).makeOptionMandatory())
    .addOption(new Option('--queue <name>', 'the queue name').default('edict'))
    .addOption(new Option('--concurrency <n>', 'jobs run at once (their UNet calls batch together)').argParser(positiveIntArg(1024)).default(8))
    .addOption(new Option('--policy <policy>', 'how concurrent jobs share UNet calls').choices(['continuous', 'request', 'serial']).default('continuous'))
    .addOption(new Option('--max-batch <n>', 'items per UNet call').argParser(positiveIntArg(4096)).default(8))
    .addOption(new Option('--lock-ms <ms>', "a job's lock; a dead worker's job is retaken after it").argParser(positiveIntArg(2 ** 31 - 1)).default(10_000))
    .addOption(new Option('--max-stalled <n>', 'times a job may lose its worker before it fails').argParser(positiveIntArg(1000)).default(2))
    .addHelpText(
      'after',
      examples([
        'edict worker --redis redis://127.0.0.1:6379',
        'edict --device cuda:0 worker --redis redis://queue.internal:6379 --queue edict --concurrency 16',
      ]),
    )
    .action(async (o: WorkerValues, cmd: Command) => {
      const g = globalOptions(cmd);
      try {
        loadManifest(g.model);
      } catch (error) {
        throw new UsageError(`option '--model' argument '${g.model}' is invalid: ${(error as Error).message}`);
      }
      const say = (record: { type: string } & Record<string, unknown>, text: string) =>
        process.stdout.write(g.json ? jsonLine(record) : `edict worker: ${text}\n`);
      const log = (message: string) => process.stderr.write(`edict worker: ${message}\n`);
      const worker = await EdictWorker.start({
        redis: o.redis,
        queue: o.queue,
        concurrency: o.concurrency,
        model: g.model,
        load: { device: g.device, dtype: g.dtype, threads: g.threads, maxWorkPixels: g.maxWorkPixels, batching: { policy: o.policy, maxBatch: o.maxBatch } },
        lockDuration: o.lockMs,
        maxStalledCount: o.maxStalled,
        log,
      });
      say(
        { type: 'ready', queue: o.queue, concurrency: o.concurrency, policy: o.policy, pid: process.pid },
        `ready on queue "${o.queue}" (concurrency ${o.concurrency}, policy ${o.policy}, pid ${process.pid})`,
      );
      await new Promise<void>((resolve) => {
        if (interrupt.signal.aborted) resolve();
        interrupt.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      say({ type: 'stopping' }, 'stopping: no new jobs, finishing the running ones');
      await worker.close();
      say({ type: 'stopped' }, 'stopped');
    });
}
