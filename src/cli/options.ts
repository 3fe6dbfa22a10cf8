/**
 * Option parsing shared by the commands. Values are checked while commander parses, with the
 * API's own rules (the zod schemas of src/options.ts, parseDevice/parseDtype), so a bad value
 * is a usage error (exit 2) that names the flag, the value given and what is allowed, in the
 * words the API would use.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';

import { parseDevice, parseDtype, type Device, type Dtype } from '../devices.js';
import { EdictError } from '../errors.js';
import { isWriteThrough } from '../files.js';
import type { SizePolicy } from '../image.js';
import { DEFAULTS, editOptionsSchema, loadOptionsSchema } from '../options.js';
import type { Method } from '../pipeline.js';
import { UsageError } from './errors.js';
import { IMAGE_EXTENSIONS, imageFormat } from './output.js';
import type { ProgressMode } from './progress.js';

const decimal = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Checks `value` with a zod schema; throws commander's InvalidArgumentError with the schema's message. */
function check<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidArgumentError(result.error.issues[0].message);
  return result.data;
}

function toNumber(text: string): number {
  if (!decimal.test(text.trim())) throw new InvalidArgumentError('must be a number');
  return Number(text);
}

type NumberField = 'steps' | 'strength' | 'guidance' | 'mix' | 'gamma' | 'seed';

/** A parser for one number, checked with the API's rule for `field`. */
export function numberArg(field: NumberField): (text: string) => number {
  const schema = editOptionsSchema.shape[field] as z.ZodType<number | undefined>;
  return (text) => check(schema, toNumber(text)) as number;
}

/** A parser for a comma-separated list of numbers (duplicates dropped, order kept). */
export function numberListArg(field: NumberField): (text: string) => number[] {
  const one = numberArg(field);
  return (text) => {
    const items = text.split(',').map((s) => s.trim());
    const values: number[] = [];
    for (const [i, item] of items.entries()) {
      if (item === '') throw new InvalidArgumentError(`item ${i + 1} is empty: give a comma-separated list such as 1,3,5`);
      try {
        values.push(one(item));
      } catch (error) {
        throw new InvalidArgumentError(`item ${i + 1} (${JSON.stringify(item)}) ${(error as Error).message}`);
      }
    }
    return [...new Set(values)];
  };
}

/** A positive integer (batch sizes, cell sizes). */
export function positiveIntArg(max: number): (text: string) => number {
  return (text) => {
    const value = toNumber(text);
    if (!Number.isInteger(value) || value < 1 || value > max) throw new InvalidArgumentError(`must be an integer in [1, ${max}]`);
    return value;
  };
}

export function threadsArg(text: string): number {
  return check(loadOptionsSchema.shape.threads as z.ZodType<number | undefined>, toNumber(text)) as number;
}

export function maxWorkPixelsArg(text: string): number {
  return check(loadOptionsSchema.shape.maxWorkPixels as z.ZodType<number | undefined>, toNumber(text)) as number;
}

/** A prompt: a non-empty string (the API's rule). */
export function promptArg(text: string): string {
  return check(editOptionsSchema.shape.source, text);
}

/** A repeatable prompt: each use adds one. */
export function collectPrompt(text: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), promptArg(text)];
}

export function sizeArg(text: string): SizePolicy {
  if (text === 'native' || text === 'keep-aspect') return text;
  const match = /^(\d{1,5})x(\d{1,5})$/i.exec(text);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
    throw new InvalidArgumentError('must be "native", "keep-aspect" or WIDTHxHEIGHT (such as 64x48)');
  }
  return { width: Number(match[1]), height: Number(match[2]) };
}

function apiArg<T>(parse: (value: unknown) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof EdictError ? error.message : String(error));
    }
  };
}

export const deviceArg = apiArg(parseDevice);
export const dtypeArg = apiArg(parseDtype);

const methods = ['edict', 'ddim', 'sdedit', 'bdia', 'belm'] as const;

/** A comma-separated list of methods (sweep). */
export function methodListArg(text: string): Method[] {
  const values = text.split(',').map((s) => s.trim());
  for (const value of values) {
    if (!(methods as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`${JSON.stringify(value)} is not a method: allowed are ${methods.join(', ')} (comma-separated)`);
    }
  }
  return [...new Set(values)] as Method[];
}

// ---- option sets ---------------------------------------------------------------------------

export interface GlobalOptions {
  model: string;
  device: Device;
  dtype?: Dtype;
  threads?: number;
  maxWorkPixels?: number;
  json: boolean;
  progress: ProgressMode;
  verbose: boolean;
}

export function globalOptions(command: Command): GlobalOptions {
  const o = command.optsWithGlobals<Partial<GlobalOptions>>();
  return {
    model: o.model as string,
    device: o.device ?? 'cpu',
    dtype: o.dtype,
    threads: o.threads,
    maxWorkPixels: o.maxWorkPixels,
    json: o.json ?? false,
    progress: o.progress ?? 'auto',
    verbose: o.verbose ?? false,
  };
}

/** The engine options of edit / invert / reconstruct: one value each. */
export function addSamplingOptions(command: Command, methodChoices: readonly Method[]): Command {
  return command
    .addOption(new Option('--steps <n>', 'DDIM steps of the full schedule').argParser(numberArg('steps')).default(DEFAULTS.steps))
    .addOption(
      new Option('--strength <s>', 'fraction of the schedule run from the image, in (0, 1]: floor(steps*strength) steps')
        .argParser(numberArg('strength'))
        .default(DEFAULTS.strength),
    )
    .addOption(new Option('--guidance <g>', 'classifier-free guidance scale (1: conditional pass alone)').argParser(numberArg('guidance')).default(DEFAULTS.guidance))
    .addOption(new Option('--mix <p>', 'EDICT mixing weight p, in (0, 1]').argParser(numberArg('mix')).default(DEFAULTS.mix))
    .addOption(new Option('--gamma <g>', 'BDIA: weight of the latent two levels back, in (0, 1]').argParser(numberArg('gamma')).default(DEFAULTS.gamma))
    .option('--no-leapfrog', 'EDICT: keep the same update order on every step')
    .addOption(new Option('--negative <prompt>', 'the unconditional (negative) prompt').default(DEFAULTS.negativePrompt, '""'))
    .addOption(new Option('--method <name>', 'inversion method').choices(methodChoices).default(DEFAULTS.method));
}

/** How inputs are read: --size, --sample, --seed. */
export function addImageOptions(command: Command, { sample = true }: { sample?: boolean } = {}): Command {
  command.addOption(
    new Option('--size <policy>', 'input sizing: native (the model size), keep-aspect (about the native area, the input aspect), or WxH')
      .argParser(sizeArg)
      .default('native'),
  );
  if (sample) command.option('--sample', 'encode with a seeded sample of the VAE posterior instead of its mean');
  return command.addOption(new Option('--seed <n>', 'seed of SDEdit noise and posterior sampling').argParser(numberArg('seed')).default(DEFAULTS.seed));
}

export interface SamplingValues {
  steps: number;
  strength: number;
  guidance: number;
  mix: number;
  gamma: number;
  leapfrog: boolean;
  negative: string;
  method: Method;
}

export interface ImageValues {
  size: SizePolicy;
  sample?: boolean;
  seed: number;
}

/** The text after a command's options: notes (printed as written, not wrapped), then examples. */
export function examples(lines: string[], notes: string[] = []): string {
  const head = notes.length ? `\n${notes.join('\n')}\n` : '';
  return `${head}\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

/** steps * strength must run at least one step (the API's rule, checked before loading). */
export function checkSchedule(steps: number, strength: number): number {
  const executed = Math.floor(steps * strength);
  if (executed < 1) {
    throw new UsageError(`--strength ${strength} with --steps ${steps} runs no step: need steps * strength >= 1 (floor(steps * strength) steps run)`);
  }
  return executed;
}

/** The API's sampling options from the CLI values. */
export function samplingOptions(o: SamplingValues): {
  steps: number;
  strength: number;
  guidance: number;
  mix: number;
  gamma: number;
  leapfrog: boolean;
  negativePrompt: string;
} {
  return { steps: o.steps, strength: o.strength, guidance: o.guidance, mix: o.mix, gamma: o.gamma, leapfrog: o.leapfrog, negativePrompt: o.negative };
}

/** Checks that an image output path (or pattern) has an image extension, or is a device or FIFO (PNG). */
export function checkImageOutput(flag: string, path: string): void {
  if (!imageFormat(path) && !isWriteThrough(path)) {
    throw new UsageError(`option '${flag}' argument '${path}' is invalid: the extension picks the format, use one of ${IMAGE_EXTENSIONS.join(', ')}`);
  }
}
