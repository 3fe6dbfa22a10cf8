/**
 * What the HTTP service (`edict serve`) computes with: the local pipeline in this process, or,
 * with `edict serve --queue redis://...`, a BullMQ queue of `edict worker` processes. Both take
 * the same JSON-serialisable requests (the API's options without callbacks, validated with the
 * API's own schemas, src/options.ts) and answer with encoded bytes, so nothing large crosses
 * as a JS object.
 */
import type { EditOptions, GenerateOptions, InvertOptions, ReconstructOptions, SchedulerCounters, Timings } from '../pipeline.js';
import type { Progress } from '../options.js';

type Plain<T> = Omit<T, 'signal' | 'onProgress' | 'onWarning' | 'onStep' | 'stepLatents'>;

export type EditRequest = Plain<EditOptions>;
export type InvertRequest = Plain<InvertOptions>;
export type GenerateRequest = Plain<GenerateOptions>;
export type ReconstructRequest = Plain<ReconstructOptions>;

/** Per call: cancellation (a client that disconnects) and progress (Server-Sent Events). */
export interface CallContext {
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}

export interface EditResponse {
  /** One PNG per target. */
  images: Buffer[];
  /** With `both` (EDICT): the decodes of y, one PNG per target. */
  imagesY?: Buffer[];
  timings: Timings;
  warnings: string[];
}

export interface InvertResponse {
  /** The inverted latents as a .safetensors file (Latents.toSafeTensors()). */
  latents: Buffer;
  timings?: Timings;
  warnings: string[];
}

export interface GenerateResponse extends EditResponse {
  /** The generated latents as .safetensors. */
  latents: Buffer;
}

export interface ReconstructResponse {
  /** The reconstruction as a PNG. */
  image: Buffer;
  latentMaxAbsError: number;
  latentRmsError: number;
  pixelPsnr: number;
  vaePsnr: number;
  roundTripPsnr: number;
  timings: Timings;
  warnings: string[];
}

export interface ServiceBackend {
  /** image: encoded bytes (PNG, JPEG, WebP...). */
  edit(image: Buffer, request: EditRequest, context: CallContext): Promise<EditResponse>;
  invert(image: Buffer, request: InvertRequest, context: CallContext): Promise<InvertResponse>;
  /** latents: a .safetensors file made by invert. */
  generate(latents: Buffer, request: GenerateRequest, context: CallContext): Promise<GenerateResponse>;
  reconstruct(image: Buffer, request: ReconstructRequest, context: CallContext): Promise<ReconstructResponse>;
  /** Whether it can take work now (model loaded / workers reachable, queue not full). */
  ready(): Promise<{ ready: boolean; reason?: string }>;
  /** The local scheduler's counters (null for a queue backend: its workers keep their own). */
  counters(): SchedulerCounters | null;
  close(): Promise<void>;
}
