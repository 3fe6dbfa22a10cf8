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

/** The default intra-op thread count: every core (Debian's libtorch starts with one). */
export function defaultThreads(): number {
  return availableParallelism();
}
