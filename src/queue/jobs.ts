/**
 * The jobs of the distributed queue (`edict worker`, EdictQueue): JSON-serialisable requests
 * (image bytes and .safetensors latents as base64, the API's options without callbacks) and
 * results (PNG / .safetensors bytes as base64 under a size cap, or files written to the job's
 * outputDir). Options are validated with the API's own schemas (src/options.ts) at enqueue, so
 * a bad job fails in the client with the EdictError the API would throw, not in a worker.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';

import { EdictError, ErrorCode } from '../errors.js';
import { Latents } from '../latents.js';
import { editOptionsSchema, generateOptionsSchema, invertOptionsSchema, reconstructOptionsSchema, validate } from '../options.js';
import type { Timings } from '../pipeline.js';
import { callbackKeys } from '../service/plain-options.js';

export type JobKind = 'edit' | 'invert' | 'generate' | 'reconstruct';
export const JOB_KINDS: readonly JobKind[] = ['edit', 'invert', 'generate', 'reconstruct'];

export const SCHEMAS = { edit: editOptionsSchema, invert: invertOptionsSchema, generate: generateOptionsSchema, reconstruct: reconstructOptionsSchema };

/** The default cap on a job's result carried through Redis (the bytes, before base64). */
export const DEFAULT_MAX_RESULT_BYTES = 4 * 1024 * 1024;

/** What travels in Redis as a job's data. */
export interface JobData {
  kind: JobKind;
  /** The image (edit, invert, reconstruct) or the .safetensors latents (generate), base64. */
  input: string;
  /** The API's options for the call, without callbacks. */
  options: Record<string, unknown>;
  /**
   * Write the result's files here (a folder the worker and the client share: NFS, a volume)
   * and return their paths instead of the bytes. Absolute.
   */
  outputDir?: string;
  /** Largest result (bytes) returned through Redis; beyond it the job fails unless outputDir is set. */
  maxResultBytes?: number;
}

/** Bytes of a result: inline (base64) or a file the worker wrote under outputDir. */
export type Blob = { base64: string } | { path: string };

export interface JobResult {
  kind: JobKind;
  images?: Blob[];
  /** With `both` (EDICT): the decodes of y. */
  imagesY?: Blob[];
  image?: Blob;
  latents?: Blob;
  timings?: Timings;
  warnings: string[];
  metrics?: { latentMaxAbsError: number; latentRmsError: number; pixelPsnr: number; vaePsnr: number; roundTripPsnr: number };
}

export interface JobSettings {
  outputDir?: string;
  maxResultBytes?: number;
}

/** Checks a job before it is enqueued: the EdictError the API would throw for the same call. */
export function makeJob(kind: JobKind, input: Buffer | Uint8Array, options: unknown, settings: JobSettings = {}): JobData {
  if (!JOB_KINDS.includes(kind)) throw new EdictError(ErrorCode.InvalidOption, `unknown job kind ${JSON.stringify(kind)} (known: ${JOB_KINDS.join(', ')})`);
  if (!(input instanceof Uint8Array) || input.byteLength === 0) {
    throw new EdictError(kind === 'generate' ? ErrorCode.LatentsFile : ErrorCode.ImageDecode, `${kind}: the ${kind === 'generate' ? 'latents' : 'image'} must be non-empty bytes (a Buffer)`);
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new EdictError(ErrorCode.InvalidOption, `${kind}: options must be an object`);
  }
  const schema = SCHEMAS[kind];
  for (const key of callbackKeys(schema)) {
    if (key in options) {
      throw new EdictError(ErrorCode.InvalidOption, `${kind}: option "${key}" is a callback of the in-process API and cannot be sent to a worker (use the call's context)`);
    }
  }
  validate(schema, options, kind);
  // A round trip through JSON must not change the options (undefined, functions, NaN...).
  const plain = JSON.parse(JSON.stringify(options)) as Record<string, unknown>;
  validate(schema, plain, kind);
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (kind === 'generate') Latents.fromSafeTensors(bytes, 'latents'); // ERR_LATENTS_FILE here, not in a worker
  if (settings.outputDir !== undefined && (typeof settings.outputDir !== 'string' || !isAbsolute(settings.outputDir))) {
    throw new EdictError(ErrorCode.InvalidOption, `${kind}: outputDir must be an absolute path`);
  }
  if (settings.maxResultBytes !== undefined && !(Number.isSafeInteger(settings.maxResultBytes) && settings.maxResultBytes >= 0)) {
    throw new EdictError(ErrorCode.InvalidOption, `${kind}: maxResultBytes must be a non-negative integer`);
  }
  return {
    kind,
    input: bytes.toString('base64'),
    options: plain,
    ...(settings.outputDir !== undefined ? { outputDir: settings.outputDir } : {}),
    ...(settings.maxResultBytes !== undefined ? { maxResultBytes: settings.maxResultBytes } : {}),
  };
}

/** A failed job carries only a message: `CODE: message`. */
export function failureMessage(error: EdictError): string {
  return `${error.code}: ${error.message}`;
}

const knownCodes = new Set<string>(Object.values(ErrorCode));

/** The EdictError back from a failed job's message (ERR_NATIVE when it has no code of ours). */
export function errorFromFailure(reason: string | undefined): EdictError {
  const text = reason ?? 'the job failed';
  const m = /^(ERR_[A-Z0-9_]+): ([\s\S]*)$/.exec(text);
  if (m && knownCodes.has(m[1])) return new EdictError(m[1] as ErrorCode, m[2]);
  return new EdictError(ErrorCode.Native, text);
}

/** The result's files, inline or written to outputDir, within the size cap. */
export async function packResult(
  data: Pick<JobData, 'kind' | 'outputDir' | 'maxResultBytes'>,
  jobId: string,
  files: { images?: Buffer[]; imagesY?: Buffer[]; image?: Buffer; latents?: Buffer },
  rest: Pick<JobResult, 'timings' | 'warnings' | 'metrics'>,
): Promise<JobResult> {
  const total = [...(files.images ?? []), ...(files.imagesY ?? [])].reduce((n, b) => n + b.length, 0) + (files.image?.length ?? 0) + (files.latents?.length ?? 0);
  const cap = data.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
  let blob: (bytes: Buffer, name: string) => Promise<Blob>;
  if (data.outputDir !== undefined) {
    const dir = data.outputDir;
    await mkdir(dir, { recursive: true });
    // The job id may repeat across queues; a random part keeps two runs apart.
    const stem = `${jobId.replace(/[^A-Za-z0-9_-]/g, '_')}-${randomUUID().slice(0, 8)}`;
    blob = async (bytes, name) => {
      const path = join(dir, `${stem}-${name}`);
      try {
        await writeFile(path, bytes);
      } catch (error) {
        throw new EdictError(ErrorCode.Io, `cannot write ${path}: ${(error as Error).message}`, { cause: error });
      }
      return { path };
    };
  } else {
    if (total > cap) {
      throw new EdictError(
        ErrorCode.InvalidOption,
        `${data.kind}: the result is ${total} bytes, over the job's maxResultBytes (${cap}); name an outputDir (shared with the worker) to receive its files instead`,
      );
    }
    blob = async (bytes) => ({ base64: bytes.toString('base64') });
  }
  const out: JobResult = { kind: data.kind, ...rest };
  if (files.images) out.images = await Promise.all(files.images.map((b, i) => blob(b, `image-${i}.png`)));
  if (files.imagesY) out.imagesY = await Promise.all(files.imagesY.map((b, i) => blob(b, `image-y-${i}.png`)));
  if (files.image) out.image = await blob(files.image, 'image.png');
  if (files.latents) out.latents = await blob(files.latents, 'latents.safetensors');
  return out;
}

/** The bytes of a result blob. */
export async function blobBytes(blob: Blob): Promise<Buffer> {
  if ('base64' in blob) return Buffer.from(blob.base64, 'base64');
  try {
    return await readFile(blob.path);
  } catch (error) {
    throw new EdictError(ErrorCode.Io, `cannot read the job's result ${blob.path}: ${(error as Error).message}`, { cause: error });
  }
}
