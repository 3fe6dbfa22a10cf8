export { EdictError, ErrorCode } from './errors.js';
export {
  Edict,
  bundledModelDir,
  type CallOptions,
  type DecodeLatentsOptions,
  type EditOptions,
  type EditResult,
  type EncodeImageOptions,
  type GenerateOptions,
  type GenerateResult,
  type ImageOptions,
  type InvertOptions,
  type LoadOptions,
  type Method,
  type PromptEncoding,
  type ReconstructOptions,
  type ReconstructResult,
  type SampleOptions,
  type SamplingOptions,
  type SchedulerCounters,
  type Timings,
} from './pipeline.js';
export { Latents, type LatentParams, type LatentShape } from './latents.js';
export { RgbImage, psnr, type ImageInput, type RawPixels, type SizePolicy } from './image.js';
export { backgroundPsnr, backgroundSsim, msSsim, msSsimScales, ssim, type MetricImage, type MsSsimOptions } from './metrics.js';
export { loadManifest, type ModelManifest } from './manifest.js';
export { DEFAULTS, type Progress, type StepEvent } from './options.js';
export { gaussianNoise } from './noise.js';
export { TorchModule, type LoadModuleOptions } from './torch-module.js';
export { runtimeInfo, type RuntimeInfo } from './runtime-info.js';
export type { Device, Dtype } from './devices.js';
export type { NativeTensor } from './native.js';
export { EdictQueue, type EdictQueueOptions, type QueueCallContext } from './queue/client.js';
export { QueueBackend, type QueueBackendOptions } from './queue/queue-backend.js';
