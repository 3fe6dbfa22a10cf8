/**
 * The HTTP service under load (`edict serve` in a child process, autocannon against loopback):
 *
 * 1. throughput and p50/p99 latency of POST /v1/edit at 1, 4, 16 and 64 concurrent clients,
 *    with the scheduler's continuous policy and with serial;
 * 2. overload at 4x the measured capacity (continuous, --max-inflight): requests shed with 503
 *    quickly, RSS at the end within 10% of its plateau, no crash, every accepted request
 *    answered (a fixed number of requests sent open-loop at that rate, each of which must get
 *    a response);
 * 3. the HTTP layer's overhead: one edit through the service against the same edit through
 *    the API in this process, alternating, in one run (target: under 5%).
 *
 *   npx tsx bench/service.ts [--steps 6] [--duration 20] [--overload-seconds 40] [--overload-inflight 16] [--repeats 15] [--json bench/out/service.json]
 *
 * Every process gets one intra-op thread (EDICT_THREADS=1): on a 2-core machine the other core
 * runs autocannon. Run it on an otherwise idle machine (`uptime` load under 0.5).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import autocannon from 'autocannon';

import { Edict } from '../src/index.js';
import { LocalBackend } from '../src/service/local-backend.js';
import { EdictServer } from '../src/service/server.js';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '6' },
    duration: { type: 'string', default: '20' },
    'overload-seconds': { type: 'string', default: '40' },
    'overload-inflight': { type: 'string', default: '16' },
    repeats: { type: 'string', default: '15' },
    levels: { type: 'string', default: '1,4,16,64' },
    policies: { type: 'string', default: 'continuous,serial' },
    json: { type: 'string' },
  },
});
const steps = Number(args.steps);
const duration = Number(args.duration);
const levels = args.levels!.split(',').map(Number);
const policies = args.policies!.split(',') as ('continuous' | 'serial')[];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const scene = readFileSync(join(root, 'docs', 'examples', 'scene.png'));
const SOURCE = 'a red circle on a blue striped background';
const TARGET = 'a yellow circle on a blue striped background';
const editBody = (s: number) => JSON.stringify({ image: scene.toString('base64'), source: SOURCE, target: TARGET, steps: s });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values: number[], p: number) => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const median = (values: number[]) => percentile(values, 50)!;
const round = (value: number | null, digits = 1) => (value === null ? null : Number(value.toFixed(digits)));

// ---- the server ---------------------------------------------------------------------------

interface Server {
  url: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

async function startServer(flags: string[]): Promise<Server> {
  const child = spawn(process.execPath, [...process.execArgv, join(root, 'src', 'cli', 'main.ts'), 'serve', '--port', '0', '--json', '--log-level', 'silent', ...flags], {
    env: { ...process.env, EDICT_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const deadline = Date.now() + 120_000;
  while (!out.includes('"type":"ready"')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the server did not start: ${out}`);
    await sleep(50);
  }
  const url = (out.split('\n').map((l) => (l ? JSON.parse(l) : {})).find((r) => r.type === 'listening') as { url: string }).url;
  return {
    url,
    child,
    exited,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

async function metric(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').at(-1)) : NaN;
}

/** Waits until the server has no request in flight. */
async function idle(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const inFlight = text
      .split('\n')
      .filter((l) => l.startsWith('edict_http_requests_in_flight{'))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    if (inFlight === 0) return;
    await sleep(100);
  }
  throw new Error('the server did not go idle');
}

// ---- load --------------------------------------------------------------------------------

interface Load {
  byStatus: Record<string, number[]>;
  errors: number;
  timeouts: number;
  seconds: number;
}

function load(url: string, options: { connections: number; duration?: number; amount?: number; overallRate?: number; body: string }): Promise<Load> {
  const byStatus: Record<string, number[]> = {};
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/v1/edit`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: options.body,
        connections: options.connections,
        ...(options.amount ? { amount: options.amount } : { duration: options.duration }),
        ...(options.overallRate ? { overallRate: options.overallRate } : {}),
        timeout: 300,
      },
      (error: Error | null, result: { errors: number; timeouts: number }) => {
        if (error) reject(error);
        else resolve({ byStatus, errors: result.errors, timeouts: result.timeouts, seconds: (performance.now() - started) / 1000 });
      },
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => (byStatus[status] ??= []).push(ms));
  });
}

/**
 * Open-loop load: request i is sent at i / rate seconds whatever happened to the others (the
 * way independent users arrive), each on its own fetch. autocannon cannot offer this: its
 * rate limit is per connection, and a connection waits for its response, so with accepted
 * requests taking seconds it never offers more than its connection count in flight.
 */
async function openLoop(url: string, rate: number, amount: number, body: string): Promise<Load> {
  const byStatus: Record<string, number[]> = {};
  let errors = 0;
  const started = performance.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < amount; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    sends.push(
      (async () => {
        const t = performance.now();
        try {
          const response = await fetch(`${url}/v1/edit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          await response.arrayBuffer();
          (byStatus[response.status] ??= []).push(performance.now() - t);
        } catch {
          errors++;
        }
      })(),
    );
  }
  await Promise.all(sends);
  return { byStatus, errors, timeouts: 0, seconds: (performance.now() - started) / 1000 };
}

// ---- 1. throughput -------------------------------------------------------------------------

interface Level {
  policy: string;
  clients: number;
  requests: number;
  throughput: number;
  p50Ms: number | null;
  p99Ms: number | null;
  non200: number;
  errors: number;
  unetBatchMean: number;
}

async function throughput(policy: 'continuous' | 'serial'): Promise<Level[]> {
  const server = await startServer(['--policy', policy]);
  const rows: Level[] = [];
  try {
    await load(server.url, { connections: 2, amount: 6, body: editBody(steps) }); // warm up
    for (const clients of levels) {
      await idle(server.url);
      const calls0 = await metric(server.url, 'edict_unet_calls_total');
      const items0 = await metric(server.url, 'edict_unet_items_total');
      const run = await load(server.url, { connections: clients, duration, body: editBody(steps) });
      const ok = run.byStatus['200'] ?? [];
      const non200 = Object.entries(run.byStatus).reduce((n, [status, list]) => n + (status === '200' ? 0 : list.length), 0);
      await idle(server.url);
      const calls = (await metric(server.url, 'edict_unet_calls_total')) - calls0;
      const items = (await metric(server.url, 'edict_unet_items_total')) - items0;
      const row = {
        policy,
        clients,
        requests: ok.length,
        throughput: round(ok.length / duration, 2)!,
        p50Ms: round(percentile(ok, 50)),
        p99Ms: round(percentile(ok, 99)),
        non200,
        errors: run.errors,
        unetBatchMean: round(items / calls, 2)!,
      };
      rows.push(row);
      console.log(`${policy.padEnd(10)} ${String(clients).padStart(3)} clients: ${row.throughput} edits/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, UNet batch ${row.unetBatchMean}`);
    }
  } finally {
    await server.stop();
  }
  return rows;
}

// ---- 2. overload ---------------------------------------------------------------------------

async function overload(capacity: number) {
  const inflight = Number(args['overload-inflight']);
  const seconds = Number(args['overload-seconds']);
  const rate = Math.max(1, Math.round(4 * capacity));
  const amount = rate * seconds;
  const server = await startServer(['--policy', 'continuous', '--max-inflight', String(inflight)]);
  const pid = server.child.pid!;
  const samples: { t: number; rss: number }[] = [];
  const started = performance.now();
  const sampler = setInterval(() => samples.push({ t: (performance.now() - started) / 1000, rss: rssBytes(pid) }), 250);
  let run: Load;
  try {
    await load(server.url, { connections: 2, amount: 6, body: editBody(steps) }); // warm up
    run = await openLoop(server.url, rate, amount, editBody(steps));
  } finally {
    clearInterval(sampler);
  }
  await idle(server.url);
  await sleep(2_000);
  const endRss = rssBytes(pid);
  const alive = server.child.exitCode === null && (await fetch(`${server.url}/healthz`)).status === 200;
  const okServer = await metric(server.url, 'edict_http_requests_total', '{route="/v1/edit",outcome="ok"}');
  const rejectedServer = await metric(server.url, 'edict_http_requests_total', '{route="/v1/edit",outcome="rejected"}');
  const code = await server.stop();
  const ok = run.byStatus['200'] ?? [];
  const shed = run.byStatus['503'] ?? [];
  const other = Object.entries(run.byStatus).filter(([s]) => s !== '200' && s !== '503');
  // The plateau: the median RSS over the run's second half.
  const loaded = samples.filter((s) => s.t > samples.at(-1)!.t / 2).map((s) => s.rss);
  const plateau = median(loaded);
  const result = {
    capacityEditsPerSecond: round(capacity, 2),
    offeredRate: rate,
    maxInflight: inflight,
    requests: amount,
    answered: ok.length + shed.length + other.reduce((n, [, l]) => n + l.length, 0),
    accepted: ok.length,
    acceptedServerSide: okServer - 6,
    shed: shed.length,
    shedServerSide: rejectedServer,
    otherStatuses: Object.fromEntries(other.map(([s, l]) => [s, l.length])),
    errors: run.errors,
    timeouts: run.timeouts,
    seconds: round(run.seconds),
    shedP50Ms: round(percentile(shed, 50), 2),
    shedP99Ms: round(percentile(shed, 99), 2),
    acceptedP50Ms: round(percentile(ok, 50)),
    acceptedP99Ms: round(percentile(ok, 99)),
    rssPlateauMiB: round(plateau / 2 ** 20),
    rssPeakMiB: round(Math.max(...samples.map((s) => s.rss)) / 2 ** 20),
    rssEndMiB: round(endRss / 2 ** 20),
    rssEndVsPlateau: round(endRss / plateau - 1, 3),
    alive,
    exitCode: code,
  };
  const checks = {
    everyRequestAnswered: result.answered === amount && run.errors === 0 && run.timeouts === 0,
    everyAcceptedAnswered: result.accepted === result.acceptedServerSide,
    shedQuickly: (result.shedP99Ms ?? 0) < 100,
    rssWithin10Percent: Math.abs(endRss / plateau - 1) <= 0.1,
    noCrash: alive && code === 0,
  };
  console.log(
    `overload at ${rate}/s (4x ${round(capacity, 2)}), max in flight ${inflight}: ${result.accepted} answered 200, ${result.shed} shed 503 (p50 ${result.shedP50Ms} ms, p99 ${result.shedP99Ms} ms), ` +
      `RSS plateau ${result.rssPlateauMiB} MiB, end ${result.rssEndMiB} MiB (${(result.rssEndVsPlateau! * 100).toFixed(1)}%), exit ${code}`,
  );
  console.log(`checks: ${JSON.stringify(checks)}`);
  return { ...result, checks };
}

// ---- 3. overhead ---------------------------------------------------------------------------

/**
 * The same edit through the API and through the service, alternating, on ONE pipeline in this
 * process (the server is in-process over LocalBackend.from(edict)): the compute thread, its
 * threads and the model are the same, so the difference is the HTTP layer: the request's JSON
 * and base64, fastify, the PNG encoding of the answer and the client's fetch.
 */
async function overhead(editSteps: number) {
  const repeats = Number(args.repeats);
  const edict = await Edict.load(undefined, { threads: 1 });
  const server = await EdictServer.create({ backend: LocalBackend.from(edict) });
  const url = await server.listen({ port: 0 });
  const options = { source: SOURCE, target: TARGET, steps: editSteps };
  const body = editBody(editSteps);
  const api: number[] = [];
  const http: number[] = [];
  try {
    const viaApi = async () => {
      const t = performance.now();
      await edict.edit(scene, options);
      return performance.now() - t;
    };
    const viaHttp = async () => {
      const t = performance.now();
      const response = await fetch(`${url}/v1/edit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      return performance.now() - t;
    };
    // Pairs in alternating order (ABBA), so neither path always runs first.
    for (let i = -2; i < repeats; i++) {
      let a: number;
      let h: number;
      if (i % 2 === 0) {
        a = await viaApi();
        h = await viaHttp();
      } else {
        h = await viaHttp();
        a = await viaApi();
      }
      if (i >= 0) {
        api.push(a);
        http.push(h);
      }
    }
  } finally {
    await server.close();
  }
  const result = {
    steps: editSteps,
    repeats,
    apiMedianMs: round(median(api), 2)!,
    serviceMedianMs: round(median(http), 2)!,
    overheadMs: round(median(http) - median(api), 2)!,
    overhead: round(median(http) / median(api) - 1, 4)!,
    /** The median of the pairs' differences, against the API's median. */
    pairedOverhead: round(median(http.map((h, i) => h - api[i])) / median(api), 4)!,
    apiMs: api.map((v) => round(v, 1)),
    serviceMs: http.map((v) => round(v, 1)),
  };
  console.log(`overhead at ${editSteps} steps: API ${result.apiMedianMs} ms, service ${result.serviceMedianMs} ms: ${(result.overhead * 100).toFixed(2)}% (${result.overheadMs} ms; paired ${(result.pairedOverhead * 100).toFixed(2)}%)`);
  return result;
}

// ---- main ----------------------------------------------------------------------------------

const loadBefore = loadavg()[0];
console.log(`load average ${loadBefore.toFixed(2)} on ${availableParallelism()} cores; edits of ${steps} steps`);
const started = performance.now();
const rows: Level[] = [];
for (const policy of policies) rows.push(...(await throughput(policy)));
const capacity = Math.max(...rows.filter((r) => r.policy === 'continuous').map((r) => r.throughput), 0.1);
const overloadResult = await overload(capacity);
const overheads = [await overhead(steps), await overhead(50)];
const report = {
  command: `npx tsx bench/service.ts ${process.argv.slice(2).join(' ')}`.trim(),
  machine: { cores: availableParallelism(), loadAverageBefore: round(loadBefore, 2), loadAverageAfter: round(loadavg()[0], 2), node: process.version },
  settings: { steps, durationSeconds: duration, threadsPerProcess: 1, maxBatch: 8, request: 'POST /v1/edit, JSON body with a base64 32x32 PNG, one target' },
  throughput: rows,
  overload: overloadResult,
  overhead: overheads,
  totalSeconds: round((performance.now() - started) / 1000),
};
if (args.json) {
  mkdirSync(dirname(args.json), { recursive: true });
  writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${args.json}`);
}
