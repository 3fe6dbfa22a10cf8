/**
 * edict precision IMAGE --prompt "..."
 * The report a precision-sensitive user runs first on a new model or machine: the round trip's
 * latent error per method (edict, bdia, belm, ddim) across UNet dtypes (float32, bfloat16,
 * float64; float16 on CUDA) and state dtypes, then what breaks a float32 round trip here:
 * another intra-op thread count, another batch layout, a batch shared with other calls.
 * One JSON record per measurement with --json; a table otherwise.
 */
import { availableParallelism } from 'node:os';

import { type Command, Option } from 'commander';

import type { Dtype } from '../devices.js';
import { Edict } from '../pipeline.js';
import type { Latents } from '../latents.js';
import { withRun, type Run } from './context.js';
import { examples, numberArg, promptArg } from './options.js';

type ExactMethod = 'edict' | 'bdia' | 'belm' | 'ddim';
const METHODS: ExactMethod[] = ['edict', 'bdia', 'belm', 'ddim'];

interface PrecisionValues {
  prompt: string;
  steps: number;
  strength: number;
  methods: ExactMethod[];
}

interface Measurement {
  condition: string;
  method: ExactMethod;
  unetDtype: Dtype;
  stateDtype: 'float64' | 'float32';
  latentMaxAbsError: number;
  seconds: number;
}

const maxAbs = (a: Float64Array, b: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

function methodsArg(text: string): ExactMethod[] {
  const values = text.split(',').map((s) => s.trim()) as ExactMethod[];
  for (const value of values) {
    if (!METHODS.includes(value)) throw new Error(`${JSON.stringify(value)} is not one of ${METHODS.join(', ')}`);
  }
  return values;
}

export function registerPrecision(program: Command): void {
  program
    .command('precision')
    .summary('round-trip errors across dtypes, threads, batch layouts and methods')
    .description(
      'Measures the invert-then-generate round trip of IMAGE with --prompt (latent max abs error ' +
        'against the encoded image) for each method (edict, bdia, belm, ddim) under each UNet dtype ' +
        '(float32, bfloat16, float64; float16 on CUDA) and state dtype (float64, float32), then what ' +
        'breaks a float32 round trip on this machine: inverting at one intra-op thread count and ' +
        'regenerating at another, regenerating inside a batch of 3, and inverting in a batch shared ' +
        'with other calls. EDICT, BDIA and BELM should show float64 rounding (~1e-14) wherever the ' +
        'conditions match; DDIM inversion drifts.',
    )
    .argument('<image>', 'an image')
    .addOption(new Option('--prompt <prompt>', 'a prompt that describes the image').argParser(promptArg).makeOptionMandatory())
    .addOption(new Option('--steps <n>', 'DDIM steps of the full schedule').argParser(numberArg('steps')).default(50))
    .addOption(new Option('--strength <s>', 'fraction of the schedule run').argParser(numberArg('strength')).default(0.8))
    .addOption(new Option('--methods <list>', 'methods, comma-separated').argParser(methodsArg).default(METHODS, METHODS.join(',')))
    .addHelpText(
      'after',
      examples([
        'edict precision docs/examples/scene.png --prompt "a red circle on a blue striped background" --steps 10',
        'edict precision docs/examples/scene.png --prompt "a red circle on a blue striped background" --methods edict,bdia --steps 10 --json | jq -c "[.condition, .unetDtype, .latentMaxAbsError]"',
      ]),
    )
    .action((image: string, o: PrecisionValues, cmd: Command) => withRun('precision', cmd, (run) => measure(run, image, o)));
}

async function measure(run: Run, image: string, o: PrecisionValues): Promise<void> {
  const g = run.globals;
  const cuda = g.device !== 'cpu';
  const unetDtypes: Dtype[] = cuda ? ['float16', 'bfloat16', 'float32', 'float64'] : ['bfloat16', 'float32', 'float64'];
  const results: Measurement[] = [];
  const record = (m: Measurement) => {
    results.push(m);
    run.output.record({ type: 'result', command: 'precision', ...m });
  };
  const load = (dtype: Dtype, options: { stateDtype?: 'float64' | 'float32'; threads?: number } = {}) =>
    Edict.load(g.model, { device: g.device, dtype, threads: options.threads ?? g.threads, stateDtype: options.stateDtype, onWarning: () => {} });
  const settings = { steps: o.steps, strength: o.strength, prompt: o.prompt };
  const roundTrip = async (invertWith: Edict, generateWith: Edict, start: Latents, method: ExactMethod, batchOf = 1) => {
    const inverted = await invertWith.invert(start, { ...settings, method, ...run.call() });
    // (the inexact-round-trip warning is what is being measured here)
    const generated = await generateWith.generate(batchOf === 1 ? inverted : inverted.repeat(batchOf), { prompt: o.prompt, ...run.call(), onWarning: () => {} });
    return maxAbs(generated.latents.item(0).x, start.x);
  };

  // Each UNet dtype and state dtype: the same conditions both ways (reconstruct isolates).
  for (const unetDtype of unetDtypes) {
    for (const stateDtype of ['float64', 'float32'] as const) {
      run.checkCancelled();
      const edict = await load(unetDtype, { stateDtype });
      try {
        for (const method of o.methods) {
          const started = performance.now();
          const r = await edict.reconstruct(image, { ...settings, method, ...run.call() });
          record({ condition: 'same conditions', method, unetDtype, stateDtype, latentMaxAbsError: r.latentMaxAbsError, seconds: (performance.now() - started) / 1000 });
        }
      } finally {
        await edict.dispose();
      }
    }
  }

  // What breaks a float32 round trip here.
  const threads = g.threads ?? 1;
  const otherThreads = threads === 1 ? Math.min(2, availableParallelism()) : 1;
  const [a, b] = await Promise.all([load('float32', { threads }), load('float32', { threads: otherThreads })]);
  try {
    const encoded = await a.encodeImage(image, run.call());
    for (const method of o.methods) {
      run.checkCancelled();
      const cross = async (condition: string, measureIt: () => Promise<number>) => {
        const started = performance.now();
        const error = await measureIt();
        record({ condition, method, unetDtype: 'float32', stateDtype: 'float64', latentMaxAbsError: error, seconds: (performance.now() - started) / 1000 });
      };
      if (otherThreads !== threads) await cross(`threads ${threads} -> ${otherThreads}`, () => roundTrip(a, b, encoded, method));
      await cross('alone -> inside a batch of 3', () => roundTrip(a, a, encoded, method, 3));
      await cross('inverted beside 2 other calls -> alone', async () => {
        const [inverted] = await Promise.all([
          a.invert(encoded, { ...settings, method, ...run.call() }),
          a.invert(encoded, { ...settings, method, ...run.call() }),
          a.invert(encoded, { ...settings, method, ...run.call() }),
        ]);
        const generated = await a.generate(inverted, { prompt: o.prompt, ...run.call() });
        return maxAbs(generated.latents.x, encoded.x);
      });
    }
  } finally {
    await Promise.all([a.dispose(), b.dispose()]);
  }

  const width = Math.max(...results.map((r) => r.condition.length));
  const lines = [
    `round trips of ${image} ("${o.prompt}"), ${Math.floor(o.steps * o.strength)} of ${o.steps} steps, latent max abs error:`,
    `${'condition'.padEnd(width)}  ${'UNet'.padEnd(8)}  ${'state'.padEnd(7)}  ${o.methods.map((m) => m.padStart(9)).join('  ')}`,
  ];
  const keys = [...new Set(results.map((r) => `${r.condition}|${r.unetDtype}|${r.stateDtype}`))];
  for (const key of keys) {
    const [condition, unetDtype, stateDtype] = key.split('|');
    const cells = o.methods.map((method) => {
      const r = results.find((x) => x.condition === condition && x.unetDtype === unetDtype && x.stateDtype === stateDtype && x.method === method);
      return (r ? r.latentMaxAbsError.toExponential(1) : '-').padStart(9);
    });
    lines.push(`${condition.padEnd(width)}  ${unetDtype.padEnd(8)}  ${stateDtype.padEnd(7)}  ${cells.join('  ')}`);
  }
  run.output.text(lines.join('\n'));
}
