/** Device and dtype names, validated before they cross into C++. */
import { availableParallelism } from 'node:os';

import { EdictError, ErrorCode } from './errors.js';

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
export type Dtype = 'float16' | 'bfloat16' | 'float32' | 'float64';

const dtypes: readonly Dtype[] = ['float16', 'bfloat16', 'float32', 'float64'];

export function parseDevice(value: unknown): Device {
  if (typeof value === 'string' && /^(cpu|cuda(:\d{1,3})?)$/.test(value)) return value as Device;
  throw new EdictError(
    ErrorCode.UnknownDevice,
    `unknown device ${JSON.stringify(value)}: expected "cpu", "cuda" or "cuda:N"`,
  );
}

export function parseDtype(value: unknown): Dtype {
  if (typeof value === 'string' && (dtypes as readonly string[]).includes(value)) return value as Dtype;
  throw new EdictError(
    ErrorCode.UnsupportedDtype,
    `unsupported dtype ${JSON.stringify(value)}: expected one of ${dtypes.join(', ')}`,
  );
}

/**
 * The default intra-op thread count: EDICT_THREADS if set, else every core (Debian's libtorch
 * starts with one thread). On a machine whose cores are busy with other work, fewer threads
 * can be much faster: OpenMP workers spin waiting for a core.
 */
export function defaultThreads(): number {
  const fromEnv = Number(process.env.EDICT_THREADS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism();
}
