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
 * A component dtype for `device`. float16 is refused on CPU at load: libtorch's CPU kernels
 * (convolution, normalisation, matmul in Debian's 1.13) lack it, and it would fail at the
 * first UNet call instead.
 */
export function parseDtypeOn(value: unknown, device: Device, what: string): Dtype {
  const dtype = parseDtype(value);
  if (dtype === 'float16' && device === 'cpu') {
    throw new EdictError(
      ErrorCode.UnsupportedDtype,
      `${what} float16 needs a CUDA device; on cpu use float32 (the default), bfloat16 or float64`,
    );
  }
  return dtype;
}

/**
 * The default intra-op thread count: EDICT_THREADS if set, else half the cores (at least one).
 * With every core as an OpenMP thread, any other busy process collapses a UNet call: a thread
 * that loses its core stalls every parallel region (bench/threads.ts on 2 cores, one busy-loop
 * process beside the edit: 6.24 s at 2 threads against 1.65 s at the default, 1.88 s at 1).
 * Half the cores leaves room for that and is PyTorch's own default on SMT machines (physical
 * cores); idle, it costs what the other half would have bought (2 cores: 2.04 s against 1.74 s).
 * The count cannot adapt during a call: float32 UNet outputs depend on it, and exact round
 * trips need the same count both ways.
 */
export function defaultThreads(): number {
  const fromEnv = Number(process.env.EDICT_THREADS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.max(1, Math.floor(availableParallelism() / 2));
}
