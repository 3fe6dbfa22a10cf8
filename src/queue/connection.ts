/**
 * Redis connections for BullMQ. Our package is ESM and bullmq's ESM build loads ioredis only
 * through `require`, so the client is built here and passed as `connection`. maxRetriesPerRequest
 * null: a command waits out a Redis restart instead of failing (BullMQ requires it for workers).
 */
import { Redis } from 'ioredis';

export const DEFAULT_QUEUE = 'edict';

export function redisConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

/** The pub/sub channel on which clients ask workers to cancel a running job. */
export function cancelChannel(queue: string): string {
  return `edict:${queue}:cancel`;
}

/**
 * A running job's cancel, kept as a key too: a published message is lost on a worker cut off
 * from Redis at that moment, so workers also look for these keys while they run jobs.
 */
export function cancelKey(queue: string, jobId: string): string {
  return `edict:${queue}:cancelled:${jobId}`;
}

/** How long a cancel key lives (seconds): longer than any job's lock-and-retry cycle. */
export const CANCEL_KEY_TTL_S = 24 * 3600;

/** How often a worker running jobs looks for their cancel keys (ms). */
export const CANCEL_POLL_MS = 1000;

/** The queue options shared by client and worker: bounded events and kept jobs. */
export const QUEUE_STREAM_MAX_LEN = 200;
