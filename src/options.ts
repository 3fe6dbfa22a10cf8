/**
 * Option schemas for the public API, checked in TypeScript before anything crosses into C++
 * (as sharp validates in lib/ before src/). A bad option is an EdictError whose message names
 * the option, what is allowed and what was given.
 */
import { z } from 'zod';

import type { Device, Dtype } from './devices.js';
import { EdictError, ErrorCode } from './errors.js';
import { describeIssue } from './manifest.js';
import { nearest } from './suggest.js';

/** A progress report: `phase` is encode | invert | generate | decode. */
export interface Progress {
  phase: string;
  step: number;
  total: number;
}

/** What onStep receives after each step of a sampling loop. */
export interface StepEvent {
  phase: 'invert' | 'generate';
  /** Steps done (1-based) of `total`. */
  step: number;
  total: number;
  /** The timestep the step evaluated the UNet at. */
  t: number;
  /** With stepLatents: copies of the current latents, [B, C, h, w] float64 (EDICT: x and y). */
  x?: Float64Array;
  y?: Float64Array;
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
  gamma: 0.96,
} as const;

const prompt = z.string({ error: 'must be a string' }).refine((s) => s.trim().length > 0, 'must not be empty');
const prompts = z.union([prompt, z.array(prompt).min(1, 'must list at least one prompt').max(256, 'at most 256 prompts per call')]);
// The ranges of the sampling settings, shared with the latents' params (src/latents.ts).
export const steps = z.number().int('must be an integer').min(1, 'must be >= 1').max(1000, 'must be <= 1000');
export const strength = z.number().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]');
export const guidance = z.number().min(0, 'must be >= 0').max(100, 'must be <= 100');
export const mix = z.number().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]');
export const gamma = z.number().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]');
// torch's CPU generator keeps 32 bits of a seed; larger ones are refused, not folded.
export const seed = z.number().int('must be an integer').min(0, 'must be >= 0').max(2 ** 32 - 1, "must be <= 2^32 - 1 (torch's CPU generator keeps 32 bits)");

// Each schema is strict (an unknown key is refused with the nearest known one), and the
// public option types are derived from them (z.input), so the two cannot drift; the doc
// comments on the fields are what editors show for the options.

const call = {
  /** Cancels the call between UNet evaluations; it rejects with ERR_CANCELLED. */
  signal: z.instanceof(AbortSignal, { error: 'must be an AbortSignal' }).optional(),
  /** Per-step progress: {phase: encode | invert | generate | decode, step, total}. */
  onProgress: z.custom<(event: Progress) => void>((v) => typeof v === 'function', 'must be a function').optional(),
  /**
   * Receives this call's warnings with a code (truncated prompts, unknown words: EDICT_WARNING;
   * a round trip that will not be exact: EDICT_INEXACT_ROUND_TRIP); overrides the pipeline's.
   */
  onWarning: z.custom<(message: string, code: string) => void>((v) => typeof v === 'function', 'must be a function').optional(),
  /** Rejects with ERR_TIMEOUT after this many milliseconds, queued or running (its work stops at the next UNet call). */
  timeoutMs: z.number().int('must be an integer').positive('must be > 0').max(2 ** 31 - 1).optional(),
  /** After each step of a sampling loop: the step, its timestep and (with stepLatents) the latents. Costs nothing when not set. */
  onStep: z.custom<(event: StepEvent) => void>((v) => typeof v === 'function', 'must be a function').optional(),
  /** onStep also receives copies of the current latents (one host copy per step). */
  stepLatents: z.boolean({ error: 'must be a boolean' }).optional(),
  /** Queue priority, -100..100 (default 0): higher is served first; equal ones in order. */
  priority: z.number().int('must be an integer').min(-100, 'must be >= -100').max(100, 'must be <= 100').optional(),
};

/**
 * Share UNet calls only among this call's own items, in the same layout both ways, so that a
 * float32 round trip stays exact (default: true for reconstruct, false elsewhere; a float64
 * UNet is exact either way).
 */
const isolate = z.boolean({ error: 'must be a boolean' }).optional();

const sampling = {
  /** DDIM steps of the full schedule (default 50). */
  steps: steps.optional(),
  /** Fraction of the schedule run from the image (default 0.8): floor(steps * strength) steps. */
  strength: strength.optional(),
  /**
   * Classifier-free guidance scale g, 0..100 (default 3): the UNet sees e_u + g (e_c - e_u) for
   * every g, so 1 runs the conditional pass alone, 0 the unconditional one, and between them it
   * interpolates (diffusers instead turns guidance off at g <= 1).
   */
  guidance: guidance.optional(),
  /** EDICT mixing weight p in (0, 1] (default 0.93). */
  mix: mix.optional(),
  /** BDIA's gamma in (0, 1] (default 0.96): the weight of the latent two levels back. */
  gamma: gamma.optional(),
  /** EDICT: alternate the update order on odd steps (default true). */
  leapfrog: z.boolean({ error: 'must be a boolean' }).optional(),
  /** The unconditional prompt (default ""). */
  negativePrompt: z.string({ error: 'must be a string' }).optional(),
};

const size = z.strictObject({ width: z.number().int().positive(), height: z.number().int().positive() });

const imageOptions = {
  /** How inputs are sized: "native" (default), "keep-aspect" or {width, height}. */
  size: z.union([z.enum(['native', 'keep-aspect']), size], { error: 'must be "native", "keep-aspect" or {width, height}' }).optional(),
  /** Seed of SDEdit's noise and of posterior sampling (default 0). */
  seed: seed.optional(),
};

/** Encode a posterior sample (seeded by `seed`) instead of the posterior mean. */
const sample = z.boolean({ error: 'must be a boolean' }).optional();
/** Also decode y (EDICT): `imagesY`. */
const both = z.boolean({ error: 'must be a boolean' }).optional();
/**
 * Use latents another model made (their fingerprint differs from this model's): refused with
 * ERR_MODEL_MISMATCH by default, since they run but mean nothing to this model.
 */
const allowModelMismatch = z.boolean({ error: 'must be a boolean' }).optional();
/** A guidance or mix for all items, or one per item of the batch. */
const perItem = (schema: z.ZodNumber) => z.union([schema, z.array(schema).min(1)]).optional();

export const callOptionsSchema = z.strictObject(call);
export const samplingOptionsSchema = z.strictObject(sampling);
export const imageOptionsSchema = z.strictObject(imageOptions);

export const loadOptionsSchema = z.strictObject({
  /** "cpu" (default), "cuda" or "cuda:N". */
  device: z.custom<Device>((v) => typeof v === 'string', 'must be a string').optional(),
  /** UNet dtype; default from the model's manifest (float32 on CPU, float16 on CUDA). */
  dtype: z.custom<Dtype>((v) => typeof v === 'string', 'must be a string').optional(),
  /** Text encoder dtype (default float32, or float64 when dtype is float64). */
  textDtype: z.custom<Dtype>((v) => typeof v === 'string', 'must be a string').optional(),
  /** VAE dtype (default float32, or float64 when dtype is float64). */
  vaeDtype: z.custom<Dtype>((v) => typeof v === 'string', 'must be a string').optional(),
  /** Intra-op threads (default EDICT_THREADS, or half the cores). */
  threads: z.number().int('must be an integer').min(1, 'must be >= 1').max(1024).optional(),
  /** CUDA: deterministic kernels and no TF32, so inversions round-trip exactly (default true). */
  exact: z.boolean({ error: 'must be a boolean' }).optional(),
  /** Refuse input images with more pixels than this (default 64 Mi). */
  maxPixels: z.number().int().positive().optional(),
  /**
   * Refuse to work at a size (width x height: `size`, `keep-aspect`, `sample`, latents) of more
   * pixels than this (ERR_IMAGE_SIZE; default 4x the model's native area: 1024x1024 for SD 1.x).
   */
  maxWorkPixels: z.number().int('must be an integer').positive('must be > 0').optional(),
  /** The dtype of x, y and the coupling arithmetic (default float64; float32 for comparisons). */
  stateDtype: z.enum(['float64', 'float32'], { error: 'must be "float64" or "float32"' }).optional(),
  /** Receives warnings (truncated prompts, unknown words); default: process.emitWarning. */
  onWarning: call.onWarning,
  /** How concurrent calls share UNet evaluations (the compute thread's step scheduler). */
  batching: z
    .strictObject({
      /**
       * "continuous" (default): a call joins the running batch at the next UNet call;
       * "request": a batch forms from what is queued and runs to completion; "serial": one
       * sampling call at a time.
       */
      policy: z.enum(['continuous', 'request', 'serial'], { error: 'must be "continuous", "request" or "serial"' }).optional(),
      /** Items per UNet call, beyond which items take turns (default 8). */
      maxBatch: z.number().int('must be an integer').min(1, 'must be >= 1').max(4096).optional(),
      /** Sampling calls that may be queued or running at once; one more is refused with ERR_OVERLOADED (default: no limit). */
      maxQueue: z.number().int('must be an integer').min(1, 'must be >= 1').max(2 ** 31 - 1).optional(),
      /** "request": how long a forming batch waits for more calls, in ms (default 5). */
      maxQueueDelayMs: z.number().int('must be an integer').min(0, 'must be >= 0').max(60_000).optional(),
    })
    .optional(),
});

export const loadModuleOptionsSchema = z.strictObject({
  device: loadOptionsSchema.shape.device,
  /** The dtype floating parameters are cast to (default float32). */
  dtype: loadOptionsSchema.shape.dtype,
  /** Intra-op threads for this module's calls (default EDICT_THREADS, or half the cores). */
  threads: loadOptionsSchema.shape.threads,
});

export const invertOptionsSchema = z.strictObject({
  ...call,
  ...sampling,
  ...imageOptions,
  /** The prompt that describes the image(s): one for all, or one per item. */
  prompt: prompts,
  guidance: perItem(guidance),
  mix: perItem(mix),
  /** "edict" (default) or "ddim" (SDEdit does not invert). */
  method: z.enum(['edict', 'ddim', 'bdia', 'belm'], { error: 'must be "edict", "ddim", "bdia" or "belm" (SDEdit does not invert)' }).optional(),
  sample,
  allowModelMismatch,
  isolate,
});

export const generateOptionsSchema = z.strictObject({
  ...call,
  /** Target prompts: one latent and K prompts run as a batch of K; B latents take B (or one). */
  prompt: prompts,
  /** Default: the inversion's. */
  guidance: perItem(guidance),
  /** Default: the inversion's. */
  mix: perItem(mix),
  negativePrompt: sampling.negativePrompt,
  both,
  allowModelMismatch,
  isolate,
});

export const editOptionsSchema = z.strictObject({
  ...call,
  ...sampling,
  ...imageOptions,
  /** The prompt that describes the image. */
  source: prompt,
  /** The prompt(s) of the result; a list runs as one batch after a single inversion. */
  target: prompts,
  /** "edict" (default), "ddim" (DDIM inversion) or "sdedit" (seeded noise, then DDIM). */
  method: z.enum(['edict', 'ddim', 'sdedit', 'bdia', 'belm'], { error: 'must be "edict", "ddim", "sdedit", "bdia" or "belm"' }).optional(),
  both,
  sample,
  isolate,
});

export const reconstructOptionsSchema = z.strictObject({
  ...call,
  ...sampling,
  ...imageOptions,
  /** The prompt that describes the image: it inverts and regenerates with it. */
  prompt: prompt,
  method: z.enum(['edict', 'ddim', 'bdia', 'belm'], { error: 'must be "edict", "ddim", "bdia" or "belm"' }).optional(),
  allowModelMismatch,
  /** Default true: the round trip is exact only in the same batch layout both ways. */
  isolate,
});

export const sampleOptionsSchema = z.strictObject({
  ...call,
  prompt: prompts,
  steps: sampling.steps,
  guidance: sampling.guidance,
  mix: sampling.mix,
  leapfrog: sampling.leapfrog,
  gamma: sampling.gamma,
  negativePrompt: sampling.negativePrompt,
  /** Item i of the batch starts from the noise of seed + i (default 0). */
  seed: imageOptions.seed,
  /** "ddim" (default) or "edict". */
  method: z.enum(['edict', 'ddim', 'bdia', 'belm'], { error: 'must be "edict", "ddim", "bdia" or "belm"' }).optional(),
  /** The output size (default the model's native size). */
  size: size.optional(),
  isolate,
});

export const encodeImageOptionsSchema = z.strictObject({ ...call, ...imageOptions, sample });

export const decodeLatentsOptionsSchema = z.strictObject({
  ...call,
  /** Which of EDICT's pair to decode (default "x"). */
  which: z.enum(['x', 'y'], { error: 'must be "x" or "y"' }).optional(),
  allowModelMismatch,
});

export type CallOptions = z.input<typeof callOptionsSchema>;
export type SamplingOptions = z.input<typeof samplingOptionsSchema>;
export type ImageOptions = z.input<typeof imageOptionsSchema>;
export type LoadOptions = z.input<typeof loadOptionsSchema>;
export type LoadModuleOptions = z.input<typeof loadModuleOptionsSchema>;
export type InvertOptions = z.input<typeof invertOptionsSchema>;
export type GenerateOptions = z.input<typeof generateOptionsSchema>;
export type EditOptions = z.input<typeof editOptionsSchema>;
export type ReconstructOptions = z.input<typeof reconstructOptionsSchema>;
export type SampleOptions = z.input<typeof sampleOptionsSchema>;
export type EncodeImageOptions = z.input<typeof encodeImageOptionsSchema>;
export type DecodeLatentsOptions = z.input<typeof decodeLatentsOptionsSchema>;

const promptFields = new Set(['prompt', 'source', 'target']);

/** An unknown key: the nearest known one, or the list of known ones. */
function unknownKey(key: string, path: PropertyKey[], schema: z.ZodObject): string {
  let shape = schema;
  for (const part of path) shape = (shape.shape[part as string] as z.ZodType as { unwrap?: () => z.ZodObject }).unwrap?.() ?? shape;
  const known = Object.keys(shape.shape);
  const name = [...path, key].join('.');
  const guess = nearest(key, known);
  return `unknown option ${JSON.stringify(name)} (${guess ? `did you mean ${JSON.stringify(guess)}?` : `known: ${known.join(', ')}`})`;
}

/** Parses `value` with `schema`, or throws the EdictError that names the first bad option. */
export function validate<S extends z.ZodObject>(schema: S, value: unknown, what: string): z.output<S> {
  if (value === undefined || value === null || typeof value !== 'object') {
    throw new EdictError(ErrorCode.InvalidOption, `${what}: options must be an object, got ${value === null ? 'null' : typeof value}`);
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const extra = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more)` : '';
  if (issue.code === 'unrecognized_keys') {
    throw new EdictError(ErrorCode.InvalidOption, `${what}: ${unknownKey(issue.keys[0], issue.path, schema)}${extra}`);
  }
  const field = String(issue.path[0] ?? '');
  const code = promptFields.has(field) ? ErrorCode.Prompt : ErrorCode.InvalidOption;
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
