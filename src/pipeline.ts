/**
 * Edict: a model folder loaded on a device, and the operations users and research scripts
 * need: edit, invert, generate, reconstruct, sample, and the building blocks (encodeImage,
 * decodeLatents, encodePrompt). Options are validated here; every computation runs in the
 * addon on its compute thread, so no call blocks the event loop.
 */
import { join } from 'node:path';

import { defaultThreads, parseDevice, parseDtypeOn, type Device, type Dtype } from './devices.js';
import { EdictError, ErrorCode, native, toEdictError } from './errors.js';
import { psnr, readImage, RgbImage, targetSize, type ImageInput, type SizePolicy } from './image.js';
import { Latents, type LatentParams, type LatentShape } from './latents.js';
import { ssimOrNaN, standardMsSsim } from './metrics.js';
import { checkWorkSize, DEFAULT_MAX_PIXELS, defaultMaxWorkPixels } from './limits.js';
import { modelFingerprint } from './fingerprint.js';
import { loadManifest, type ModelManifest } from './manifest.js';
import {
  addon,
  packageRoot,
  type LoopKind,
  type NativeCounters,
  type NativeLoopResult,
  type NativePipeline,
  type NativeTensor,
} from './native.js';
import { gaussianNoise, MAX_SEED } from './noise.js';
import {
  callOptionsSchema,
  decodeLatentsOptionsSchema,
  DEFAULTS,
  editOptionsSchema,
  encodeImageOptionsSchema,
  executedSteps,
  generateOptionsSchema,
  invertOptionsSchema,
  loadOptionsSchema,
  reconstructOptionsSchema,
  sampleOptionsSchema,
  validate,
  type CallOptions,
  type DecodeLatentsOptions,
  type EditOptions,
  type EncodeImageOptions,
  type GenerateOptions,
  type InvertOptions,
  type LoadOptions,
  type ReconstructOptions,
  type SampleOptions,
} from './options.js';
import { PromptTokenizer } from './prompts.js';
import { inexactRoundTrip, INEXACT_ROUND_TRIP, packageVersion, type Provenance } from './provenance.js';
import { Session, type Settings } from './session.js';

/** The model shipped with the package (how it was trained: scripts/model/README.md). */
export const bundledModelDir = join(packageRoot, 'models', 'scenes');

export type Method = 'edict' | 'ddim' | 'sdedit' | 'bdia' | 'belm';

/** BDIA inversion's rounding growth (gamma^-(n-1)) beyond which it warns: float64's 1e-16 becomes 1e-12. */
const BDIA_GROWTH_LIMIT = 1e4;

// The option types are derived from the schemas that check them (src/options.ts).
export type {
  CallOptions,
  DecodeLatentsOptions,
  EditOptions,
  EncodeImageOptions,
  GenerateOptions,
  ImageOptions,
  InvertOptions,
  LoadOptions,
  ReconstructOptions,
  SampleOptions,
  SamplingOptions,
} from './options.js';

export interface Timings {
  /** Wall time of the whole call, seconds. */
  totalSeconds: number;
  /** Time the call's native jobs waited for the compute thread behind other calls' jobs. */
  queueSeconds: number;
  /** Time inside UNet calls (exact on CPU; on CUDA kernels are asynchronous). */
  unetSeconds: number;
  unetCalls: number;
  /** The intra-op threads the call's native jobs ran with (see LoadOptions.threads). */
  threads: number;
  /** Compute time of each phase on the compute thread (queue wait excluded). */
  encodeSeconds: number;
  invertSeconds: number;
  generateSeconds: number;
  decodeSeconds: number;
}

export interface GenerateResult {
  /** The generated latents (stage "generated"), one item per prompt. */
  latents: Latents;
  /** Decodes of x, one per prompt. */
  images: RgbImage[];
  /** Decodes of y (EDICT with `both`). */
  imagesY?: RgbImage[];
  timings: Timings;
  warnings: string[];
}

export interface EditResult extends GenerateResult {
  /** The input as the model saw it (oriented, flattened, resized). */
  input: RgbImage;
  /** The inverted latents (EDICT and DDIM), reusable with generate(). */
  inverted?: Latents;
}

export interface ReconstructResult {
  /** max |z' - z| over x and y against the encoded input latent. */
  latentMaxAbsError: number;
  /** RMS of z' - z over x and y. */
  latentRmsError: number;
  /** PSNR of the reconstruction against the input pixels (dB). */
  pixelPsnr: number;
  /** PSNR of the VAE round trip alone against the input: the ceiling (dB). */
  vaePsnr: number;
  /** PSNR of the reconstruction against the VAE round trip (Infinity when identical). */
  roundTripPsnr: number;
  /** SSIM of the reconstruction against the input pixels (src/metrics.ts: Wang et al. 2004, 11x11 Gaussian window; NaN under 11 px). */
  ssim: number;
  /** SSIM of the VAE round trip alone against the input: the ceiling. */
  vaeSsim: number;
  /**
   * The standard five-scale MS-SSIM of the reconstruction against the input; null when the
   * shorter side is under 176 px, as the bundled model's 32x32 (see `msSsim`).
   */
  msSsim: number | null;
  input: RgbImage;
  image: RgbImage;
  vaeImage: RgbImage;
  timings: Timings;
  warnings: string[];
}

export interface PromptEncoding {
  /** [B, L, D] text states (the text encoder's dtype). */
  embeddings: NativeTensor<Float32Array | Float64Array>;
  ids: NativeTensor<BigInt64Array>;
  warnings: string[];
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Repeats a one-element list to `length`, or checks that it already has that length. */
function broadcast<T>(values: T[], length: number, what: string): T[] {
  if (values.length === length) return values;
  if (values.length === 1) return Array.from({ length }, () => values[0]);
  throw new EdictError(ErrorCode.InvalidOption, `${what}: ${values.length} values given for a batch of ${length}`);
}

const tensor = (data: Float64Array, shape: number[]): NativeTensor<Float64Array> => ({ data, shape });

/** A pipeline's scheduler counters: see Edict.counters(). */
export type SchedulerCounters = NativeCounters;

export class Edict {
  private handle: NativePipeline | null;
  /** Set by dispose(): new calls are refused; calls already accepted still finish. */
  private closing: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(
    /** The validated manifest of the loaded model folder. */
    readonly manifest: ModelManifest,
    /** The model's identity (src/fingerprint.ts), recorded in every latents it makes. */
    readonly fingerprint: string,
    handle: NativePipeline,
    private readonly tokenizer: PromptTokenizer,
    private readonly settings: Settings,
  ) {
    this.handle = handle;
  }

  /**
   * Loads a model folder (default: the bundled model). Validates model.json first: each
   * missing or wrong field is named in the error.
   */
  static async load(dir: string = bundledModelDir, options: LoadOptions = {}): Promise<Edict> {
    const o = validate(loadOptionsSchema, options, 'Edict.load');
    const manifest = loadManifest(dir);
    const tokenizer = PromptTokenizer.fromManifest(manifest);
    const fingerprint = modelFingerprint(manifest);
    const device = parseDevice(o.device ?? 'cpu');
    const dtype = parseDtypeOn(o.dtype ?? manifest.dtypes[device === 'cpu' ? 'cpu' : 'cuda'], device, 'dtype');
    const componentDefault: Dtype = dtype === 'float64' ? 'float64' : 'float32';
    const settings: Settings = {
      device,
      dtype,
      threads: o.threads ?? defaultThreads(),
      maxPixels: o.maxPixels ?? DEFAULT_MAX_PIXELS,
      maxWorkPixels: o.maxWorkPixels ?? defaultMaxWorkPixels(manifest.image),
      stateDtype: o.stateDtype ?? 'float64',
      onWarning: o.onWarning,
      libtorch: (await native(() => addon().info())).libtorch,
    };
    const { paths, latent, text, scheduler } = manifest;
    const handle = await native(() =>
      addon().loadPipeline(
        {
          textEncoder: paths.textEncoder,
          unet: paths.unet,
          vaeEncoder: paths.vaeEncoder,
          vaeDecoder: paths.vaeDecoder,
          device,
          unetDtype: dtype,
          textDtype: parseDtypeOn(o.textDtype ?? componentDefault, device, 'textDtype'),
          vaeDtype: parseDtypeOn(o.vaeDtype ?? componentDefault, device, 'vaeDtype'),
          latentChannels: latent.channels,
          downsample: latent.downsample,
          scalingFactor: latent.scalingFactor,
          maxLength: text.maxLength,
          hiddenSize: text.hiddenSize,
          exact: o.exact ?? true,
          scheduler: { numTrainTimesteps: scheduler.numTrainTimesteps, betaStart: scheduler.betaStart, betaEnd: scheduler.betaEnd, betaSchedule: scheduler.betaSchedule, setAlphaToOne: scheduler.setAlphaToOne, stepsOffset: scheduler.stepsOffset, predictionType: scheduler.predictionType },
          batching: {
            policy: o.batching?.policy ?? 'continuous',
            maxBatch: o.batching?.maxBatch ?? 8,
            maxQueue: o.batching?.maxQueue ?? 0,
            maxQueueDelayMs: o.batching?.maxQueueDelayMs ?? 5,
          },
        },
        { threads: settings.threads },
      ),
    );
    return new Edict(manifest, fingerprint, handle, tokenizer, settings);
  }

  get device(): Device {
    return this.settings.device;
  }

  /**
   * What the compute thread's step scheduler has done for this pipeline (sharp's counters()
   * is the model): sampling calls queued and active (and their items), admitted, completed,
   * failed, cancelled, timed out and rejected (queue full); scheduler rounds, UNet calls and
   * seconds, items per UNet call (`batchSizes`: size -> calls) and the summed queue wait.
   */
  counters(): SchedulerCounters {
    try {
      return this.native().counters();
    } catch (error) {
      throw toEdictError(error);
    }
  }

  /** The UNet dtype. */
  get dtype(): Dtype {
    return this.settings.dtype;
  }

  get disposed(): boolean {
    return this.closing !== null;
  }

  /**
   * Frees the model once every call already accepted has finished (it may be called from
   * inside one, e.g. from onProgress). Calls made after it fail with ERR_DISPOSED.
   */
  dispose(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled(this.inFlight);
      const handle = this.handle;
      this.handle = null;
      if (handle) await native(() => handle.dispose());
    })();
    return this.closing;
  }

  private native(): NativePipeline {
    if (!this.handle) throw new EdictError(ErrorCode.Disposed, 'the pipeline was disposed');
    return this.handle;
  }

  private async run<T>(call: CallOptions, body: (session: Session) => Promise<T>): Promise<T> {
    if (this.closing) throw new EdictError(ErrorCode.Disposed, 'the pipeline was disposed');
    const session = new Session(call, this.settings);
    const work = body(session).finally(() => session.close());
    this.inFlight.add(work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(work);
    }
  }

  private tokenize(prompts: string[], session: Session): NativeTensor<BigInt64Array> {
    const encoded = this.tokenizer.encode(prompts);
    for (const warning of encoded.warnings) session.warn(warning);
    return { data: encoded.ids, shape: encoded.shape };
  }

  // ---- building blocks -------------------------------------------------------------------

  /** Token ids and text-encoder states of prompts ([B, L, D]). */
  async encodePrompt(prompt: string | string[], call: CallOptions = {}): Promise<PromptEncoding> {
    validate(callOptionsSchema, call, 'encodePrompt');
    const prompts = list(prompt);
    if (prompts.length === 0 || !prompts.every((p) => typeof p === 'string')) {
      throw new EdictError(ErrorCode.Prompt, 'encodePrompt: prompts must be strings');
    }
    return this.run(call, async (session) => {
      const ids = this.tokenize(prompts, session);
      const embeddings = await session.time('encode', () => this.native().encodeText(ids, session.options));
      return { embeddings, ids, warnings: session.warnings };
    });
  }

  /** Reads images, brings them to one size the model accepts, and encodes them to latents. */
  async encodeImage(image: ImageInput | ImageInput[], options: EncodeImageOptions = {}): Promise<Latents> {
    const o = validate(encodeImageOptionsSchema, options, 'encodeImage');
    return this.run(options, async (session) => (await this.encode(list(image), o, session)).latents);
  }

  /** Decodes latents (x, or y) to RGB images. */
  async decodeLatents(latents: Latents, options: DecodeLatentsOptions = {}): Promise<RgbImage[]> {
    if (!(latents instanceof Latents)) throw new EdictError(ErrorCode.InvalidOption, 'decodeLatents: expected a Latents object');
    const o = validate(decodeLatentsOptionsSchema, options, 'decodeLatents');
    this.checkModel(latents, o.allowModelMismatch);
    return this.run(options, (session) => this.decode(latents, o.which ?? 'x', session));
  }

  private async readImages(images: ImageInput[], size: SizePolicy | undefined): Promise<RgbImage[]> {
    if (images.length === 0) throw new EdictError(ErrorCode.InvalidOption, 'no image given');
    const read = await Promise.all(
      images.map((image) =>
        readImage(image, this.manifest.image, { size, maxPixels: this.settings.maxPixels, maxWorkPixels: this.settings.maxWorkPixels }),
      ),
    );
    const [first] = read;
    if (read.some((r) => r.width !== first.width || r.height !== first.height)) {
      throw new EdictError(ErrorCode.ImageSize, 'images in one batch must come out the same size: use size "native" or an explicit size');
    }
    return read;
  }

  private async encode(
    images: ImageInput[],
    o: { size?: SizePolicy; sample?: boolean; seed?: number },
    session: Session,
  ): Promise<{ latents: Latents; inputs: RgbImage[] }> {
    const inputs = await this.readImages(images, o.size);
    const { width, height } = inputs[0];
    const pixels = new Uint8Array(inputs.length * width * height * 3);
    inputs.forEach((image, i) => pixels.set(image.data, i * image.data.length));
    const { channels, downsample } = this.manifest.latent;
    const shape: LatentShape = [inputs.length, channels, height / downsample, width / downsample];
    const seed = o.seed ?? DEFAULTS.seed;
    const noise = o.sample ? tensor(await gaussianNoise(shape, seed), shape) : null;
    const z = await session.time('encode', () =>
      this.native().encodeImage({ data: pixels, shape: [inputs.length, height, width, 3] }, noise, session.options),
    );
    const latents = new Latents(z.data, z.data, shape, {
      model: this.manifest.name,
      modelFingerprint: this.fingerprint,
      stage: 'encoded',
      method: null,
      prompts: [],
      negativePrompts: [],
      steps: DEFAULTS.steps,
      strength: 1,
      executed: 0,
      guidance: [],
      mix: [],
      leapfrog: DEFAULTS.leapfrog,
      imageWidth: width,
      imageHeight: height,
      seed: o.sample ? seed : null,
    });
    return { latents, inputs };
  }

  private async decode(latents: Latents, which: 'x' | 'y', session: Session): Promise<RgbImage[]> {
    const bytes = await session.time('decode', () =>
      this.native().decodeLatents(tensor(which === 'x' ? latents.x : latents.y, latents.shape), session.options),
    );
    const [batch, height, width] = bytes.shape;
    const size = height * width * 3;
    return Array.from({ length: batch }, (_, i) => new RgbImage(bytes.data.slice(i * size, (i + 1) * size), width, height));
  }

  /**
   * Latents must come from this model: same fingerprint (unless allowModelMismatch; latents
   * built by hand, or saved before fingerprints existed, carry none), and in any case the same
   * channel count and a workable size.
   */
  private checkModel(latents: Latents, allowModelMismatch = false): void {
    const made = latents.params.modelFingerprint;
    if (made !== undefined && made !== this.fingerprint && !allowModelMismatch) {
      throw new EdictError(
        ErrorCode.ModelMismatch,
        `latents were made by model "${latents.params.model}" (fingerprint ${made}), this pipeline runs "${this.manifest.name}" ` +
          `(fingerprint ${this.fingerprint}): pass allowModelMismatch: true (CLI: --allow-model-mismatch) to use them anyway`,
      );
    }
    const { channels } = this.manifest.latent;
    if (latents.shape[1] !== channels) {
      throw new EdictError(
        ErrorCode.LatentsFile,
        `latents have ${latents.shape[1]} channels, model ${this.manifest.name} uses ${channels}`,
      );
    }
    const { downsample } = this.manifest.latent;
    checkWorkSize('latents of image size', { width: latents.shape[3] * downsample, height: latents.shape[2] * downsample }, this.settings.maxWorkPixels);
  }

  // ---- loops -----------------------------------------------------------------------------

  private async loop(
    kind: LoopKind,
    start: { x: Float64Array; y?: Float64Array; noise?: Float64Array; shape: LatentShape },
    settings: {
      prompts: string[];
      negativePrompt: string;
      guidance: number[];
      mix: number[];
      steps: number;
      executed: number;
      leapfrog: boolean;
      isolate?: boolean;
      gamma?: number;
      pairStart?: boolean;
    },
    session: Session,
  ): Promise<NativeLoopResult> {
    const batch = start.shape[0];
    // The addon's registry says which loops exist and how each reports progress.
    const sampler = addon().samplers.find((k) => k.name === kind);
    if (!sampler) throw new EdictError(ErrorCode.InvalidOption, `this build of the addon has no sampler "${kind}" (it has ${addon().samplers.map((k) => k.name).join(', ')})`);
    const phase = sampler.phase;
    const request = {
      kind,
      x: tensor(start.x, start.shape),
      y: start.y ? tensor(start.y, start.shape) : undefined,
      noise: start.noise ? tensor(start.noise, start.shape) : undefined,
      condIds: this.tokenize(settings.prompts, session),
      uncondIds: this.tokenize(Array.from({ length: batch }, () => settings.negativePrompt), session),
      guidance: tensor(Float64Array.from(settings.guidance), [batch]),
      mix: tensor(Float64Array.from(settings.mix), [batch]),
      steps: settings.steps,
      executed: settings.executed,
      leapfrog: settings.leapfrog,
      stateDtype: this.settings.stateDtype,
      isolate: settings.isolate ?? false,
      stepLatents: session.stepLatents,
      ...(settings.gamma === undefined ? {} : { gamma: settings.gamma }),
      ...(settings.pairStart === undefined ? {} : { pairStart: settings.pairStart }),
    };
    const result = await session.time(phase, () => this.native().run(request, session.options));
    session.addLoop(result);
    return result;
  }

  private async invertLatents(
    encoded: Latents,
    o: {
      prompt: string | string[];
      allowModelMismatch?: boolean;
      method?: 'edict' | 'ddim' | 'bdia' | 'belm';
      gamma?: number;
      steps?: number;
      strength?: number;
      guidance?: number | number[];
      mix?: number | number[];
      leapfrog?: boolean;
      negativePrompt?: string;
      isolate?: boolean;
    },
    session: Session,
  ): Promise<Latents> {
    this.checkModel(encoded, o.allowModelMismatch);
    if (encoded.params.stage !== 'encoded') {
      throw new EdictError(ErrorCode.InvalidOption, `invert: latents must be encoded images (stage "encoded"), got stage "${encoded.params.stage}"`);
    }
    const batch = encoded.batch;
    const method = o.method ?? 'edict';
    const steps = o.steps ?? DEFAULTS.steps;
    const strength = o.strength ?? DEFAULTS.strength;
    const executed = executedSteps(steps, strength, this.manifest.scheduler);
    const prompts = broadcast(list(o.prompt), batch, 'invert: prompt');
    const negativePrompt = o.negativePrompt ?? DEFAULTS.negativePrompt;
    const guidance = broadcast(list(o.guidance ?? DEFAULTS.guidance), batch, 'invert: guidance');
    const mix = broadcast(list(o.mix ?? DEFAULTS.mix), batch, 'invert: mix');
    const leapfrog = o.leapfrog ?? DEFAULTS.leapfrog;
    const gamma = method === 'bdia' ? (o.gamma ?? DEFAULTS.gamma) : undefined;
    if (gamma !== undefined && gamma ** -(executed - 1) > BDIA_GROWTH_LIMIT) {
      session.warn(
        `BDIA with gamma ${gamma} over ${executed} steps: inversion divides by gamma every step, so its rounding error ` +
          `grows ~${(gamma ** -(executed - 1)).toExponential(1)}x (to ~${(1e-16 * gamma ** -(executed - 1)).toExponential(0)} in float64): ` +
          `the round trip will not be exact; use gamma >= ${(BDIA_GROWTH_LIMIT ** (-1 / Math.max(1, executed - 1))).toFixed(3)} for this step count`,
      );
    }
    const result = await this.loop(
      `${method}-invert`,
      { x: encoded.x, y: method === 'edict' ? encoded.y : undefined, shape: encoded.shape },
      { prompts, negativePrompt, guidance, mix, steps, executed, leapfrog, isolate: o.isolate, gamma },
      session,
    );
    return new Latents(result.x.data, result.y.data, encoded.shape, {
      ...encoded.params,
      // this model's now, even when allowModelMismatch took another's encoding
      model: this.manifest.name,
      modelFingerprint: this.fingerprint,
      stage: 'inverted',
      method,
      prompts,
      negativePrompts: prompts.map(() => negativePrompt),
      steps,
      strength,
      executed,
      guidance,
      mix,
      leapfrog,
      ...(gamma === undefined ? {} : { gamma }),
      provenance: this.provenance(batch, o.isolate ?? false),
    });
  }

  /** The conditions a sampling call of `batch` items runs under now (src/provenance.ts). */
  private provenance(batch: number, isolated: boolean): Provenance {
    return {
      package: packageVersion(),
      libtorch: this.settings.libtorch,
      dtype: this.settings.dtype,
      device: this.settings.device,
      threads: this.settings.threads,
      isolated,
      batch,
    };
  }

  private async generateLatents(
    start: Latents,
    o: {
      prompt: string | string[];
      allowModelMismatch?: boolean;
      guidance?: number | number[];
      mix?: number | number[];
      negativePrompt?: string;
      both?: boolean;
      isolate?: boolean;
    },
    session: Session,
  ): Promise<GenerateResult> {
    this.checkModel(start, o.allowModelMismatch);
    const { params } = start;
    if (params.stage !== 'inverted' && params.stage !== 'noise') {
      throw new EdictError(ErrorCode.InvalidOption, `generate: latents must be inverted (or noise), got stage "${params.stage}"`);
    }
    if (params.method === null || params.method === 'sdedit') {
      throw new EdictError(ErrorCode.InvalidOption, `generate: cannot continue latents of method ${params.method}`);
    }
    const prompts = list(o.prompt);
    let latents = start;
    if (start.batch === 1 && prompts.length > 1) latents = start.repeat(prompts.length);
    const batch = latents.batch;
    const targetPrompts = broadcast(prompts, batch, 'generate: prompt');
    const guidance = o.guidance === undefined ? broadcast(latents.params.guidance, batch, 'guidance') : broadcast(list(o.guidance), batch, 'generate: guidance');
    const mix = o.mix === undefined ? broadcast(latents.params.mix, batch, 'mix') : broadcast(list(o.mix), batch, 'generate: mix');
    const negativePrompt = o.negativePrompt ?? latents.params.negativePrompts[0] ?? DEFAULTS.negativePrompt;
    // Regenerating with the source prompt is a round trip: say when it cannot be exact.
    const made = params.provenance;
    if (params.stage === 'inverted' && made && targetPrompts.some((p, i) => p === (params.prompts[i] ?? params.prompts[0]))) {
      const reason = inexactRoundTrip(made, this.provenance(batch, o.isolate ?? false));
      if (reason) session.warn(reason, INEXACT_ROUND_TRIP);
    }
    const edict = params.method === 'edict';
    // EDICT, BDIA and BELM carry a pair; BDIA and BELM continue an inverted pair, or start from x alone.
    const pair = params.method !== 'ddim';
    const result = await this.loop(
      `${params.method}-generate`,
      { x: latents.x, y: pair ? latents.y : undefined, shape: latents.shape },
      {
        prompts: targetPrompts,
        negativePrompt,
        guidance,
        mix,
        steps: params.steps,
        executed: params.executed,
        leapfrog: params.leapfrog,
        isolate: o.isolate,
        gamma: params.method === 'bdia' ? (params.gamma ?? DEFAULTS.gamma) : undefined,
        pairStart: params.stage === 'inverted',
      },
      session,
    );
    const generated = new Latents(result.x.data, result.y.data, latents.shape, {
      ...latents.params,
      model: this.manifest.name,
      modelFingerprint: this.fingerprint,
      provenance: this.provenance(batch, o.isolate ?? false),
      stage: 'generated',
      prompts: targetPrompts,
      negativePrompts: targetPrompts.map(() => negativePrompt),
      guidance,
      mix,
    });
    const images = await this.decode(generated, 'x', session);
    const imagesY = o.both && edict ? await this.decode(generated, 'y', session) : undefined;
    return { latents: generated, images, imagesY, timings: session.timings, warnings: session.warnings };
  }

  // ---- the public operations ---------------------------------------------------------------

  /**
   * Inverts images (or encoded latents) to latents with the prompt that describes them.
   * EDICT's inversion is exact: generate() with the same prompt returns the input latent.
   * A batch may carry one prompt, guidance and mix per item (or one for all).
   */
  async invert(image: ImageInput | ImageInput[] | Latents, options: InvertOptions): Promise<Latents> {
    const o = validate(invertOptionsSchema, options, 'invert');
    return this.run(options, async (session) => {
      const encoded = image instanceof Latents ? image : (await this.encode(list(image), o, session)).latents;
      return this.invertLatents(encoded, o, session);
    });
  }

  /**
   * Generates from inverted latents with target prompts. One latent and K prompts run as a
   * batch of K (one inversion, many edits); B latents take B prompts (or one for all).
   * Steps, strength, method and leapfrog come from the latents; guidance and mix default to
   * the inversion's and may be set per prompt.
   */
  async generate(latents: Latents, options: GenerateOptions): Promise<GenerateResult> {
    if (!(latents instanceof Latents)) throw new EdictError(ErrorCode.InvalidOption, 'generate: expected a Latents object');
    const o = validate(generateOptionsSchema, options, 'generate');
    return this.run(options, (session) => this.generateLatents(latents, o, session));
  }

  /**
   * Edits an image: invert with `source`, regenerate with each `target` (a list runs as one
   * batch after a single inversion). method "sdedit" noises the image with `seed` instead.
   */
  async edit(image: ImageInput, options: EditOptions): Promise<EditResult> {
    const o = validate(editOptionsSchema, options, 'edit');
    return this.run(options, async (session) => {
      const { latents: encoded, inputs } = await this.encode([image], o, session);
      const method = o.method ?? DEFAULTS.method;
      if (method === 'sdedit') {
        const result = await this.sdedit(encoded, o, session);
        return { ...result, input: inputs[0] };
      }
      const inverted = await this.invertLatents(encoded, { ...o, method, prompt: o.source }, session);
      const generated = await this.generateLatents(inverted, { prompt: o.target, both: o.both, isolate: o.isolate }, session);
      return { ...generated, input: inputs[0], inverted };
    });
  }

  private async sdedit(
    encoded: Latents,
    o: { target: string | string[]; steps?: number; strength?: number; guidance?: number; negativePrompt?: string; seed?: number; isolate?: boolean },
    session: Session,
  ): Promise<GenerateResult> {
    const targets = list(o.target);
    const start = encoded.repeat(targets.length);
    const steps = o.steps ?? DEFAULTS.steps;
    const strength = o.strength ?? DEFAULTS.strength;
    const executed = executedSteps(steps, strength, this.manifest.scheduler);
    const seed = o.seed ?? DEFAULTS.seed;
    // The same noise for every target, so the targets differ only by their prompt.
    const itemNoise = await gaussianNoise(encoded.shape, seed);
    const noise = new Float64Array(start.x.length);
    for (let i = 0; i < targets.length; i++) noise.set(itemNoise, i * itemNoise.length);
    const guidance = targets.map(() => o.guidance ?? DEFAULTS.guidance);
    const negativePrompt = o.negativePrompt ?? DEFAULTS.negativePrompt;
    const result = await this.loop(
      'sdedit',
      { x: start.x, noise, shape: start.shape },
      { prompts: targets, negativePrompt, guidance, mix: targets.map(() => 1), steps, executed, leapfrog: false, isolate: o.isolate },
      session,
    );
    const latents = new Latents(result.x.data, result.x.data, start.shape, {
      ...encoded.params,
      stage: 'generated',
      method: 'sdedit',
      prompts: targets,
      negativePrompts: targets.map(() => negativePrompt),
      steps,
      strength,
      executed,
      guidance,
      mix: targets.map(() => 1),
      leapfrog: false,
      seed,
    });
    const images = await this.decode(latents, 'x', session);
    return { latents, images, timings: session.timings, warnings: session.warnings };
  }

  /**
   * Inverts with `prompt` and regenerates with the same prompt, and measures how far the
   * result is from the start: latent errors (max abs, RMS) and pixel PSNRs.
   */
  async reconstruct(image: ImageInput | Latents, options: ReconstructOptions): Promise<ReconstructResult> {
    const o = validate(reconstructOptionsSchema, options, 'reconstruct');
    return this.run(options, async (session) => {
      let encoded: Latents;
      let input: RgbImage;
      if (image instanceof Latents) {
        this.checkModel(image, o.allowModelMismatch);
        encoded = image;
        [input] = await this.decode(image.item(0), 'x', session);
      } else {
        const read = await this.encode([image], o, session);
        encoded = read.latents;
        input = read.inputs[0];
      }
      const isolate = o.isolate ?? true;
      const inverted = await this.invertLatents(encoded.item(0), { ...o, isolate }, session);
      const regenerated = await this.generateLatents(inverted, { prompt: o.prompt, isolate }, session);
      const { x, y } = regenerated.latents;
      const z = encoded.item(0).x;
      let maxAbs = 0;
      let squares = 0;
      // EDICT's y returns to the encoded latent too; BDIA's and BELM's y is x_1.
      const pairs = (o.method ?? 'edict') === 'edict' ? [x, y] : [x];
      for (const values of pairs) {
        for (let i = 0; i < z.length; i++) {
          const d = Math.abs(values[i] - z[i]);
          maxAbs = Math.max(maxAbs, d);
          squares += d * d;
        }
      }
      const [vaeImage] = await this.decode(encoded.item(0), 'x', session);
      const image_ = regenerated.images[0];
      return {
        latentMaxAbsError: maxAbs,
        latentRmsError: Math.sqrt(squares / (z.length * pairs.length)),
        pixelPsnr: psnr(image_.data, input.data),
        vaePsnr: psnr(vaeImage.data, input.data),
        roundTripPsnr: psnr(image_.data, vaeImage.data),
        ssim: ssimOrNaN(image_, input),
        vaeSsim: ssimOrNaN(vaeImage, input),
        msSsim: standardMsSsim(image_, input),
        input,
        image: image_,
        vaeImage,
        timings: session.timings,
        warnings: session.warnings,
      };
    });
  }

  /** Text to image: seeded noise, then the full schedule with each prompt. */
  async sample(options: SampleOptions): Promise<GenerateResult> {
    const o = validate(sampleOptionsSchema, options, 'sample');
    return this.run(options, async (session) => {
      const prompts = list(o.prompt);
      const { channels, downsample } = this.manifest.latent;
      const size = targetSize(o.size ?? 'native', this.manifest.image, this.manifest.image, this.settings.maxWorkPixels);
      const shape: LatentShape = [prompts.length, channels, size.height / downsample, size.width / downsample];
      const seed = o.seed ?? DEFAULTS.seed;
      const itemSize = shape[1] * shape[2] * shape[3];
      // Item i gets seed + i, so a prompt's sample does not depend on its batch neighbours.
      const noise = new Float64Array(itemSize * prompts.length);
      const itemShape = [1, ...shape.slice(1)];
      for (const [i] of prompts.entries()) noise.set(await gaussianNoise(itemShape, (seed + i) % (MAX_SEED + 1)), i * itemSize);
      const steps = o.steps ?? DEFAULTS.steps;
      executedSteps(steps, 1, this.manifest.scheduler);
      const params: LatentParams = {
        model: this.manifest.name,
        modelFingerprint: this.fingerprint,
        stage: 'noise',
        method: o.method ?? 'ddim',
        prompts,
        negativePrompts: prompts.map(() => o.negativePrompt ?? DEFAULTS.negativePrompt),
        steps,
        strength: 1,
        executed: steps,
        guidance: prompts.map(() => o.guidance ?? DEFAULTS.guidance),
        mix: prompts.map(() => o.mix ?? DEFAULTS.mix),
        leapfrog: o.leapfrog ?? DEFAULTS.leapfrog,
        ...(o.method === 'bdia' ? { gamma: o.gamma ?? DEFAULTS.gamma } : {}),
        imageWidth: size.width,
        imageHeight: size.height,
        seed,
      };
      return this.generateLatents(new Latents(noise, noise, shape, params), { prompt: prompts, isolate: o.isolate }, session);
    });
  }
}
