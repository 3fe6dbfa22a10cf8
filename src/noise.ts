/**
 * Seeded standard-normal noise, drawn by libtorch's CPU generator in the addon: a seed gives
 * exactly the numbers of `torch.manual_seed(seed); torch.randn(shape)` in Python on CPU
 * (float32 samples, here widened to float64), on every device this package runs on.
 */
import { EdictError, ErrorCode, native } from './errors.js';
import { addon } from './native.js';

/** torch's CPU generator keeps 32 bits of a seed: larger seeds are refused, not folded. */
export const MAX_SEED = 2 ** 32 - 1;

export async function gaussianNoise(shape: number[], seed: number): Promise<Float64Array> {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new EdictError(ErrorCode.InvalidOption, `seed must be an integer in [0, 2^32 - 1] (torch's CPU generator keeps 32 bits), got ${seed}`);
  }
  const noise = await native(() => addon().randn(shape, seed));
  return noise.data;
}
