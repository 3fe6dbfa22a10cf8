/**
 * The service's backend that computes in this process: one Edict pipeline, whose step
 * scheduler (batching.policy, maxBatch, maxQueue) shares UNet calls between the requests that
 * run at once. Requests arrive as bytes and JSON options; answers leave as PNG and
 * .safetensors bytes.
 */
import { EdictError, ErrorCode } from '../errors.js';
import type { RgbImage } from '../image.js';
import { Latents } from '../latents.js';
import { editOptionsSchema, generateOptionsSchema, invertOptionsSchema, reconstructOptionsSchema } from '../options.js';
import { Edict, type LoadOptions, type SchedulerCounters } from '../pipeline.js';
import type {
  CallContext,
  EditRequest,
  EditResponse,
  GenerateRequest,
  GenerateResponse,
  InvertRequest,
  InvertResponse,
  ReconstructRequest,
  ReconstructResponse,
  ServiceBackend,
} from './backend.js';
import { callbackKeys } from './plain-options.js';

export interface LocalBackendOptions extends Omit<LoadOptions, 'onWarning'> {
  /** The model folder (default: the bundled model). */
  model?: string;
  /** Pipeline-level warnings (model loading); each call's own come back in its response. */
  onWarning?: (message: string) => void;
}

const SCHEMAS = { edit: editOptionsSchema, invert: invertOptionsSchema, generate: generateOptionsSchema, reconstruct: reconstructOptionsSchema };

/** A request carries no callbacks of the in-process API (signal, onProgress, ...): only the context does. */
function plain<T extends object>(request: T, what: keyof typeof SCHEMAS): T {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new EdictError(ErrorCode.InvalidOption, `${what}: options must be an object`);
  }
  for (const key of callbackKeys(SCHEMAS[what])) {
    if (key in request) throw new EdictError(ErrorCode.InvalidOption, `${what}: option "${key}" is a callback of the in-process API and cannot be sent to the service`);
  }
  return request;
}

export class LocalBackend implements ServiceBackend {
  private constructor(
    readonly edict: Edict,
    private readonly maxQueue: number | undefined,
  ) {}

  static async create(options: LocalBackendOptions = {}): Promise<LocalBackend> {
    const { model, onWarning, ...load } = options;
    const edict = await Edict.load(model, { ...load, onWarning: onWarning ?? (() => undefined) });
    return new LocalBackend(edict, load.batching?.maxQueue);
  }

  /** Over a pipeline loaded elsewhere (its batching.maxQueue, if any, for readiness); close() disposes it. */
  static from(edict: Edict, maxQueue?: number): LocalBackend {
    return new LocalBackend(edict, maxQueue);
  }

  /** The call's options: the request's, with the context's signal and progress, warnings collected. */
  private call<T extends object>(request: T, context: CallContext, what: keyof typeof SCHEMAS) {
    const warnings: string[] = [];
    const options = {
      ...plain(request, what),
      ...(context.signal ? { signal: context.signal } : {}),
      ...(context.onProgress ? { onProgress: context.onProgress } : {}),
      onWarning: (message: string) => warnings.push(message),
    };
    return { options, warnings };
  }

  async edit(image: Buffer, request: EditRequest, context: CallContext): Promise<EditResponse> {
    const { options, warnings } = this.call(request, context, 'edit');
    const result = await this.edict.edit(image, options);
    return { ...(await pngs(result)), timings: result.timings, warnings: merge(warnings, result.warnings) };
  }

  async invert(image: Buffer, request: InvertRequest, context: CallContext): Promise<InvertResponse> {
    const { options, warnings } = this.call(request, context, 'invert');
    const latents = await this.edict.invert(image, options);
    return { latents: latents.toSafeTensors(), warnings };
  }

  async generate(latents: Buffer, request: GenerateRequest, context: CallContext): Promise<GenerateResponse> {
    const { options, warnings } = this.call(request, context, 'generate');
    const start = Latents.fromSafeTensors(latents, 'latents');
    const result = await this.edict.generate(start, options);
    return {
      ...(await pngs(result)),
      latents: result.latents.toSafeTensors(),
      timings: result.timings,
      warnings: merge(warnings, result.warnings),
    };
  }

  async reconstruct(image: Buffer, request: ReconstructRequest, context: CallContext): Promise<ReconstructResponse> {
    const { options, warnings } = this.call(request, context, 'reconstruct');
    const r = await this.edict.reconstruct(image, options);
    return {
      image: await r.image.toPng(),
      latentMaxAbsError: r.latentMaxAbsError,
      latentRmsError: r.latentRmsError,
      pixelPsnr: r.pixelPsnr,
      vaePsnr: r.vaePsnr,
      roundTripPsnr: r.roundTripPsnr,
      timings: r.timings,
      warnings: merge(warnings, r.warnings),
    };
  }

  async ready(): Promise<{ ready: boolean; reason?: string }> {
    if (this.edict.disposed) return { ready: false, reason: 'the pipeline is closing' };
    if (this.maxQueue !== undefined) {
      // maxQueue bounds the sampling calls queued or running (the engine's rule).
      const { queued, activeCalls } = this.edict.counters();
      const pending = queued + activeCalls;
      if (pending >= this.maxQueue) return { ready: false, reason: `the queue is full (${pending} of ${this.maxQueue} sampling calls queued or running)` };
    }
    return { ready: true };
  }

  counters(): SchedulerCounters | null {
    return this.edict.disposed ? null : this.edict.counters();
  }

  close(): Promise<void> {
    return this.edict.dispose();
  }
}

/** The call's warnings: those sent to onWarning and those in the result, each once. */
function merge(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** The result's images (and y's, with `both`) as PNGs. */
export async function pngs(result: { images: RgbImage[]; imagesY?: RgbImage[] }): Promise<{ images: Buffer[]; imagesY?: Buffer[] }> {
  const images = await Promise.all(result.images.map((i) => i.toPng()));
  if (!result.imagesY) return { images };
  return { images, imagesY: await Promise.all(result.imagesY.map((i) => i.toPng())) };
}
