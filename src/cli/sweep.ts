/**
 * edict sweep IMAGE --source "..." --target "..." --mix 0.9,0.93 --strength 0.6,0.8
 *   --guidance 1,3,5 [--method edict,ddim,sdedit] [--steps 50] -o DIR
 *
 * The grid method x steps x strength x guidance x mix (mix for EDICT only), batched as far as
 * the API allows: the cells sharing (method, steps, strength) are one group, inverted in ONE
 * call on the encoded image repeated once per cell (per-item guidance and mix), then generated
 * in ONE call over cells x targets. The round trip of every cell (the source prompt) runs as
 * one more call over the cells, in the inversion's batch layout: float32 UNet kernels change
 * their low bits with the batch size (~1e-5 here), which would hide EDICT's exactness if the
 * source rode along in the targets' batch. SDEdit has no inversion: one edit call per cell,
 * over targets + source.
 *
 * Writes DIR/results.json, DIR/results.csv (one row per cell and target), DIR/contact-sheet.png
 * and DIR/images/ (every result), all at the end and all-or-nothing.
 */
import { basename, join } from 'node:path';

import { type Command, Option } from 'commander';

import { readImage, type RgbImage } from '../image.js';
import { Latents } from '../latents.js';
import { DEFAULTS } from '../options.js';
import type { Edict, Method } from '../pipeline.js';
import { contactSheet } from './contact-sheet.js';
import { type Run, withRun } from './context.js';
import { latentError, pixelDistance } from './metrics.js';
import {
  addImageOptions,
  checkSchedule,
  collectPrompt,
  examples,
  methodListArg,
  numberArg,
  numberListArg,
  positiveIntArg,
  promptArg,
  type ImageValues,
} from './options.js';
import { encodeImageFor, FileBatch, jsonLine, slug } from './output.js';

interface SweepValues extends ImageValues {
  source: string;
  target: string[];
  output: string;
  steps: number[];
  strength: number[];
  guidance: number[];
  mix: number[];
  gamma: number;
  method: Method[];
  leapfrog: boolean;
  negative: string;
  cellSize: number;
}

export interface CellResult {
  id: number;
  group: number;
  method: Method;
  steps: number;
  strength: number;
  executed: number;
  guidance: number;
  /** EDICT's mixing weight (null for DDIM and SDEdit). */
  mix: number | null;
  /** Regeneration with the source prompt against the encoded input. */
  roundTrip: {
    latentMaxAbsError: number;
    latentRmsError: number;
    psnrToInput: number;
    meanAbsErrorToInput: number;
    /** SSIM to the input (src/metrics.ts); MS-SSIM only where the standard five scales fit (176 px), else null. */
    ssimToInput: number;
    msSsimToInput: number | null;
    image: string;
  };
  targets: {
    index: number;
    target: string;
    image: string;
    psnrToInput: number;
    meanAbsErrorToInput: number;
    ssimToInput: number;
    msSsimToInput: number | null;
  }[];
  timings: { groupCells: number; invertSeconds: number; generateSeconds: number; roundTripSeconds: number; secondsPerCell: number };
}

interface GroupResult {
  id: number;
  method: Method;
  steps: number;
  strength: number;
  cells: number[];
  invertSeconds: number;
  generateSeconds: number;
  roundTripSeconds: number;
  unetCalls: number;
}

interface Cell {
  id: number;
  method: Method;
  steps: number;
  strength: number;
  executed: number;
  guidance: number;
  mix: number | null;
}

/** The items `indices` of a batch, as a new batch (per-item parameters follow). */
export function gatherLatents(latents: Latents, indices: number[]): Latents {
  const size = latents.x.length / latents.batch;
  const x = new Float64Array(indices.length * size);
  const y = new Float64Array(indices.length * size);
  indices.forEach((i, k) => {
    x.set(latents.x.subarray(i * size, (i + 1) * size), k * size);
    y.set(latents.y.subarray(i * size, (i + 1) * size), k * size);
  });
  const pick = <T>(list: T[]) => (list.length === latents.batch ? indices.map((i) => list[i]) : list);
  const p = latents.params;
  return new Latents(x, y, [indices.length, latents.shape[1], latents.shape[2], latents.shape[3]], {
    ...p,
    prompts: pick(p.prompts),
    negativePrompts: pick(p.negativePrompts),
    guidance: pick(p.guidance),
    mix: pick(p.mix),
  });
}

/** Every cell of the grid, in order method, steps, strength, guidance, mix. */
export function gridCells(o: Pick<SweepValues, 'method' | 'steps' | 'strength' | 'guidance' | 'mix'>): Cell[] {
  const cells: Cell[] = [];
  for (const method of o.method)
    for (const steps of o.steps)
      for (const strength of o.strength)
        for (const guidance of o.guidance)
          for (const mix of method === 'edict' ? o.mix : [null]) {
            cells.push({ id: cells.length + 1, method, steps, strength, executed: Math.floor(steps * strength), guidance, mix });
          }
  return cells;
}

const csvField = (value: unknown): string => {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : value > 0 ? 'inf' : value < 0 ? '-inf' : 'nan';
  const s = String(value);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export const CSV_COLUMNS = [
  'cell',
  'method',
  'steps',
  'strength',
  'executed',
  'guidance',
  'mix',
  'target_index',
  'target',
  'image',
  'psnr_to_input',
  'mae_to_input',
  'latent_max_abs_error',
  'latent_rms_error',
  'roundtrip_psnr_to_input',
  'roundtrip_mae_to_input',
  'group',
  'group_cells',
  'invert_seconds',
  'generate_seconds',
  'roundtrip_seconds',
  'seconds_per_cell',
  // Added after the columns above, so that readers by position keep working.
  'ssim_to_input',
  'ms_ssim_to_input',
  'roundtrip_ssim_to_input',
  'roundtrip_ms_ssim_to_input',
] as const;

function toCsv(cells: CellResult[]): string {
  const rows = [CSV_COLUMNS.join(',')];
  for (const c of cells) {
    for (const t of c.targets) {
      rows.push(
        [
          c.id,
          c.method,
          c.steps,
          c.strength,
          c.executed,
          c.guidance,
          c.mix,
          t.index,
          t.target,
          t.image,
          t.psnrToInput,
          t.meanAbsErrorToInput,
          c.roundTrip.latentMaxAbsError,
          c.roundTrip.latentRmsError,
          c.roundTrip.psnrToInput,
          c.roundTrip.meanAbsErrorToInput,
          c.group,
          c.timings.groupCells,
          c.timings.invertSeconds,
          c.timings.generateSeconds,
          c.timings.roundTripSeconds,
          c.timings.secondsPerCell,
          t.ssimToInput,
          t.msSsimToInput,
          c.roundTrip.ssimToInput,
          c.roundTrip.msSsimToInput,
        ]
          .map(csvField)
          .join(','),
      );
    }
  }
  return `${rows.join('\n')}\n`;
}

const seconds = (since: number) => (performance.now() - since) / 1000;

interface GroupOutput {
  group: GroupResult;
  /** Per cell: target images, round-trip image, round-trip latent error. */
  cells: { images: RgbImage[]; roundTrip: RgbImage; error: { maxAbs: number; rms: number } }[];
}

/** EDICT / DDIM: one inversion of all cells, one generation of cells x targets, one round trip. */
async function runInversionGroup(run: Run, edict: Edict, encoded: Latents, cells: Cell[], o: SweepValues, id: number): Promise<GroupOutput> {
  const [first] = cells;
  const method = first.method as 'edict' | 'ddim' | 'bdia' | 'belm';
  const n = cells.length;
  const targets = o.target;
  let started = performance.now();
  const inverted = await edict.invert(encoded.repeat(n), {
    prompt: o.source,
    method,
    steps: first.steps,
    strength: first.strength,
    guidance: cells.map((c) => c.guidance),
    mix: cells.map((c) => c.mix ?? DEFAULTS.mix),
    leapfrog: o.leapfrog,
    gamma: o.gamma,
    negativePrompt: o.negative,
    ...run.call(),
  });
  const invertSeconds = seconds(started);

  started = performance.now();
  const items = cells.flatMap((_, c) => targets.map(() => c));
  const generated = await edict.generate(gatherLatents(inverted, items), {
    prompt: cells.flatMap(() => targets),
    ...run.call(),
  });
  const generateSeconds = seconds(started);

  started = performance.now();
  const roundTrip = await edict.generate(inverted, { prompt: o.source, ...run.call() });
  const roundTripSeconds = seconds(started);

  return {
    group: {
      id,
      method,
      steps: first.steps,
      strength: first.strength,
      cells: cells.map((c) => c.id),
      invertSeconds,
      generateSeconds,
      roundTripSeconds,
      // The inversion's UNet calls per step: 2 for EDICT, 1 for DDIM, BDIA and BELM.
      unetCalls: generated.timings.unetCalls + roundTrip.timings.unetCalls + (method === 'edict' ? 2 : 1) * first.executed,
    },
    cells: cells.map((_, c) => ({
      images: targets.map((__, t) => generated.images[c * targets.length + t]),
      roundTrip: roundTrip.images[c],
      error: latentError(roundTrip.latents, c, encoded, method === 'edict'),
    })),
  };
}

/** SDEdit: no inversion; one edit call per cell over the targets and the source. */
async function runSdeditGroup(run: Run, edict: Edict, encoded: Latents, image: string, cells: Cell[], o: SweepValues, id: number): Promise<GroupOutput> {
  const [first] = cells;
  const out: GroupOutput['cells'] = [];
  let generateSeconds = 0;
  let unetCalls = 0;
  for (const cell of cells) {
    const started = performance.now();
    const r = await edict.edit(image, {
      method: 'sdedit',
      source: o.source,
      target: [...o.target, o.source],
      steps: cell.steps,
      strength: cell.strength,
      guidance: cell.guidance,
      negativePrompt: o.negative,
      seed: o.seed,
      size: o.size,
      sample: o.sample ?? false,
      ...run.call(),
    });
    generateSeconds += seconds(started);
    unetCalls += r.timings.unetCalls;
    const k = o.target.length;
    out.push({ images: r.images.slice(0, k), roundTrip: r.images[k], error: latentError(r.latents, k, encoded, false) });
  }
  return {
    group: { id, method: 'sdedit', steps: first.steps, strength: first.strength, cells: cells.map((c) => c.id), invertSeconds: 0, generateSeconds, roundTripSeconds: 0, unetCalls },
    cells: out,
  };
}

const listOption = (flags: string, description: string, field: 'steps' | 'strength' | 'guidance' | 'mix', value: number) =>
  new Option(flags, description).argParser(numberListArg(field)).default([value], String(value));

export function registerSweep(program: Command): void {
  const command = program
    .command('sweep')
    .summary('run a parameter grid: results.json, results.csv and a contact sheet')
    .description(
      'Edits IMAGE over a grid of settings (comma-separated lists) and measures every cell: the ' +
        'pixel distance of each target to the input (PSNR, mean abs error, SSIM, and the standard ' +
        'five-scale MS-SSIM where the image has 176 px or more on its shorter side) and the round trip ' +
        '(regenerating with the source prompt: latent max abs and RMS error against the encoded ' +
        'input, PSNR and SSIM to the input). The cells sharing method, steps and strength run as one batched ' +
        'inversion and one batched generation over cells x targets; the round trip is one more batch ' +
        'over the cells, in the inversion\'s layout. --mix applies to EDICT only; SDEdit runs one ' +
        'batched edit per cell.',
    )
    .argument('<image>', 'the input image')
    .addOption(new Option('--source <prompt>', 'a prompt that describes the input').argParser(promptArg).makeOptionMandatory())
    .addOption(new Option('--target <prompt>', 'a prompt for the result (repeatable)').argParser(collectPrompt).makeOptionMandatory())
    .addOption(new Option('-o, --output <dir>', 'the output folder').makeOptionMandatory())
    .addOption(listOption('--steps <list>', 'DDIM steps of the full schedule', 'steps', DEFAULTS.steps))
    .addOption(listOption('--strength <list>', 'fractions of the schedule run, in (0, 1]', 'strength', DEFAULTS.strength))
    .addOption(listOption('--guidance <list>', 'guidance scales', 'guidance', DEFAULTS.guidance))
    .addOption(listOption('--mix <list>', 'EDICT mixing weights, in (0, 1]', 'mix', DEFAULTS.mix))
    .addOption(new Option('--method <list>', 'methods: edict, ddim, sdedit, bdia, belm (comma-separated)').argParser(methodListArg).default(['edict'], 'edict'))
    .addOption(new Option('--gamma <g>', 'BDIA: weight of the latent two levels back, in (0, 1]').argParser(numberArg('gamma')).default(DEFAULTS.gamma))
    .option('--no-leapfrog', 'EDICT: keep the same update order on every step')
    .addOption(new Option('--negative <prompt>', 'the unconditional (negative) prompt').default('', '""'));
  addImageOptions(command);
  command
    .addOption(new Option('--cell-size <px>', 'contact sheet: scale images up (nearest neighbour) to at least this side').argParser(positiveIntArg(4096)).default(128))
    .addHelpText(
      'after',
      examples(
        [
          'edict sweep docs/examples/scene.png --source "a red circle on a blue striped background" --target "a yellow circle on a blue striped background" --mix 0.9,0.93,0.97 --strength 0.6,0.8 --guidance 1,3,5 -o out/sweep/',
          'edict sweep docs/examples/scene.png --source "a red circle on a blue striped background" --target "a yellow circle on a blue striped background" --target "a red square on a blue striped background" --method edict,ddim,sdedit --guidance 3,7 -o out/compare/',
          'edict sweep docs/examples/scene.png --source "a red circle on a blue striped background" --target "a yellow circle on a blue striped background" --steps 20,50 --json -o out/steps/ | jq -c "{id, psnr: .targets[0].psnrToInput}"',
        ],
        [
          'Writes, all at the end (an interrupted sweep writes nothing):',
          '  DIR/results.json       the grid, every cell with its metrics and timings, the batched groups',
          '  DIR/results.csv        one row per cell and target',
          '  DIR/contact-sheet.png  rows = cells; columns = input, each target, the round trip',
          '  DIR/images/            input.png, cell-<n>-<i>-<target>.png, cell-<n>-source.png',
        ],
      ),
    )
    .action((image: string, o: SweepValues, cmd: Command) => withRun('sweep', cmd, (run) => sweep(run, image, o)));
}

async function sweep(run: Run, image: string, o: SweepValues): Promise<void> {
  const started = performance.now();
  for (const steps of o.steps) for (const strength of o.strength) checkSchedule(steps, strength);
  const cells = gridCells(o);
  const edict = await run.load(o.size);
  const input = await readImage(image, edict.manifest.image, { size: o.size });
  const encodeStarted = performance.now();
  const encoded = await edict.encodeImage(image, { size: o.size, sample: o.sample ?? false, seed: o.seed, ...run.call() });
  const encodeSeconds = seconds(encodeStarted);

  const groups = new Map<string, Cell[]>();
  for (const cell of cells) {
    const key = `${cell.method}|${cell.steps}|${cell.strength}`;
    groups.set(key, [...(groups.get(key) ?? []), cell]);
  }
  const results: CellResult[] = [];
  const groupResults: GroupResult[] = [];
  const sheetImages = new Map<number, { images: RgbImage[]; roundTrip: RgbImage }>();
  const files = new FileBatch();
  const images = join(o.output, 'images');
  try {
    await files.add(join(images, 'input.png'), await encodeImageFor('input.png', input));
    let g = 0;
    for (const groupCells of groups.values()) {
      g++;
      run.checkCancelled();
      run.progress.label = `group ${g}/${groups.size}`;
      const out =
        groupCells[0].method === 'sdedit'
          ? await runSdeditGroup(run, edict, encoded, image, groupCells, o, g)
          : await runInversionGroup(run, edict, encoded, groupCells, o, g);
      run.progress.stop();
      groupResults.push(out.group);
      const n = groupCells.length;
      const share = (out.group.invertSeconds + out.group.generateSeconds + out.group.roundTripSeconds) / n;
      for (const [c, cell] of groupCells.entries()) {
        const result = out.cells[c];
        const prefix = `cell-${String(cell.id).padStart(3, '0')}`;
        const roundTripName = `${prefix}-source.png`;
        await files.add(join(images, roundTripName), await encodeImageFor(roundTripName, result.roundTrip));
        const targets: CellResult['targets'] = [];
        for (const [t, target] of o.target.entries()) {
          const name = `${prefix}-${t + 1}-${slug(target)}.png`;
          await files.add(join(images, name), await encodeImageFor(name, result.images[t]));
          const d = pixelDistance(result.images[t], input);
          targets.push({
            index: t + 1,
            target,
            image: `images/${name}`,
            psnrToInput: d.psnr,
            meanAbsErrorToInput: d.meanAbsError,
            ssimToInput: d.ssim,
            msSsimToInput: d.msSsim,
          });
        }
        const rt = pixelDistance(result.roundTrip, input);
        const cellResult: CellResult = {
          ...cell,
          group: g,
          roundTrip: {
            latentMaxAbsError: result.error.maxAbs,
            latentRmsError: result.error.rms,
            psnrToInput: rt.psnr,
            meanAbsErrorToInput: rt.meanAbsError,
            ssimToInput: rt.ssim,
            msSsimToInput: rt.msSsim,
            image: `images/${roundTripName}`,
          },
          targets,
          timings: {
            groupCells: n,
            invertSeconds: out.group.invertSeconds,
            generateSeconds: out.group.generateSeconds,
            roundTripSeconds: out.group.roundTripSeconds,
            secondsPerCell: share,
          },
        };
        results.push(cellResult);
        sheetImages.set(cell.id, { images: result.images, roundTrip: result.roundTrip });
      }
    }
    results.sort((a, b) => a.id - b.id);

    const sheet = await contactSheet({
      title: `edict sweep of ${basename(image)}: source "${o.source}"`,
      columns: ['input', ...o.target.map((t, i) => `${i + 1}: ${t}`), `round trip: ${o.source}`],
      rows: results.map((c) => {
        const s = sheetImages.get(c.id)!;
        return {
          label: [
            `#${c.id} ${c.method}, ${c.executed}/${c.steps} steps`,
            `strength ${c.strength}, guidance ${c.guidance}`,
            ...(c.mix !== null ? [`mix ${c.mix}`] : []),
            `round trip ${c.roundTrip.latentMaxAbsError.toExponential(1)}`,
            `PSNR ${c.targets.map((t) => t.psnrToInput.toFixed(1)).join(' / ')} dB`,
          ],
          images: [input, ...s.images, s.roundTrip],
        };
      }),
      cellSize: o.cellSize,
    });
    await files.add(join(o.output, 'contact-sheet.png'), sheet.png);
    await files.add(join(o.output, 'results.csv'), toCsv(results));
    const totalSeconds = seconds(started);
    const report = {
      type: 'sweep',
      version: 1,
      image,
      input: { width: input.width, height: input.height },
      model: edict.manifest.name,
      device: edict.device,
      dtype: edict.dtype,
      source: o.source,
      targets: o.target,
      negativePrompt: o.negative,
      leapfrog: o.leapfrog,
      seed: o.seed,
      grid: { method: o.method, steps: o.steps, strength: o.strength, guidance: o.guidance, mix: o.mix, gamma: o.gamma },
      cells: results,
      groups: groupResults,
      files: { csv: 'results.csv', contactSheet: 'contact-sheet.png', images: 'images/' },
      timings: { encodeSeconds, totalSeconds },
    };
    // jsonLine writes Infinity as "Infinity" (JSON has no literal for it).
    await files.add(join(o.output, 'results.json'), JSON.stringify(JSON.parse(jsonLine(report)), null, 2) + '\n');
    await files.commit(run.signal);
  } catch (error) {
    await files.discard();
    throw error;
  }

  for (const c of results) run.output.record({ type: 'result', command: 'sweep', ...c });
  run.output.record({
    type: 'summary',
    command: 'sweep',
    output: o.output,
    results: join(o.output, 'results.json'),
    csv: join(o.output, 'results.csv'),
    contactSheet: join(o.output, 'contact-sheet.png'),
    cells: results.length,
    groups: groupResults.length,
    totalSeconds: seconds(started),
  });
  for (const c of results) {
    const setting = `${c.method} steps ${c.steps} strength ${c.strength} guidance ${c.guidance}${c.mix !== null ? ` mix ${c.mix}` : ''}`;
    const psnrs = c.targets.map((t) => `${t.psnrToInput.toFixed(2)}`).join(' / ');
    run.output.text(`cell ${String(c.id).padStart(3)}  ${setting.padEnd(52)} round trip ${c.roundTrip.latentMaxAbsError.toExponential(2)}  PSNR to input ${psnrs} dB`);
  }
  run.output.text(
    `wrote ${join(o.output, 'results.json')}, results.csv, contact-sheet.png and images/ ` +
      `(${results.length} cells in ${groupResults.length} batched group(s), ${seconds(started).toFixed(2)} s)`,
  );
}
