/** What this process runs on: libtorch version and build, CUDA, threads. */
import { native } from './errors.js';
import { addon, type NativeInfo } from './native.js';

export type RuntimeInfo = NativeInfo;

export async function runtimeInfo(): Promise<RuntimeInfo> {
  return native(() => addon().info());
}
