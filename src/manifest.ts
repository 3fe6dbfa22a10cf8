/**
 * model.json: the manifest of a model folder (docs/model-format.md), parsed and checked before
 * anything is loaded, with one clear error per missing or wrong field.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { z } from 'zod';

import { EdictError, ErrorCode } from './errors.js';

// Bounds (src/limits.ts): every integer fits the addon's int32 arguments, and the ones that
// size an allocation at load stay far above any real model (SD: 1000 timesteps, 4 channels,
// 77 tokens of 768 or 1024, 512 or 768 pixels) and far below gigabytes.
const INT32_MAX = 2 ** 31 - 1;
const int = (min: number, max: number) => z.number().int().min(min).max(max);
const positiveInt = int(1, INT32_MAX);
const dtype = z.enum(['float16', 'bfloat16', 'float32', 'float64']);

const manifestSchema = z.object({
  format: z.literal('edict-model'),
  version: z.literal(1),
  name: z.string().min(1),
  description: z.string().optional(),
  components: z.object({
    textEncoder: z.string().min(1),
    unet: z.string().min(1),
    vaeEncoder: z.string().min(1),
    vaeDecoder: z.string().min(1),
    tokenizer: z.string().min(1),
  }),
  image: z.object({ width: int(1, 8192), height: int(1, 8192), multipleOf: positiveInt }),
  latent: z.object({ channels: int(1, 1024), downsample: positiveInt, scalingFactor: z.number().positive() }),
  text: z.object({
    maxLength: int(2, 4096),
    hiddenSize: int(1, 65536),
    padId: int(0, INT32_MAX),
    eosId: int(0, INT32_MAX).nullable(),
  }),
  // Strict: a scheduler setting the engine does not implement must not be dropped in silence.
  scheduler: z.strictObject(
    {
      numTrainTimesteps: int(2, 100_000),
      betaStart: z.number().positive().lt(1),
      betaEnd: z.number().positive().lt(1),
      betaSchedule: z.enum(['scaled_linear', 'linear']),
      setAlphaToOne: z.boolean(),
      stepsOffset: int(0, INT32_MAX),
      predictionType: z.enum(['epsilon', 'v_prediction']),
      clipSample: z.literal(false, { error: "must be false or absent: the engine does not clip the predicted sample (diffusers' clip_sample)" }).optional(),
      thresholding: z.literal(false, { error: "must be false or absent: the engine does not apply dynamic thresholding (diffusers' thresholding)" }).optional(),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown setting(s) ${issue.keys.join(', ')}: the engine implements only those of docs/model-format.md` : undefined) },
  ),
  dtypes: z.object({ cpu: dtype, cuda: dtype }),
  source: z.record(z.string(), z.unknown()).optional(),
});

export type ManifestData = z.infer<typeof manifestSchema>;

export interface ModelManifest extends ManifestData {
  /** The model folder, absolute. */
  dir: string;
  /** Absolute paths of the component files. */
  paths: ManifestData['components'];
}

/** A value as JSON, except what JSON cannot say: NaN and Infinity (JSON.stringify's "null"), functions. */
function show(value: unknown): string {
  if (typeof value === 'number') return String(value);
  const json = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
  return json ?? typeof value;
}

/** Describes a zod issue as "field.path: problem (got value)". */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = issue.path.join('.');
  let value: unknown = input;
  for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
  const got = value === undefined ? 'missing' : `got ${show(value)}`;
  return `${path || '(root)'}: ${issue.message} (${got})`;
}

export function parseManifest(data: unknown, dir: string): ModelManifest {
  const result = manifestSchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => describeIssue(issue, data));
    throw new EdictError(ErrorCode.ModelManifest, `invalid model.json in ${dir}:\n  ${problems.join('\n  ')}`);
  }
  const manifest = result.data;
  const { image, latent } = manifest;
  for (const [side, value] of [
    ['width', image.width],
    ['height', image.height],
  ] as const) {
    if (value % image.multipleOf !== 0 || value % latent.downsample !== 0) {
      throw new EdictError(
        ErrorCode.ModelManifest,
        `invalid model.json in ${dir}: image.${side} ${value} is not a multiple of image.multipleOf ` +
          `(${image.multipleOf}) and latent.downsample (${latent.downsample})`,
      );
    }
  }
  if (image.multipleOf % latent.downsample !== 0) {
    throw new EdictError(
      ErrorCode.ModelManifest,
      `invalid model.json in ${dir}: image.multipleOf (${image.multipleOf}) must be a multiple of latent.downsample (${latent.downsample})`,
    );
  }
  const paths = Object.fromEntries(
    Object.entries(manifest.components).map(([key, file]) => [key, resolve(dir, file)]),
  ) as ManifestData['components'];
  for (const [key, path] of Object.entries(paths)) {
    if (!existsSync(path)) {
      throw new EdictError(ErrorCode.ModelFileMissing, `model ${manifest.name}: components.${key} file not found: ${path}`);
    }
  }
  return { ...manifest, dir, paths };
}

/** Reads and validates `<dir>/model.json`. */
export function loadManifest(dir: string): ModelManifest {
  if (typeof dir !== 'string') {
    throw new EdictError(ErrorCode.InvalidOption, `the model folder must be a path (a string; none for the bundled model), got ${dir === null ? 'null' : typeof dir}`);
  }
  const folder = resolve(dir);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new EdictError(ErrorCode.ModelNotFound, `model folder not found: ${folder}`);
  }
  const file = join(folder, 'model.json');
  if (!existsSync(file)) {
    throw new EdictError(ErrorCode.ModelNotFound, `no model.json in ${folder} (not a model folder: see docs/model-format.md)`);
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new EdictError(ErrorCode.ModelManifest, `model.json in ${folder} is not valid JSON: ${(error as Error).message}`);
  }
  return parseManifest(data, folder);
}
