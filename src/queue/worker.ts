/**
 * A queue worker: one Edict pipeline consuming a BullMQ queue of edit / invert / generate /
 * reconstruct jobs (src/queue/jobs.ts). Its concurrency (default 8) lets jobs that arrive
 * together run at once, so the pipeline's step scheduler batches their UNet calls. Progress goes
 * to job.updateProgress; a cancel published by a client (EdictQueue.cancel) aborts the job's
 * call between UNet calls; a job's typed failure (a poison image: ERR_IMAGE_DECODE) fails that
 * job alone, unrecoverably (not retried), as `CODE: message`. Locks are short (jobs take
 * seconds), so a worker killed mid-job loses its lock quickly and another one picks the job up.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';

import { EdictError, ErrorCode, toEdictError } from '../errors.js';
import { Latents } from '../latents.js';
import type { Progress } from '../options.js';
import { Edict, type LoadOptions } from '../pipeline.js';
import { pngs } from '../service/local-backend.js';
import { CANCEL_POLL_MS, cancelChannel, cancelKey, DEFAULT_QUEUE, redisConnection } from './connection.js';
import { failureMessage, packResult, type JobData, type JobResult } from './jobs.js';

export interface EdictWorkerOptions {
  /** redis://host:port */
  redis: string;
  queue?: string;
  /** Jobs run at once (default 8). */
  concurrency?: number;
  /** The model folder (default: the bundled model). */
  model?: string;
  load?: Omit<LoadOptions, 'onWarning'>;
  /** How long a job's lock lasts without renewal (ms, default 10000): a dead worker's job is retaken after it. */
  lockDuration?: number;
  /** How often workers look for stalled jobs (ms, default lockDuration / 2). */
  stalledInterval?: number;
  /** Times a job may stall (its worker die) before it fails (default 2). */
  maxStalledCount?: number;
  /** Pipeline warnings and worker events. */
  log?: (message: string) => void;
}

export class EdictWorker {
  private constructor(
    readonly edict: Edict,
    readonly worker: Worker<JobData, JobResult>,
    private readonly connections: Redis[],
    private readonly cancelPoll: NodeJS.Timeout,
  ) {}

  static async start(options: EdictWorkerOptions): Promise<EdictWorker> {
    const log = options.log ?? (() => undefined);
    const queue = options.queue ?? DEFAULT_QUEUE;
    const edict = await Edict.load(options.model, { ...options.load, onWarning: (m) => log(`warning: ${m}`) });
    const connection = redisConnection(options.redis);
    const subscriber = redisConnection(options.redis);
    const lockDuration = options.lockDuration ?? 10_000;
    let worker: Worker<JobData, JobResult>;
    const running = new Set<string>();
    const run = async (job: Job<JobData, JobResult>, signal: AbortSignal | undefined) => {
      if (job.id) running.add(job.id);
      try {
        return await runJob(edict, job, signal);
      } finally {
        if (job.id) running.delete(job.id);
      }
    };
    try {
      worker = new Worker<JobData, JobResult>(queue, (job, _token, signal) => run(job, signal), {
        connection,
        concurrency: options.concurrency ?? 8,
        lockDuration,
        stalledInterval: options.stalledInterval ?? Math.max(500, Math.floor(lockDuration / 2)),
        maxStalledCount: options.maxStalledCount ?? 2,
        autorun: false,
      });
      worker.on('error', (error) => log(`redis: ${error.message}`));
      worker.on('failed', (job, error) => log(`job ${job?.id} failed: ${error.message}`));
      // Cancels published by clients: only this process can abort its own running job.
      subscriber.on('message', (_channel, jobId: string) => {
        if (worker.cancelJob(jobId, 'cancelled')) log(`job ${jobId} cancelled`);
      });
      subscriber.on('error', (error) => log(`redis (cancel channel): ${error.message}`));
      await subscriber.subscribe(cancelChannel(queue));
      void worker.run().catch((error: Error) => log(`worker stopped: ${error.message}`));
      await worker.waitUntilReady();
    } catch (error) {
      subscriber.disconnect();
      connection.disconnect();
      await edict.dispose();
      throw toEdictError(error, ErrorCode.Io);
    }
    // The fallback for cancels whose message this worker missed: their keys, while jobs run.
    let polling = false;
    const cancelPoll = setInterval(() => {
      if (polling || running.size === 0 || connection.status !== 'ready') return;
      polling = true;
      const ids = [...running];
      connection
        .mget(ids.map((id) => cancelKey(queue, id)))
        .then((flags) => {
          flags.forEach((flag, i) => {
            if (flag && worker.cancelJob(ids[i], 'cancelled')) log(`job ${ids[i]} cancelled`);
          });
        })
        .catch(() => undefined) // Redis away: the next poll asks again
        .finally(() => (polling = false));
    }, CANCEL_POLL_MS);
    cancelPoll.unref();
    return new EdictWorker(edict, worker, [connection, subscriber], cancelPoll);
  }

  /** Stops taking jobs, lets the running ones finish (or, with force, cancels them), then disposes the pipeline. */
  async close(force = false): Promise<void> {
    clearInterval(this.cancelPoll);
    if (force) this.worker.cancelAllJobs('the worker is shutting down');
    await this.worker.close(force);
    for (const c of this.connections) c.disconnect();
    await this.edict.dispose();
  }
}

async function runJob(edict: Edict, job: Job<JobData, JobResult>, signal: AbortSignal | undefined): Promise<JobResult> {
  const data = job.data;
  let lastProgress = 0;
  const onProgress = (p: Progress) => {
    const now = Date.now();
    if (now - lastProgress < 200 && p.step < p.total) return;
    lastProgress = now;
    job.updateProgress({ phase: p.phase, step: p.step, total: p.total }).catch(() => undefined);
  };
  const warnings: string[] = [];
  const options = {
    ...data.options,
    ...(signal ? { signal } : {}),
    onProgress,
    onWarning: (message: string) => warnings.push(message),
  };
  const merge = (more: string[]) => [...new Set([...warnings, ...more])];
  try {
    const input = Buffer.from(data.input, 'base64');
    const id = job.id ?? 'job';
    switch (data.kind) {
      case 'edit': {
        const r = await edict.edit(input, options as never);
        return await packResult(data, id, await pngs(r), { timings: r.timings, warnings: merge(r.warnings) });
      }
      case 'invert': {
        const latents = await edict.invert(input, options as never);
        return await packResult(data, id, { latents: latents.toSafeTensors() }, { warnings: merge([]) });
      }
      case 'generate': {
        const r = await edict.generate(Latents.fromSafeTensors(input, 'latents'), options as never);
        return await packResult(data, id, { ...(await pngs(r)), latents: r.latents.toSafeTensors() }, { timings: r.timings, warnings: merge(r.warnings) });
      }
      case 'reconstruct': {
        const r = await edict.reconstruct(input, options as never);
        return await packResult(
          data,
          id,
          { image: await r.image.toPng() },
          {
            timings: r.timings,
            warnings: merge(r.warnings),
            metrics: {
              latentMaxAbsError: r.latentMaxAbsError,
              latentRmsError: r.latentRmsError,
              pixelPsnr: r.pixelPsnr,
              vaePsnr: r.vaePsnr,
              roundTripPsnr: r.roundTripPsnr,
            },
          },
        );
      }
      default:
        throw new EdictError(ErrorCode.InvalidOption, `unknown job kind ${JSON.stringify((data as { kind: unknown }).kind)}`);
    }
  } catch (error) {
    const typed = signal?.aborted && !(error instanceof EdictError && error.code !== ErrorCode.Cancelled)
      ? new EdictError(ErrorCode.Cancelled, 'the job was cancelled')
      : toEdictError(error);
    // Typed failures are the job's own (bad input, cancelled): retrying cannot help.
    throw new UnrecoverableError(failureMessage(typed));
  }
}
