/**
 * Engine benchmark: where an edit's time goes, what float64 costs, event-loop lag,
 * memory against step count, and batching. Prints a table; --json FILE writes every number.
 *
 *   npx tsx bench/engine.ts [--model DIR] [--repeats N] [--json bench/out/engine.json]
 *
 * Run it on an idle machine: the numbers are wall times.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { bundledModelDir, Edict, runtimeInfo, type EditResult } from '../src/index.js';
import { benchImage } from './image.js';
import { measureContention } from './threads.js';


const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: bundledModelDir },
    repeats: { type: 'string', default: '5' },
    json: { type: 'string' },
    'rss-child': { type: 'string' },
  },
});
const repeats = Number(args.repeats);
const model = args.model!;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const source = 'a red circle on a blue plain background'; // benchImage's caption
const targets = ['a green circle on a blue plain background', 'a red square on a blue plain background', 'a red circle on a yellow plain background'];

/** Child mode: one edit with N steps, then report peak RSS (KiB) on stdout. */
async function rssChild(steps: number): Promise<void> {
  const edict = await Edict.load(model);
  await edict.edit(await benchImage(edict), { source, target: targets[0], steps });
  process.stdout.write(JSON.stringify({ steps, maxRssKiB: process.resourceUsage().maxRSS }));
  await edict.dispose();
}

interface EditTiming {
  total: number;
  unet: number;
  loops: number;
  unetCalls: number;
}

function timing(result: EditResult): EditTiming {
  const t = result.timings;
  return { total: t.totalSeconds, unet: t.unetSeconds, loops: t.invertSeconds + t.generateSeconds, unetCalls: t.unetCalls };
}

async function timedEdits(edict: Edict, image: Buffer, options: Record<string, unknown>, n = repeats, warmUp = n > 1): Promise<EditTiming[]> {
  if (warmUp) await edict.edit(image, { source, target: targets[0], ...options });
  const out: EditTiming[] = [];
  for (let i = 0; i < n; i++) out.push(timing(await edict.edit(image, { source, target: targets[0], ...options })));
  return out;
}

async function main(): Promise<void> {
  if (args['rss-child']) return rssChild(Number(args['rss-child']));
  const info = await runtimeInfo();
  const report: Record<string, unknown> = {
    model,
    libtorch: info.libtorch,
    threads: info.cores,
    date: new Date().toISOString(),
  };

  // 1. Where an edit's time goes (default mode: model dtype UNet, float64 coupling).
  const edict = await Edict.load(model);
  const image = await benchImage(edict);
  const runs = await timedEdits(edict, image, {});
  const m = (key: keyof EditTiming) => median(runs.map((r) => r[key]));
  const split = {
    editSeconds: m('total'),
    unetSeconds: m('unet'),
    unetCalls: m('unetCalls'),
    unetMsPerCall: (1000 * m('unet')) / m('unetCalls'),
    loopSeconds: m('loops'),
    // The loop's own cost: state arithmetic, casts, guidance, text encoding, copies.
    loopOverheadPercent: (100 * (m('loops') - m('unet'))) / m('loops'),
    // Everything but the UNet: adds image decode/resize, VAE encode/decode, JS.
    nonUnetPercent: (100 * (m('total') - m('unet'))) / m('total'),
  };
  report.timeSplit = split;

  // 2. Default mode against a float64 UNet: time and round-trip error.
  const f64 = await Edict.load(model, { dtype: 'float64' });
  const precision: Record<string, unknown> = {};
  for (const [name, pipeline] of [
    [`${edict.dtype} UNet`, edict],
    ['float64 UNet', f64],
  ] as const) {
    const r = await pipeline.reconstruct(image, { prompt: source });
    const times = await timedEdits(pipeline, image, {}, Math.max(2, Math.ceil(repeats / 2)));
    precision[name] = {
      editSeconds: median(times.map((t) => t.total)),
      roundTripMaxAbs: r.latentMaxAbsError,
      roundTripRms: r.latentRmsError,
    };
  }
  report.precision = precision;
  await f64.dispose();

  // 3. float64 state against float32 state on the same run, interleaved so that drift of the
  //    machine's speed hits both alike.
  const f32state = await Edict.load(model, { stateDtype: 'float32' });
  await timedEdits(f32state, image, {}, 1);
  const stateRuns64: EditTiming[] = [];
  const stateRuns32: EditTiming[] = [];
  for (let i = 0; i < repeats; i++) {
    stateRuns64.push(...(await timedEdits(edict, image, {}, 1)));
    stateRuns32.push(...(await timedEdits(f32state, image, {}, 1)));
  }
  const nonUnet = (r: EditTiming) => r.total - r.unet;
  // The state dtype only changes the work outside the UNet: compare that part.
  const nonUnet64 = median(stateRuns64.map(nonUnet));
  const nonUnet32 = median(stateRuns32.map(nonUnet));
  const edit32 = median(stateRuns32.map((r) => r.total));
  const r32 = await f32state.reconstruct(image, { prompt: source });
  report.stateDtype = {
    float64EditSeconds: median(stateRuns64.map((r) => r.total)),
    float32EditSeconds: edit32,
    float64NonUnetSeconds: nonUnet64,
    float32NonUnetSeconds: nonUnet32,
    float64CostPercentOfEdit: (100 * (nonUnet64 - nonUnet32)) / edit32,
    // The default pipeline's round trip, measured once above.
    float64RoundTripMaxAbs: (precision[`${edict.dtype} UNet`] as { roundTripMaxAbs: number }).roundTripMaxAbs,
    float32StateRoundTripMaxAbs: r32.latentMaxAbsError,
  };
  await f32state.dispose();

  // 4. Event-loop lag while an edit runs.
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const ticks: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    ticks.push(now - last);
    last = now;
  }, 5);
  await edict.edit(image, { source, target: targets });
  clearInterval(timer);
  histogram.disable();
  report.eventLoop = {
    maxDelayMs: histogram.max / 1e6,
    p99DelayMs: histogram.percentile(99) / 1e6,
    maxTimerGapMs: Math.max(...ticks),
    timerTicks: ticks.length,
  };

  // 5. Peak RSS of a process doing one edit at 10 and at 100 steps.
  const rss: Record<string, number> = {};
  for (const steps of [10, 100]) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--model', model, '--rss-child', String(steps)], {
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(child.stderr);
    rss[`steps${steps}MaxRssMiB`] = JSON.parse(child.stdout).maxRssKiB / 1024;
  }
  report.memory = rss;

  // 6. A batch of 8 targets (one inversion) against 8 single edits.
  const eight = Array.from({ length: 8 }, (_, i) => targets[i % targets.length]);
  let started = performance.now();
  await edict.edit(image, { source, target: eight });
  const batched = (performance.now() - started) / 1000;
  started = performance.now();
  for (const target of eight) await edict.edit(image, { source, target });
  const singles = (performance.now() - started) / 1000;
  report.batching = { batchOf8Seconds: batched, eightSinglesSeconds: singles, speedup: singles / batched };
  await edict.dispose();

  // 7. The default thread count against one thread and every core, idle and beside one busy-loop process
  //    (fresh child processes: bench/threads.ts).
  const contention = measureContention({ policies: ['default'], busy: 1, repeats, log: false });
  const cell = (load: string, threads: string) => contention.find((c) => c.load === load && c.threads === threads)!;
  report.threads = {
    defaultThreads: cell('idle', 'default').threadsUsed,
    idleDefaultEditSeconds: cell('idle', 'default').editSeconds,
    idleOneThreadEditSeconds: cell('idle', '1').editSeconds,
    idleAllCoresEditSeconds: cell('idle', 'cores').editSeconds,
    busyDefaultEditSeconds: cell('busy', 'default').editSeconds,
    busyOneThreadEditSeconds: cell('busy', '1').editSeconds,
    busyAllCoresEditSeconds: cell('busy', 'cores').editSeconds,
  };

  printTable(report);
  if (args.json) {
    mkdirSync(dirname(args.json), { recursive: true });
    writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
  }
}

function printTable(report: Record<string, unknown>): void {
  const rows: [string, string][] = [];
  const fmt = (v: unknown) => (typeof v === 'number' ? (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(3)) : String(v));
  const walk = (prefix: string, value: unknown) => {
    if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(prefix ? `${prefix}.${k}` : k, v);
    else rows.push([prefix, fmt(value)]);
  };
  walk('', report);
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
}

await main();
