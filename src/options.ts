/**
 * Option schemas for the public API, checked in TypeScript before anything crosses into C++
 * (as sharp validates in lib/ before src/). A bad option is an EdictError whose message names
 * the option, what is allowed and what was given.
 */
import { z } from 'zod';

import { EdictError, ErrorCode } from './errors.js';
import { describeIssue } from './manifest.js';

/** A progress report: `phase` is encode | invert | generate | decode. */
export interface Progress {
  phase: string;
  step: number;
  total: number;
}

export const DEFAULTS = {
  steps: 50,
  strength: 0.8,
  guidance: 3,
  mix: 0.93,
  leapfrog: true,
  negativePrompt: '',
  method: 'edict',
  seed: 0,
} as const;

const prompt = z.string({ error: 'must be a string' }).refine((s) => s.trim().length > 0, 'must not be empty');
const prompts = z.union([prompt, z.array(prompt).min(1, 'must list at least one prompt').max(256, 'at most 256 prompts per call')]);
// The ranges of the sampling settings, shared with the latents' params (src/latents.ts).
export const steps = z.number().int('must be an integer').min(1, 'must be >= 1').max(1000, 'must be <= 1000');
export const strength = z.number().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]');
export const guidance = z.number().min(0, 'must be >= 0').max(100, 'must be <= 100');
export const mix = z.number().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]');
// torch's CPU generator keeps 32 bits of a seed; larger ones are refused, not folded.
export const seed = z.number().int('must be an integer').min(0, 'must be >= 0').max(2 ** 32 - 1, "must be <= 2^32 - 1 (torch's CPU generator keeps 32 bits)");

const call = {
  signal: z.instanceof(AbortSignal, { error: 'must be an AbortSignal' }).optional(),
  onProgress: z.custom<(event: Progress) => void>((v) => typeof v === 'function', 'must be a function').optional(),
  onWarning: z.custom<(message: string) => void>((v) => typeof v === 'function', 'must be a function').optional(),
};

const sampling = {
  steps: steps.optional(),
  strength: strength.optional(),
  guidance: guidance.optional(),
  mix: mix.optional(),
  leapfrog: z.boolean({ error: 'must be a boolean' }).optional(),
  negativePrompt: z.string({ error: 'must be a string' }).optional(),
};

const imageOptions = {
  size: z
    .union([z.enum(['native', 'keep-aspect']), z.object({ width: z.number().int().positive(), height: z.number().int().positive() })], {
      error: 'must be "native", "keep-aspect" or {width, height}',
    })
    .optional(),
  seed: seed.optional(),
};

export const loadOptionsSchema = z.object({
  device: z.string().optional(),
  dtype: z.string().optional(),
  textDtype: z.string().optional(),
  vaeDtype: z.string().optional(),
  threads: z.number().int('must be an integer').min(1, 'must be >= 1').max(1024).optional(),
  exact: z.boolean({ error: 'must be a boolean' }).optional(),
  maxPixels: z.number().int().positive().optional(),
  maxWorkPixels: z.number().int('must be an integer').positive('must be > 0').optional(),
  stateDtype: z.enum(['float64', 'float32'], { error: 'must be "float64" or "float32"' }).optional(),
  onWarning: call.onWarning,
});

export const invertOptionsSchema = z.object({
  ...call,
  ...sampling,
  ...imageOptions,
  prompt: prompts,
  guidance: z.union([guidance, z.array(guidance).min(1)]).optional(),
  mix: z.union([mix, z.array(mix).min(1)]).optional(),
  method: z.enum(['edict', 'ddim'], { error: 'must be "edict" or "ddim" (SDEdit does not invert)' }).optional(),
  sample: z.boolean().optional(),
});

export const generateOptionsSchema = z.object({
  ...call,
  prompt: prompts,
  guidance: z.union([guidance, z.array(guidance).min(1)]).optional(),
  mix: z.union([mix, z.array(mix).min(1)]).optional(),
  negativePrompt: z.string({ error: 'must be a string' }).optional(),
  both: z.boolean().optional(),
});

export const editOptionsSchema = z.object({
  ...call,
  ...sampling,
  ...imageOptions,
  source: prompt,
  target: prompts,
  method: z.enum(['edict', 'ddim', 'sdedit'], { error: 'must be "edict", "ddim" or "sdedit"' }).optional(),
  both: z.boolean().optional(),
  sample: z.boolean().optional(),
});

export const reconstructOptionsSchema = z.object({
  ...call,
  ...sampling,
  ...imageOptions,
  prompt: prompt,
  method: z.enum(['edict', 'ddim'], { error: 'must be "edict" or "ddim"' }).optional(),
});

export const sampleOptionsSchema = z.object({
  ...call,
  prompt: prompts,
  steps: sampling.steps,
  guidance: sampling.guidance,
  mix: sampling.mix,
  leapfrog: sampling.leapfrog,
  negativePrompt: sampling.negativePrompt,
  seed: imageOptions.seed,
  method: z.enum(['edict', 'ddim'], { error: 'must be "edict" or "ddim"' }).optional(),
  size: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }).optional(),
});

export const encodeImageOptionsSchema = z.object({ ...imageOptions, sample: z.boolean().optional() });

const promptFields = new Set(['prompt', 'source', 'target']);

/** Parses `value` with `schema`, or throws the EdictError that names the first bad option. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  if (value === undefined || value === null || typeof value !== 'object') {
    throw new EdictError(ErrorCode.InvalidOption, `${what}: options must be an object, got ${value === null ? 'null' : typeof value}`);
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = String(issue.path[0] ?? '');
  const code = promptFields.has(field) ? ErrorCode.Prompt : ErrorCode.InvalidOption;
  const extra = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more)` : '';
  throw new EdictError(code, `${what}: option ${describeIssue(issue, value)}${extra}`);
}

/**
 * floor(steps * strength): how many of the schedule's last steps run. Also checks that the
 * schedule fits the model: its first timestep (steps - 1) * floor(T / steps) + stepsOffset
 * must stay below the model's T train timesteps.
 */
export function executedSteps(
  steps: number,
  strength: number,
  scheduler: { numTrainTimesteps: number; stepsOffset: number },
): number {
  const T = scheduler.numTrainTimesteps;
  const first = steps > T ? Number.POSITIVE_INFINITY : (steps - 1) * Math.floor(T / steps) + scheduler.stepsOffset;
  if (first >= T) {
    throw new EdictError(
      ErrorCode.InvalidOption,
      `steps ${steps} does not fit this model's schedule: its first timestep would be ${first}, ` +
        `the model has ${T} (steps_offset ${scheduler.stepsOffset}); use fewer steps`,
    );
  }
  const executed = Math.floor(steps * strength);
  if (executed < 1) {
    throw new EdictError(ErrorCode.InvalidOption, `strength ${strength} with ${steps} steps runs no step: need steps * strength >= 1`);
  }
  return executed;
}
