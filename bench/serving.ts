/**
 * The step scheduler under load: an open-loop generator (Poisson arrivals, seeded) of edits of
 * different held-out scenes with their in-domain targets on the bundled model, at fractions of
 * the serial policy's capacity, for each admission policy. First the ceiling: UNet
 * milliseconds per item at each batch size (what batching can gain on this machine).
 *
 *   npx tsx bench/serving.ts [--json bench/out/serving.json] [--steps 20] [--requests 32]
 *     [--loads 0.25,0.5,0.75,1,1.5] [--policies continuous,request,serial] [--seed 1] [--quick]
 *
 * Per (policy, load): throughput, p50 / p95 / p99 latency of completed calls, the mean UNet
 * batch (items per UNet call, from counters()), the mean queue wait, rejections (maxQueue)
 * and failures. Run it on an otherwise idle machine.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';

import { Edict, EdictError, type SchedulerCounters } from '../src/index.js';
import { caption, createRng, heldOutCases, render } from '../src/scenes/index.js';

type Policy = 'continuous' | 'request' | 'serial';

const { values: args } = parseArgs({
  options: {
    json: { type: 'string' },
    steps: { type: 'string', default: '20' },
    strength: { type: 'string', default: '0.8' },
    requests: { type: 'string', default: '32' },
    'max-seconds': { type: 'string', default: '90' },
    loads: { type: 'string', default: '0.25,0.5,0.75,1,1.5' },
    policies: { type: 'string', default: 'continuous,request,serial' },
    'max-batch': { type: 'string', default: '8' },
    'max-queue': { type: 'string', default: '32' },
    batches: { type: 'string', default: '1,2,4,8,16,32' },
    seed: { type: 'string', default: '1' },
    quick: { type: 'boolean', default: false },
  },
});
const quick = args.quick!;
const steps = quick ? 6 : Number(args.steps);
const strength = Number(args.strength);
const requests = quick ? 6 : Number(args.requests);
const maxSeconds = Number(args['max-seconds']);
const loads = (quick ? '0.5,1.5' : args.loads!).split(',').map(Number);
const policies = args.policies!.split(',') as Policy[];
const maxBatch = Number(args['max-batch']);
const maxQueue = Number(args['max-queue']);
const batchSizes = (quick ? '1,2,4' : args.batches!).split(',').map(Number);

const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);

/** The edits: held-out scenes with their ground-truth targets, one edit kind each in turn. */
const jobs = heldOutCases().map((c, i) => {
  const edit = c.edits[i % c.edits.length];
  return { image: { data: render(c.scene), width: 32, height: 32, channels: 3 as const }, source: caption(c.scene), target: caption(edit.target) };
});

// 1. The ceiling: UNet ms per item at each batch size (guided: the UNet sees 2x the items).
async function ceiling(): Promise<{ batch: number; msPerItem: number }[]> {
  // maxBatch at least the largest size, so each measured batch is one UNet call, not several.
  const edict = await Edict.load(undefined, { batching: { policy: 'serial', maxBatch: Math.max(...batchSizes) } });
  const out: { batch: number; msPerItem: number }[] = [];
  try {
    for (const batch of batchSizes) {
      const picked = Array.from({ length: batch }, (_, i) => jobs[i % jobs.length]);
      const encoded = await edict.encodeImage(picked.map((j) => j.image));
      await edict.invert(encoded, { prompt: picked.map((j) => j.source), steps: 4, strength: 1 });
      const inverted = await edict.invert(encoded, { prompt: picked.map((j) => j.source), steps: 10, strength: 1 });
      const before = edict.counters();
      await edict.generate(inverted, { prompt: picked.map((j) => j.target) });
      const after = edict.counters();
      const calls = after.unetCalls - before.unetCalls;
      const items = after.unetItems - before.unetItems;
      if (items !== calls * batch) throw new Error(`ceiling: expected ${batch} items per UNet call, got ${items / calls}`);
      out.push({ batch, msPerItem: (1000 * (after.unetSeconds - before.unetSeconds)) / items });
      console.log(`ceiling: batch ${String(batch).padStart(2)}  ${out.at(-1)!.msPerItem.toFixed(2)} ms of UNet per item`);
    }
  } finally {
    await edict.dispose();
  }
  return out;
}

const editOptions = { steps, strength };

// 2. The serial policy's capacity: edits per second with everything queued at once; and the
// scheduler's own time per round at batch 1 (whole rounds minus their UNet calls).
async function serialCapacity(): Promise<{ capacity: number; overhead: { rounds: number; unetSeconds: number; roundSeconds: number; share: number } }> {
  const edict = await Edict.load(undefined, { batching: { policy: 'serial' } });
  try {
    await edict.edit(jobs[0].image, { ...editOptions, source: jobs[0].source, target: jobs[0].target });
    const n = Math.max(4, Math.min(12, requests));
    const before = edict.counters();
    const started = performance.now();
    await Promise.all(jobs.slice(0, n).map((j) => edict.edit(j.image, { ...editOptions, source: j.source, target: j.target })));
    const capacity = n / ((performance.now() - started) / 1000);
    const after = edict.counters();
    const unetSeconds = after.unetSeconds - before.unetSeconds;
    const roundSeconds = after.roundSeconds - before.roundSeconds;
    return { capacity, overhead: { rounds: after.rounds - before.rounds, unetSeconds, roundSeconds, share: (roundSeconds - unetSeconds) / unetSeconds } };
  } finally {
    await edict.dispose();
  }
}

interface Cell {
  policy: Policy;
  load: number;
  ratePerSecond: number;
  sent: number;
  completed: number;
  rejected: number;
  failed: number;
  throughput: number;
  p50: number;
  p95: number;
  p99: number;
  meanUnetBatch: number;
  meanQueueWaitSeconds: number;
}

// 3. Open-loop load: Poisson arrivals at `rate`, bounded by `requests` and `maxSeconds`.
async function runCell(policy: Policy, load: number, rate: number, seed: number): Promise<Cell> {
  const edict = await Edict.load(undefined, { batching: { policy, maxBatch, maxQueue } });
  try {
    await edict.edit(jobs[0].image, { ...editOptions, source: jobs[0].source, target: jobs[0].target });
    const before: SchedulerCounters = edict.counters();
    const rng = createRng(seed);
    const latencies: number[] = [];
    let rejected = 0;
    let failed = 0;
    const calls: Promise<void>[] = [];
    const started = performance.now();
    let at = 0;
    for (let i = 0; i < requests; i++) {
      at += -Math.log(1 - rng.next()) / rate; // exponential gaps: a Poisson process
      if (at > maxSeconds) break;
      const wait = started + at * 1000 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const job = jobs[(i + 1) % jobs.length];
      const sentAt = performance.now();
      calls.push(
        edict.edit(job.image, { ...editOptions, source: job.source, target: job.target }).then(
          () => void latencies.push((performance.now() - sentAt) / 1000),
          (error: unknown) => {
            if (error instanceof EdictError && error.code === 'ERR_OVERLOADED') rejected++;
            else failed++;
          },
        ),
      );
    }
    await Promise.all(calls);
    const wall = (performance.now() - started) / 1000;
    const after = edict.counters();
    const sorted = [...latencies].sort((a, b) => a - b);
    const unetCalls = after.unetCalls - before.unetCalls;
    const admitted = after.admitted - before.admitted;
    return {
      policy,
      load,
      ratePerSecond: rate,
      sent: calls.length,
      completed: latencies.length,
      rejected,
      failed,
      throughput: latencies.length / wall,
      p50: quantile(sorted, 0.5),
      p95: quantile(sorted, 0.95),
      p99: quantile(sorted, 0.99),
      meanUnetBatch: unetCalls ? (after.unetItems - before.unetItems) / unetCalls : 0,
      meanQueueWaitSeconds: admitted ? (after.queueWaitSeconds - before.queueWaitSeconds) / admitted : 0,
    };
  } finally {
    await edict.dispose();
  }
}

const ceilingRows = await ceiling();
const { capacity, overhead } = await serialCapacity();
console.log(`serial capacity: ${capacity.toFixed(2)} edits/s (${steps} steps, strength ${strength})`);
console.log(`scheduler overhead at batch 1: ${(overhead.share * 100).toFixed(2)}% of UNet time over ${overhead.rounds} rounds`);
const cells: Cell[] = [];
for (const load of loads) {
  for (const policy of policies) {
    // The same arrival stream (seed) for every policy at a load: the policies see the same traffic.
    const cell = await runCell(policy, load, load * capacity, Number(args.seed) + Math.round(100 * load));
    cells.push(cell);
    console.log(
      `${policy.padEnd(10)} load ${String(load).padEnd(4)} ${cell.throughput.toFixed(2)} edits/s  p50 ${cell.p50.toFixed(2)} s  p95 ${cell.p95.toFixed(2)} s  p99 ${cell.p99.toFixed(2)} s  ` +
        `UNet batch ${cell.meanUnetBatch.toFixed(2)}  queue wait ${cell.meanQueueWaitSeconds.toFixed(2)} s  rejected ${cell.rejected}  failed ${cell.failed}`,
    );
  }
}

// The targets. The gain batching allows: UNet time per item at batch 1 over that at
// the batch continuous reached at saturation (interpolated between measured sizes).
const msAt = (batch: number) => {
  const sorted = [...ceilingRows].sort((a, b) => a.batch - b.batch);
  const lower = [...sorted].reverse().find((r) => r.batch <= batch) ?? sorted[0];
  const upper = sorted.find((r) => r.batch >= batch) ?? sorted.at(-1)!;
  if (upper.batch === lower.batch) return lower.msPerItem;
  const f = (batch - lower.batch) / (upper.batch - lower.batch);
  return lower.msPerItem + f * (upper.msPerItem - lower.msPerItem);
};
const find = (policy: Policy, load: number) => cells.find((c) => c.policy === policy && c.load === load);
const top = Math.max(...loads);
const summary: Record<string, unknown> = {};
const cont = find('continuous', top);
const serial = find('serial', top);
if (cont && serial) {
  const allowed = msAt(1) / msAt(Math.max(1, cont.meanUnetBatch));
  const reached = cont.throughput / serial.throughput;
  summary.saturation = { load: top, allowedGain: allowed, reachedGain: reached, shareOfAllowed: (reached - 1) / Math.max(1e-9, allowed - 1), met: reached - 1 >= 0.85 * (allowed - 1) };
}
const c75 = find('continuous', 0.75);
const s75 = find('serial', 0.75);
const r75 = find('request', 0.75);
if (c75 && s75 && r75) summary.p99At75 = { continuous: c75.p99, serial: s75.p99, request: r75.p99, met: c75.p99 <= 0.5 * s75.p99 && c75.p99 < r75.p99 };
summary.overheadAtBatch1 = { ...overhead, met: overhead.share < 0.01 };
console.log(JSON.stringify(summary, null, 2));

if (args.json) {
  mkdirSync(dirname(args.json), { recursive: true });
  writeFileSync(
    args.json,
    `${JSON.stringify({ date: new Date().toISOString(), steps, strength, requests, maxBatch, maxQueue, ceiling: ceilingRows, serialCapacity: capacity, schedulerOverhead: overhead, cells, summary }, null, 2)}\n`,
  );
}
