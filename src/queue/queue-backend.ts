/**
 * The HTTP service's backend for `edict serve --queue redis://...`: it enqueues on the workers'
 * queue (EdictQueue) instead of computing, so one front end serves many worker machines.
 */
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
  ServiceBackend,
} from '../service/backend.js';
import type { SchedulerCounters } from '../pipeline.js';
import { EdictQueue, type EdictQueueOptions } from './client.js';

export interface QueueBackendOptions extends EdictQueueOptions {
  /** Jobs waiting beyond which /readyz says not ready (default: no limit). */
  maxWaiting?: number;
}

export class QueueBackend implements ServiceBackend {
  readonly client: EdictQueue;

  constructor(private readonly options: QueueBackendOptions) {
    this.client = new EdictQueue(options);
  }

  edit(image: Buffer, request: EditRequest, context: CallContext): Promise<EditResponse> {
    return this.client.edit(image, request, context);
  }

  invert(image: Buffer, request: InvertRequest, context: CallContext): Promise<InvertResponse> {
    return this.client.invert(image, request, context);
  }

  generate(latents: Buffer, request: GenerateRequest, context: CallContext): Promise<GenerateResponse> {
    return this.client.generate(latents, request, context);
  }

  reconstruct(image: Buffer, request: ReconstructRequest, context: CallContext): Promise<ReconstructResponse> {
    return this.client.reconstruct(image, request, context);
  }

  async ready(): Promise<{ ready: boolean; reason?: string }> {
    let status: { workers: number; waiting: number };
    try {
      status = await withTimeout(this.client.status(), 2000);
    } catch {
      return { ready: false, reason: 'Redis is not reachable' };
    }
    if (status.workers === 0) return { ready: false, reason: `no worker is listening on queue "${this.client.name}"` };
    if (this.options.maxWaiting !== undefined && status.waiting >= this.options.maxWaiting) {
      return { ready: false, reason: `the queue is full (${status.waiting} of ${this.options.maxWaiting} jobs waiting)` };
    }
    return { ready: true };
  }

  counters(): SchedulerCounters | null {
    return null;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), ms)))]).finally(() => clearTimeout(timer));
}
