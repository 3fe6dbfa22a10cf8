export { EdictError, ErrorCode } from './errors.js';
export { TorchModule, type LoadModuleOptions } from './torch-module.js';
export type { Device, Dtype } from './devices.js';
export type { NativeTensor, ProgressEvent } from './native.js';
export { runtimeInfo, type RuntimeInfo } from './runtime-info.js';
