/**
 * Loads the compiled addon (build/Release/edict.node) and describes its interface. Only this
 * file touches the raw addon; everything else goes through typed wrappers.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { EdictError, ErrorCode } from './errors.js';

export type TypedData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** Attached by the addon to every object a job resolves with. */
export interface NativeJobTiming {
  /** Seconds the job waited behind other jobs for the compute thread. */
  queueSeconds: number;
  /** Seconds it ran on the compute thread. */
  computeSeconds: number;
  /** The intra-op threads it ran with. */
  threads: number;
}

export interface NativeTensor<D extends TypedData = TypedData> {
  data: D;
  shape: number[];
}

export interface ProgressEvent {
  phase: string;
  step: number;
  total: number;
}

export interface NativeJobOptions {
  onProgress?: (event: ProgressEvent) => void;
  cancelToken?: NativeCancelToken;
  threads?: number;
  /** Higher runs first; equal priorities keep submission order. */
  priority?: number;
}

export interface NativeCancelToken {
  /** "timeout": the call's deadline passed (ERR_TIMEOUT instead of ERR_CANCELLED). */
  cancel(reason?: 'timeout'): void;
  readonly cancelled: boolean;
}

export interface NativeTorchModule {
  readonly device: string;
  readonly dtype: string;
  forward(inputs: NativeTensor[], options?: NativeJobOptions): Promise<NativeTensor>;
}

export interface NativeInfo {
  libtorch: string;
  cuda: boolean;
  cudaDevices: number;
  threads: number;
  cores: number;
  buildConfig: string;
  parallelInfo: string;
  /** How the BLAS library's own threads are set ("openblas (1 thread)" or "none found"). */
  blasThreads: string;
}

export interface NativePipelineConfig {
  textEncoder: string;
  unet: string;
  vaeEncoder: string;
  vaeDecoder: string;
  device: string;
  unetDtype: string;
  textDtype: string;
  vaeDtype: string;
  latentChannels: number;
  downsample: number;
  scalingFactor: number;
  maxLength: number;
  hiddenSize: number;
  exact: boolean;
  scheduler: {
    numTrainTimesteps: number;
    betaStart: number;
    betaEnd: number;
    betaSchedule: string;
    setAlphaToOne: boolean;
    stepsOffset: number;
    predictionType: string;
  };
  batching?: NativeBatching;
}

/** How the compute thread's step scheduler admits a pipeline's sampling loops. */
export interface NativeBatching {
  policy: 'continuous' | 'request' | 'serial';
  maxBatch: number;
  maxQueue: number;
  maxQueueDelayMs: number;
}

/** A pipeline's scheduler counters (native/counters.h). */
export interface NativeCounters {
  queued: number;
  activeCalls: number;
  activeItems: number;
  admitted: number;
  completed: number;
  failed: number;
  cancelled: number;
  timedOut: number;
  rejected: number;
  rounds: number;
  unetCalls: number;
  unetItems: number;
  unetSeconds: number;
  /** Seconds of whole scheduler rounds: the UNet calls plus gathering, splitting and updates. */
  roundSeconds: number;
  queueWaitSeconds: number;
  /** Items per UNet call -> how many calls had that many. */
  batchSizes: Record<string, number>;
}

/** A sampling loop the addon has (native/sampler_registry.cpp). */
export interface NativeSamplerKind {
  name: string;
  phase: 'invert' | 'generate';
  /** Needs y (EDICT's pair). */
  pair: boolean;
  /** Needs noise (SDEdit). */
  noise: boolean;
}

/** A sampler name of the addon's registry (addon().samplers). */
export type LoopKind = string;

export interface NativeLoopRequest {
  kind: LoopKind;
  x: NativeTensor<Float64Array>;
  y?: NativeTensor<Float64Array>;
  noise?: NativeTensor<Float64Array>;
  condIds: NativeTensor<BigInt64Array>;
  uncondIds: NativeTensor<BigInt64Array>;
  guidance: NativeTensor<Float64Array>;
  mix: NativeTensor<Float64Array>;
  steps: number;
  executed: number;
  leapfrog: boolean;
  stateDtype: 'float64' | 'float32';
  /** Share UNet calls only among this call's own items (the same batch layout both ways). */
  isolate?: boolean;
  /** BDIA's gamma. */
  gamma?: number;
  /** Progress events carry host copies of x and y (onStep). */
  stepLatents?: boolean;
  /** BDIA/BELM generation: x and y are an inverted pair (x_n, x_{n-1}); false: x alone. */
  pairStart?: boolean;
}

export interface NativeLoopResult {
  x: NativeTensor<Float64Array>;
  y: NativeTensor<Float64Array>;
  unetSeconds: number;
  unetCalls: number;
  totalSeconds: number;
}

export interface NativePipeline {
  readonly device: string;
  encodeText(ids: NativeTensor<BigInt64Array>, options?: NativeJobOptions): Promise<NativeTensor<Float32Array | Float64Array>>;
  encodeImage(
    pixels: NativeTensor<Uint8Array>,
    noise: NativeTensor<Float64Array> | null,
    options?: NativeJobOptions,
  ): Promise<NativeTensor<Float64Array>>;
  decodeLatents(latents: NativeTensor<Float64Array>, options?: NativeJobOptions): Promise<NativeTensor<Uint8Array>>;
  run(request: NativeLoopRequest, options?: NativeJobOptions): Promise<NativeLoopResult>;
  counters(): NativeCounters;
  dispose(): Promise<void>;
}

export interface NativeAddon {
  loadPipeline(config: NativePipelineConfig, options?: NativeJobOptions): Promise<NativePipeline>;
  info(): Promise<NativeInfo>;
  loadModule(
    path: string,
    options?: NativeJobOptions & { device?: string; dtype?: string },
  ): Promise<NativeTorchModule>;
  CancelToken: new () => NativeCancelToken;
  readonly samplers: NativeSamplerKind[];
  /** torch.manual_seed(seed); torch.randn(shape) as float64 (seed in [0, 2^32 - 1]). */
  randn(shape: number[], seed: number): Promise<NativeTensor<Float64Array>>;
  /** Cancels every job and waits for the compute thread to leave libtorch and end. */
  prepareExit(): void;
}

/** The package root (the folder holding package.json), from src/ or dist/. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

let cached: NativeAddon | undefined;

/**
 * The addon, loaded on first use. EDICT_ADDON_PATH points at another build (the node-gyp
 * build in CI, for instance).
 */
export function addon(): NativeAddon {
  if (cached) return cached;
  const path = process.env.EDICT_ADDON_PATH ?? join(packageRoot, 'build', 'Release', 'edict.node');
  if (!existsSync(path)) {
    throw new EdictError(
      ErrorCode.AddonNotBuilt,
      `the native addon is not built (expected ${path}); run "npm run build:native" ` +
        '(needs libtorch: see scripts/setup.sh)',
    );
  }
  try {
    cached = createRequire(import.meta.url)(path) as NativeAddon;
    // On process.exit(), an uncaught exception or an unhandled rejection, C++ static
    // destructors run right after 'exit': libtorch must not be inside a call then, or the
    // process dies with SIGSEGV instead of its exit code. Stop the compute thread first.
    const loaded = cached;
    process.once('exit', () => loaded.prepareExit());
  } catch (error) {
    throw new EdictError(
      ErrorCode.AddonNotBuilt,
      `the native addon at ${path} failed to load: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return cached;
}
