/**
 * EdictQueue: a typed client of the `edict worker` queue, usable from any process. Each call
 * validates its options with the API's own schemas (a bad job fails here with the EdictError
 * the API would throw), enqueues a BullMQ job and awaits its result through QueueEvents,
 * answering with the same shapes as the HTTP service's backend (src/service/backend.ts).
 * A failed job comes back as the EdictError the worker met (its code kept); cancel() removes a
 * waiting job, or asks the worker running it to stop between UNet calls (ERR_CANCELLED).
 *
 *   const q = new EdictQueue({ connection: 'redis://127.0.0.1:6379' });
 *   const { images } = await q.edit(png, { source: 'a red circle', target: 'a blue circle', steps: 20 });
 *   await q.close();
 */
import { randomUUID } from 'node:crypto';

import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';

import { EdictError, ErrorCode, toEdictError } from '../errors.js';
import type { Progress } from '../options.js';
import type {
  CallContext,
  EditRequest,
  EditResponse,
  GenerateRequest,
  GenerateResponse,
  InvertRequest,
  InvertResponse,
  ReconstructRequest,
  ReconstructResponse,
} from '../service/backend.js';
import { CANCEL_KEY_TTL_S, cancelChannel, cancelKey, DEFAULT_QUEUE, QUEUE_STREAM_MAX_LEN, redisConnection } from './connection.js';
import { blobBytes, errorFromFailure, makeJob, type JobData, type JobKind, type JobResult, type JobSettings } from './jobs.js';

export interface EdictQueueOptions {
  /** redis://host:port */
  connection: string;
  /** The queue name (default "edict"): the workers' --queue. */
  queue?: string;
  /** Finished jobs kept in Redis for inspection (default 1000 completed, 1000 failed). */
  keepCompleted?: number;
  keepFailed?: number;
  /** How often jobs still awaited are looked up, in case their event was missed (ms, default 1000). */
  pollMs?: number;
}

/** Per call: the HTTP service's context plus where the result goes. */
export interface QueueCallContext extends CallContext, JobSettings {
  /** Called with the job's id once it is enqueued (for cancel(id) from elsewhere). */
  onEnqueued?: (jobId: string) => void;
}

interface Pending {
  resolve: (result: JobResult) => void;
  reject: (error: EdictError) => void;
  onProgress?: (progress: Progress) => void;
  enqueued: boolean;
}

export class EdictQueue {
  readonly name: string;
  private readonly queue: Queue<JobData, JobResult>;
  private readonly events: QueueEvents;
  private readonly connections: Redis[];
  private readonly pending = new Map<string, Pending>();
  private readonly started: Promise<void>;
  private poller: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: EdictQueueOptions) {
    if (typeof options?.connection !== 'string' || !/^rediss?:\/\//.test(options.connection)) {
      throw new EdictError(ErrorCode.InvalidOption, 'EdictQueue: connection must be a redis:// (or rediss://) URL');
    }
    this.name = options.queue ?? DEFAULT_QUEUE;
    const main = redisConnection(options.connection);
    const blocking = redisConnection(options.connection);
    this.connections = [main, blocking];
    // Errors while Redis is away are retried by ioredis; listeners keep them from crashing the process.
    main.on('error', () => undefined);
    blocking.on('error', () => undefined);
    this.queue = new Queue<JobData, JobResult>(this.name, { connection: main, streams: { events: { maxLen: QUEUE_STREAM_MAX_LEN } } });
    this.queue.on('error', () => undefined);
    this.events = new QueueEvents(this.name, { connection: blocking });
    this.events.on('error', () => undefined);
    this.events.on('completed', ({ jobId, returnvalue }) => {
      const value = typeof returnvalue === 'string' ? safeParse(returnvalue) : returnvalue;
      if (value && typeof value === 'object') this.settle(jobId, { result: value as unknown as JobResult });
      else void this.lookUp(jobId);
    });
    this.events.on('failed', ({ jobId, failedReason }) => this.settle(jobId, { error: errorFromFailure(failedReason) }));
    this.events.on('progress', ({ jobId, data }) => {
      const p = this.pending.get(jobId);
      if (p?.onProgress && data && typeof data === 'object') p.onProgress(data as unknown as Progress);
    });
    this.started = Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]).then(() => undefined);
    this.started.catch(() => undefined);
    this.poller = setInterval(() => void this.poll(), options.pollMs ?? 1000);
    this.poller.unref();
  }

  edit(image: Buffer, request: EditRequest, context: QueueCallContext = {}): Promise<EditResponse> {
    return this.call('edit', image, request, context, async (r) => ({
      images: await Promise.all((r.images ?? []).map(blobBytes)),
      ...(r.imagesY ? { imagesY: await Promise.all(r.imagesY.map(blobBytes)) } : {}),
      timings: r.timings!,
      warnings: r.warnings,
    }));
  }

  invert(image: Buffer, request: InvertRequest, context: QueueCallContext = {}): Promise<InvertResponse> {
    return this.call('invert', image, request, context, async (r) => ({
      latents: await blobBytes(r.latents!),
      ...(r.timings ? { timings: r.timings } : {}),
      warnings: r.warnings,
    }));
  }

  /** latents: a .safetensors file made by invert. */
  generate(latents: Buffer, request: GenerateRequest, context: QueueCallContext = {}): Promise<GenerateResponse> {
    return this.call('generate', latents, request, context, async (r) => ({
      images: await Promise.all((r.images ?? []).map(blobBytes)),
      ...(r.imagesY ? { imagesY: await Promise.all(r.imagesY.map(blobBytes)) } : {}),
      latents: await blobBytes(r.latents!),
      timings: r.timings!,
      warnings: r.warnings,
    }));
  }

  reconstruct(image: Buffer, request: ReconstructRequest, context: QueueCallContext = {}): Promise<ReconstructResponse> {
    return this.call('reconstruct', image, request, context, async (r) => ({
      image: await blobBytes(r.image!),
      ...r.metrics!,
      timings: r.timings!,
      warnings: r.warnings,
    }));
  }

  /**
   * Cancels a job: a waiting one is removed (its call rejects with ERR_CANCELLED); a running one
   * is stopped by its worker between UNet calls. False if no such job is waiting or running.
   */
  async cancel(jobId: string): Promise<boolean> {
    await this.started;
    const job = await Job.fromId<JobData, JobResult>(this.queue, jobId);
    if (!job) return false;
    const state = await job.getState();
    if (state === 'completed' || state === 'failed' || state === 'unknown') return false;
    if (state !== 'active') {
      try {
        await job.remove();
        this.settle(jobId, { error: new EdictError(ErrorCode.Cancelled, 'the job was cancelled before it started') });
        return true;
      } catch {
        // Taken by a worker meanwhile: ask it to stop.
      }
    }
    // The key first (a worker cut off from Redis finds it when it is back), then the message.
    await this.connections[0].set(cancelKey(this.name, jobId), '1', 'EX', CANCEL_KEY_TTL_S);
    await this.connections[0].publish(cancelChannel(this.name), jobId);
    return true;
  }

  /** Workers listening on the queue, and jobs waiting / running. */
  async status(): Promise<{ workers: number; waiting: number; active: number }> {
    await this.started;
    const [workers, counts] = await Promise.all([this.queue.getWorkersCount(), this.queue.getJobCounts('waiting', 'prioritized', 'active')]);
    return { workers, waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0), active: counts.active ?? 0 };
  }

  /** Stops awaiting (pending calls reject with ERR_CANCELLED; their jobs stay queued) and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poller);
    for (const [id] of this.pending) this.settle(id, { error: new EdictError(ErrorCode.Cancelled, 'the queue client was closed') });
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    for (const c of this.connections) c.disconnect();
  }

  private async call<R>(kind: JobKind, input: Buffer, request: object, context: QueueCallContext, decode: (r: JobResult) => Promise<R>): Promise<R> {
    if (this.closed) throw new EdictError(ErrorCode.Disposed, 'the queue client is closed');
    const data = makeJob(kind, input, request, { outputDir: context.outputDir, maxResultBytes: context.maxResultBytes });
    if (context.signal?.aborted) throw new EdictError(ErrorCode.Cancelled, 'the operation was cancelled');
    const jobId = randomUUID();
    const result = new Promise<JobResult>((resolve, reject) => {
      this.pending.set(jobId, { resolve, reject, onProgress: context.onProgress, enqueued: false });
    });
    result.catch(() => undefined); // settled before it is awaited (a cancel during add): no unhandled rejection
    const onAbort = () => void this.cancel(jobId).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.started;
      const priority = typeof request === 'object' && 'priority' in request ? (request as { priority?: number }).priority : undefined;
      await this.queue.add(kind, data, {
        jobId,
        ...(priority !== undefined && priority !== 0 ? { priority: 101 - priority } : {}),
        removeOnComplete: { count: this.options.keepCompleted ?? 1000 },
        removeOnFail: { count: this.options.keepFailed ?? 1000 },
      });
      const p = this.pending.get(jobId);
      if (p) p.enqueued = true;
      context.onEnqueued?.(jobId);
      context.signal?.addEventListener('abort', onAbort, { once: true });
      // timeoutMs counts from here, queued or running (the worker's API call also applies it
      // from when the job starts): past it the job is cancelled and the call rejects.
      const timeoutMs = (request as { timeoutMs?: number }).timeoutMs;
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.settle(jobId, { error: new EdictError(ErrorCode.Timeout, `the job did not finish within timeoutMs (${timeoutMs} ms), queued or running`) });
          void this.cancel(jobId).catch(() => undefined);
        }, timeoutMs);
      }
      return await decode(await result);
    } catch (error) {
      this.pending.delete(jobId);
      throw toEdictError(error, ErrorCode.Io);
    } finally {
      clearTimeout(timer);
      context.signal?.removeEventListener('abort', onAbort);
    }
  }

  private settle(jobId: string, outcome: { result: JobResult } | { error: EdictError }): void {
    const p = this.pending.get(jobId);
    if (!p) return;
    this.pending.delete(jobId);
    if ('result' in outcome) p.resolve(outcome.result);
    else p.reject(outcome.error);
  }

  /** Settles a job from its record (an event missed while Redis was away, or trimmed). */
  private async lookUp(jobId: string): Promise<void> {
    const job = await Job.fromId<JobData, JobResult>(this.queue, jobId);
    if (!job) return;
    if (job.finishedOn && job.returnvalue && !job.failedReason) this.settle(jobId, { result: job.returnvalue });
    else if (job.failedReason && (await job.getState()) === 'failed') this.settle(jobId, { error: errorFromFailure(job.failedReason) });
  }

  private polling = false;
  private async poll(): Promise<void> {
    if (this.polling || this.pending.size === 0) return;
    this.polling = true;
    try {
      for (const [id, p] of [...this.pending]) {
        if (!p.enqueued) continue;
        const state = await this.queue.getJobState(id);
        if (state === 'completed' || state === 'failed') await this.lookUp(id);
      }
    } catch {
      // Redis away: the next poll tries again.
    } finally {
      this.polling = false;
    }
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
