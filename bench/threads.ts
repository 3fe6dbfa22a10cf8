/**
 * Intra-op threads under contention: one edit (bundled model, paper settings) with 1 thread,
 * with every core (the default before it was halved) and with the package's default count, on an idle machine and beside busy-loop processes,
 * for OpenMP wait policies. Each cell runs in a fresh child process, since OpenMP reads its
 * wait policy once, when libtorch loads it. Prints a table; --json FILE writes every number.
 * bench/engine.ts runs the default policy's cells too.
 *
 *   npx tsx bench/threads.ts [--repeats 3] [--busy 1] [--policies default,active,passive,spin=10000] [--json FILE]
 *
 * Run it on an otherwise idle machine: the busy processes are the only contention wanted.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Edict } from '../src/index.js';
import { benchImage } from './image.js';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const source = 'a red circle on a blue plain background'; // benchImage's caption
const target = 'a green circle on a blue plain background';
const self = fileURLToPath(import.meta.url);

/** Child mode: `--child THREADS` (0 = the package default) prints the median edit seconds. */
async function child(threads: number, repeats: number): Promise<void> {
  const edict = await Edict.load(undefined, threads > 0 ? { threads } : {});
  const image = await benchImage(edict);
  await edict.edit(image, { source, target });
  const times: number[] = [];
  let used = 0;
  for (let i = 0; i < repeats; i++) {
    const { timings } = await edict.edit(image, { source, target });
    times.push(timings.totalSeconds);
    used = timings.threads;
  }
  process.stdout.write(JSON.stringify({ editSeconds: median(times), times, threadsUsed: used }));
  await edict.dispose();
}

/**
 * The environment of a policy: "default" leaves the package's choice, "spin=N" sets
 * GOMP_SPINCOUNT, others set OMP_WAIT_POLICY.
 */
function policyEnv(policy: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.EDICT_THREADS;
  delete env.OMP_WAIT_POLICY;
  delete env.GOMP_SPINCOUNT;
  if (policy.startsWith('spin=')) env.GOMP_SPINCOUNT = policy.slice('spin='.length);
  else if (policy !== 'default') env.OMP_WAIT_POLICY = policy;
  return env;
}

function measure(policy: string, threads: number, repeats: number): { editSeconds: number; times: number[]; threadsUsed: number } {
  const run = spawnSync(process.execPath, [...process.execArgv, self, '--child', String(threads), '--repeats', String(repeats)], {
    encoding: 'utf8',
    env: policyEnv(policy),
  });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout);
}

export interface ContentionCell {
  load: 'idle' | 'busy';
  policy: string;
  /** "1", "cores" (every core: the default before it was halved) or "default". */
  threads: string;
  threadsUsed: number;
  editSeconds: number;
  times: number[];
}

/** Every (load, policy, threads) cell; `busy` busy-loop processes run during the busy half. */
export function measureContention(options: { policies: string[]; busy: number; repeats: number; log?: boolean }): ContentionCell[] {
  const cells: ContentionCell[] = [];
  for (const load of ['idle', 'busy'] as const) {
    const hogs = load === 'busy' ? Array.from({ length: options.busy }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })) : [];
    try {
      for (const policy of options.policies) {
        for (const threads of [1, availableParallelism(), 0]) {
          const label = threads === 0 ? 'default' : threads === 1 ? '1' : 'cores';
          const cell = { load, policy, threads: label, ...measure(policy, threads, options.repeats) };
          cells.push(cell);
          if (options.log !== false) {
            console.log(`${load.padEnd(5)} ${policy.padEnd(11)} threads ${`${cell.threads} (${cell.threadsUsed})`.padEnd(12)} ${cell.editSeconds.toFixed(2)} s per edit`);
          }
        }
      }
    } finally {
      for (const hog of hogs) hog.kill('SIGKILL');
    }
  }
  return cells;
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      repeats: { type: 'string', default: '3' },
      busy: { type: 'string', default: '1' },
      policies: { type: 'string', default: 'default,active,passive' },
      json: { type: 'string' },
      child: { type: 'string' },
    },
  });
  const repeats = Number(args.repeats);
  if (args.child !== undefined) return child(Number(args.child), repeats);
  const report = {
    cores: availableParallelism(),
    busyProcesses: Number(args.busy),
    repeats,
    date: new Date().toISOString(),
    cells: measureContention({ policies: args.policies!.split(','), busy: Number(args.busy), repeats }),
  };
  if (args.json) {
    mkdirSync(dirname(args.json), { recursive: true });
    writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
  }
}

// Run as a script (or as a child of itself); bench/engine.ts imports measureContention.
if (process.argv[1] === self) await main();
