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

/** The queue options shared by client and worker: bounded events and kept jobs. */
export const QUEUE_STREAM_MAX_LEN = 200;
