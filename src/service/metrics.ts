/**
 * The service's Prometheus metrics (prom-client, in a registry of the server's own so that two
 * servers in one process do not share counts). Triton's metric set is the anchor: request
 * counts by outcome (nv_inference_request_success / _failure{reason}), queue and compute
 * durations (nv_inference_queue_duration_us, nv_inference_compute_infer_duration_us), pending
 * requests (nv_inference_pending_request_count) and the batch sizes the scheduler formed
 * (nv_inference_exec_count against nv_inference_count). The scheduler's numbers are read from
 * the backend's counters() at scrape time, not copied on every request.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { SchedulerCounters, Timings } from '../pipeline.js';
import { OUTCOMES, type Outcome } from './status.js';

/** Seconds, from a 32x32 edit on a CPU (tens of ms) to an SD edit queued behind others (minutes). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 600];
/** Items per UNet call. */
const BATCH_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128];

type Sample = { value: number; labels?: Record<string, string | number>; metricName?: string };

/**
 * A metric computed when scraped (prom-client's registry accepts any object with a name and a
 * get()): used for the scheduler's counters and its batch-size histogram, whose bucket counts
 * come whole from counters().batchSizes.
 */
class Snapshot {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly read: () => Sample[],
  ) {}

  get(): { name: string; help: string; type: string; values: Sample[]; aggregator: 'sum' } {
    return { name: this.name, help: this.help, type: this.type, values: this.read(), aggregator: 'sum' };
  }

  // The registry's interface beyond get() (never used for these metrics, present for its type).
  reset(): void {}
}

export interface ServiceMetricsOptions {
  /** The scheduler's counters now, or null (a queue backend, or a closed pipeline). */
  counters: () => SchedulerCounters | null;
  /** Latents kept by the store, per tier. */
  latents: () => { memory: number; disk: number };
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'outcome'>;
  private readonly errors: Counter<'route' | 'code'>;
  private readonly duration: Histogram<'route' | 'outcome'>;
  private readonly queue: Histogram<'route'>;
  private readonly compute: Histogram<'route'>;
  private readonly inFlight: Gauge<'route'>;

  constructor(options: ServiceMetricsOptions) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'edict_http_requests_total',
      help: 'HTTP requests to the /v1 routes by route and outcome (ok, rejected, cancelled, timed_out, failed, bad_request)',
      labelNames: ['route', 'outcome'],
      registers,
    });
    this.errors = new Counter({
      name: 'edict_http_request_errors_total',
      help: 'Failed /v1 requests by route and error code (the body\'s error.code)',
      labelNames: ['route', 'code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'edict_http_request_duration_seconds',
      help: 'Wall time of /v1 requests, from the first byte in to the last byte out',
      labelNames: ['route', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.queue = new Histogram({
      name: 'edict_queue_duration_seconds',
      help: "Time a request's native jobs waited for the compute thread and for admission (timings.queueSeconds)",
      labelNames: ['route'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.compute = new Histogram({
      name: 'edict_compute_duration_seconds',
      help: "Time a request's native jobs computed (encode, invert, generate and decode seconds)",
      labelNames: ['route'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.inFlight = new Gauge({ name: 'edict_http_requests_in_flight', help: '/v1 requests being served', labelNames: ['route'], registers });

    const scheduler = (read: (c: SchedulerCounters) => Sample[]) => () => {
      const counters = options.counters();
      return counters ? read(counters) : [];
    };
    const add = (metric: Snapshot) => this.registry.registerMetric(metric as never);
    add(new Snapshot('edict_pending_calls', 'Sampling calls waiting for admission (the scheduler queue)', 'gauge', scheduler((c) => [{ value: c.queued }])));
    add(new Snapshot('edict_active_calls', 'Sampling calls admitted and running', 'gauge', scheduler((c) => [{ value: c.activeCalls }])));
    add(new Snapshot('edict_active_items', 'Batch items of the running sampling calls', 'gauge', scheduler((c) => [{ value: c.activeItems }])));
    add(
      new Snapshot(
        'edict_scheduler_calls_total',
        'Sampling calls by what happened to them: admitted, completed, failed, cancelled, timed_out, rejected (queue full)',
        'counter',
        scheduler((c) =>
          (
            [
              ['admitted', c.admitted],
              ['completed', c.completed],
              ['failed', c.failed],
              ['cancelled', c.cancelled],
              ['timed_out', c.timedOut],
              ['rejected', c.rejected],
            ] as const
          ).map(([event, value]) => ({ value, labels: { event } })),
        ),
      ),
    );
    add(new Snapshot('edict_scheduler_rounds_total', 'Scheduler rounds', 'counter', scheduler((c) => [{ value: c.rounds }])));
    add(new Snapshot('edict_unet_calls_total', 'UNet calls (each shared by every item of its round)', 'counter', scheduler((c) => [{ value: c.unetCalls }])));
    add(new Snapshot('edict_unet_items_total', 'Batch items evaluated by UNet calls', 'counter', scheduler((c) => [{ value: c.unetItems }])));
    add(new Snapshot('edict_unet_seconds_total', 'Time inside UNet calls', 'counter', scheduler((c) => [{ value: c.unetSeconds }])));
    add(new Snapshot('edict_queue_wait_seconds_total', 'Summed queue wait of the sampling calls', 'counter', scheduler((c) => [{ value: c.queueWaitSeconds }])));
    add(new Snapshot('edict_unet_batch_size', 'Items per UNet call', 'histogram', scheduler((c) => batchHistogram('edict_unet_batch_size', c.batchSizes))));
    add(
      new Snapshot('edict_latents_stored', 'Latents kept for /v1/generate, by tier (memory, disk)', 'gauge', () => {
        const { memory, disk } = options.latents();
        return [
          { value: memory, labels: { tier: 'memory' } },
          { value: disk, labels: { tier: 'disk' } },
        ];
      }),
    );
    collectDefaultMetrics({ register: this.registry });
  }

  /** Zeroes every (route, outcome) pair, so that rates exist before the first failure. */
  declareRoutes(routes: string[]): void {
    for (const route of routes) for (const outcome of OUTCOMES) this.requests.inc({ route, outcome }, 0);
  }

  started(route: string): () => void {
    this.inFlight.inc({ route });
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.inFlight.dec({ route });
    };
  }

  finished(route: string, outcome: Outcome, code: string | null, seconds: number): void {
    this.requests.inc({ route, outcome });
    if (code) this.errors.inc({ route, code });
    this.duration.observe({ route, outcome }, seconds);
  }

  timings(route: string, timings: Timings | undefined): void {
    if (!timings) return;
    this.queue.observe({ route }, timings.queueSeconds);
    this.compute.observe({ route }, timings.encodeSeconds + timings.invertSeconds + timings.generateSeconds + timings.decodeSeconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** A Prometheus histogram's samples from size -> count. */
function batchHistogram(name: string, sizes: Record<string, number>): Sample[] {
  const entries = Object.entries(sizes).map(([size, count]) => [Number(size), count] as const);
  const samples: Sample[] = [];
  let sum = 0;
  let total = 0;
  for (const [size, count] of entries) {
    sum += size * count;
    total += count;
  }
  for (const le of BATCH_BUCKETS) {
    const below = entries.filter(([size]) => size <= le).reduce((n, [, count]) => n + count, 0);
    samples.push({ metricName: `${name}_bucket`, labels: { le }, value: below });
  }
  samples.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: total });
  samples.push({ metricName: `${name}_sum`, value: sum });
  samples.push({ metricName: `${name}_count`, value: total });
  return samples;
}
