/**
 * edict invert INPUT... --prompt "..." -o OUT
 * Inverts images (or encoded latents files) to latents that `edict generate` continues from.
 * One input: OUT is the latents file. A folder, a glob or several inputs (a collection): OUT is
 * a folder and each input gets OUT/<name>.safetensors; images that come out the same size are
 * inverted together in batches of --batch.
 */
import { stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';

import { type Command, Option } from 'commander';
import sharp from 'sharp';

import { EdictError, ErrorCode } from '../errors.js';
import { targetSize } from '../image.js';
import { Latents } from '../latents.js';
import type { Edict } from '../pipeline.js';
import type { Run } from './context.js';
import { withRun } from './context.js';
import { UsageError } from './errors.js';
import { expandInputs, type InputFile } from './inputs.js';
import {
  addImageOptions,
  addSamplingOptions,
  checkSchedule,
  examples,
  positiveIntArg,
  promptArg,
  samplingOptions,
  type ImageValues,
  type SamplingValues,
} from './options.js';
import { FileBatch } from './output.js';

interface InvertValues extends SamplingValues, ImageValues {
  prompt: string;
  output: string;
  batch: number;
  allowModelMismatch?: boolean;
}

const stem = (path: string) => basename(path, extname(path));

/** Output file per input: OUT/<stem>.safetensors, or <name.ext>.safetensors where stems collide. */
function collectionPaths(folder: string, files: InputFile[]): string[] {
  const stems = files.map((f) => stem(f.path));
  const names = files.map((f, i) => (stems.filter((s) => s === stems[i]).length > 1 ? basename(f.path) : stems[i]));
  const seen = new Map<string, string>();
  return files.map((file, i) => {
    const other = seen.get(names[i]);
    if (other) {
      throw new UsageError(`${other} and ${file.path} would both be written to ${join(folder, `${names[i]}.safetensors`)}: invert them in separate runs`);
    }
    seen.set(names[i], file.path);
    return join(folder, `${names[i]}.safetensors`);
  });
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The size readImage will bring `path` to (orientation-aware), without decoding the pixels. */
async function modelSize(path: string, edict: Edict, o: InvertValues): Promise<string> {
  let meta;
  try {
    meta = await sharp(path).metadata();
  } catch (error) {
    throw new EdictError(ErrorCode.ImageDecode, `cannot decode image ${path}: ${(error as Error).message}`, { cause: error });
  }
  const { width = 0, height = 0, orientation } = meta;
  const size = orientation && orientation >= 5 ? { width: height, height: width } : { width, height };
  const target = targetSize(o.size, size, edict.manifest.image);
  return `${target.width}x${target.height}`;
}

export function registerInvert(program: Command): void {
  const command = program
    .command('invert')
    .summary('invert images (or encoded latents) to latents for "edict generate"')
    .description(
      'Inverts each INPUT with --prompt (a prompt that describes it) to the latents that "edict ' +
        'generate" continues from, saved as .safetensors with everything needed to continue. INPUT ' +
        'is an image, an encoded latents file ("edict encode"), a folder (its images, not recursive) ' +
        'or a quoted glob ("photos/**/*.jpg"). Images that come out the same size are inverted ' +
        'together, in batches of up to --batch.',
    )
    .argument('<inputs...>', 'images, latents files, folders or globs')
    .addOption(new Option('--prompt <prompt>', 'a prompt that describes the inputs').argParser(promptArg).makeOptionMandatory())
    .addOption(new Option('-o, --output <path>', 'the latents file, or the output folder for a collection').makeOptionMandatory());
  addSamplingOptions(command, ['edict', 'ddim', 'bdia', 'belm']);
  addImageOptions(command);
  command
    .addOption(new Option('--batch <n>', 'images per inversion call (same-size images only)').argParser(positiveIntArg(256)).default(8))
    .option('--allow-model-mismatch', 'use encoded latents that another model made (refused by default: ERR_MODEL_MISMATCH)')
    .addHelpText(
      'after',
      examples(
        [
          'edict invert docs/examples/scene.png --prompt "a red circle on a blue striped background" -o out/scene.safetensors',
          'edict invert docs/examples/scenes/ --prompt "a red circle on a blue striped background" --steps 50 -o out/inverted/',
          'edict invert "docs/examples/**/*.png" --prompt "a red circle on a blue striped background" --batch 4 --json -o out/inverted/',
          'edict encode docs/examples/scene.png -o out/z.safetensors && edict invert out/z.safetensors --prompt "a red circle on a blue striped background" -o out/scene.safetensors',
        ],
        [
          'Output naming:',
          '  one input         -o is the file (an existing folder or a path ending in /: <folder>/<name>.safetensors)',
          '  a folder, a glob  -o is a folder (created); each input is written to <folder>/<name>.safetensors',
          '  or several inputs (<name.ext>.safetensors where two inputs share a name)',
          'Exactness: a batch changes the low bits of float32 UNet kernels. For round trips exact to',
          'float64 rounding, generate with the same batch layout, or invert with --batch 1.',
        ],
      ),
    )
    .action((inputs: string[], o: InvertValues, cmd: Command) =>
      withRun('invert', cmd, async (run) => {
        const executed = checkSchedule(o.steps, o.strength);
        const { files, collection } = await expandInputs(inputs);
        let paths: string[];
        if (collection) {
          if (extname(o.output).toLowerCase() === '.safetensors') {
            throw new UsageError(`${files.length} inputs are written one file each: -o must be a folder, got ${o.output}`);
          }
          paths = collectionPaths(o.output, files);
        } else {
          paths = (await isFolder(o.output)) || o.output.endsWith('/') ? collectionPaths(o.output, files) : [o.output];
        }
        const edict = await run.load(o.size);
        const options = {
          ...samplingOptions(o),
          method: o.method as 'edict' | 'ddim' | 'bdia' | 'belm',
          prompt: o.prompt,
          size: o.size,
          seed: o.seed,
          sample: o.sample ?? false,
          allowModelMismatch: o.allowModelMismatch ?? false,
        };

        // Jobs: each latents file alone; images grouped by the size they come out at.
        const jobs: { items: number[]; latents: boolean }[] = [];
        const groups = new Map<string, number[]>();
        for (const [i, file] of files.entries()) {
          if (file.kind === 'latents') jobs.push({ items: [i], latents: true });
          else {
            const key = await modelSize(file.path, edict, o);
            groups.set(key, [...(groups.get(key) ?? []), i]);
          }
        }
        for (const items of groups.values()) {
          for (let k = 0; k < items.length; k += o.batch) jobs.push({ items: items.slice(k, k + o.batch), latents: false });
        }
        jobs.sort((a, b) => a.items[0] - b.items[0]);

        for (const [j, job] of jobs.entries()) {
          run.checkCancelled();
          if (jobs.length > 1) run.progress.label = `batch ${j + 1}/${jobs.length}`;
          await invertJob(run, edict, job, files, paths, options, { executed, batchLabel: `${j + 1}/${jobs.length}` });
        }
      }),
    );
}

async function invertJob(
  run: Run,
  edict: Edict,
  job: { items: number[]; latents: boolean },
  files: InputFile[],
  paths: string[],
  options: Parameters<Edict['invert']>[1],
  info: { executed: number; batchLabel: string },
): Promise<void> {
  const started = performance.now();
  const input = job.latents ? await Latents.load(files[job.items[0]].path) : job.items.map((i) => files[i].path);
  const inverted = await edict.invert(input, { ...options, ...run.call() });
  const seconds = (performance.now() - started) / 1000;
  run.progress.stop();
  // A latents file is written back as the batch it was; images one file each.
  const outputs = job.latents ? [inverted] : job.items.map((_, k) => inverted.item(k));
  const staged = new FileBatch();
  try {
    for (const [k, latents] of outputs.entries()) await staged.add(paths[job.items[k]], latents.toSafeTensors());
    await staged.commit(run.signal);
  } catch (error) {
    await staged.discard();
    throw error;
  }
  for (const [k, latents] of outputs.entries()) {
    const i = job.items[k];
    const p = latents.params;
    run.output.record({
      type: 'result',
      command: 'invert',
      input: files[i].path,
      output: paths[i],
      shape: latents.shape,
      prompt: p.prompts[0],
      method: p.method,
      steps: p.steps,
      strength: p.strength,
      executed: p.executed,
      guidance: p.guidance[0],
      mix: p.mix[0],
      leapfrog: p.leapfrog,
      negativePrompt: p.negativePrompts[0],
      imageWidth: p.imageWidth,
      imageHeight: p.imageHeight,
      batch: info.batchLabel,
      batchSize: job.latents ? inverted.batch : job.items.length,
      seconds,
    });
    run.output.text(`wrote ${paths[i]}  (${files[i].path}: ${p.method}, ${info.executed} of ${p.steps} steps)`);
  }
}
