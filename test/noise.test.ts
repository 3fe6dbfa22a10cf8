// Seeded noise (SDEdit, posterior samples, sample()): torch's CPU generator, the same numbers as
// `torch.manual_seed(seed); torch.randn(shape)` in Python, unbiased, seeds checked.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { EdictError, gaussianNoise } from '../src/index.js';
import { fixturesDir } from './helpers/fixtures.js';

interface Recorded {
  seed: number;
  shape: number[];
  head: number[];
  sum: number;
}
const recorded: Recorded[] = JSON.parse(readFileSync(join(fixturesDir, 'torch-randn.json'), 'utf8'));

const moments = (values: ArrayLike<number>) => {
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    squares += values[i] * values[i];
  }
  const mean = sum / values.length;
  return { mean, variance: squares / values.length - mean * mean };
};

describe('gaussianNoise', () => {
  it.each(recorded)('seed $seed, shape $shape: the values torch.randn drew in Python', async ({ seed, shape, head, sum }) => {
    const noise = await gaussianNoise(shape, seed);
    expect(noise.length).toBe(shape.reduce((a, b) => a * b, 1));
    expect(Array.from(noise.subarray(0, head.length))).toEqual(head); // bit for bit (float32 values)
    expect(noise.reduce((a, b) => a + b, 0)).toBeCloseTo(sum, 9);
  });

  it('a large draw has mean 0 and variance 1', async () => {
    const { mean, variance } = moments(await gaussianNoise([1_000_000], 3));
    // Standard errors: 0.001 for the mean, 0.0014 for the variance.
    expect(Math.abs(mean)).toBeLessThan(0.005);
    expect(Math.abs(variance - 1)).toBeLessThan(0.007);
  });

  it('the first values across seeds are standard normal too (no value pinned near 0)', async () => {
    const firsts: number[] = [];
    const seconds: number[] = [];
    for (let seed = 0; seed < 300; seed++) {
      const noise = await gaussianNoise([2], seed);
      firsts.push(noise[0]);
      seconds.push(noise[1]);
    }
    for (const values of [firsts, seconds]) {
      const { mean, variance } = moments(values);
      expect(Math.abs(mean)).toBeLessThan(0.25); // 4+ standard errors
      expect(variance).toBeGreaterThan(0.7);
      expect(variance).toBeLessThan(1.3);
      // About 4% of standard-normal values lie within 0.05 of 0; the old generator put all there.
      expect(values.filter((v) => Math.abs(v) < 0.05).length).toBeLessThan(30);
    }
  });

  it('every seed bit counts up to 2^32 - 1; larger or fractional seeds are refused', async () => {
    const a = await gaussianNoise([4], 1);
    const b = await gaussianNoise([4], 2 ** 31 + 1);
    expect(Array.from(a)).not.toEqual(Array.from(b));
    for (const seed of [2 ** 32, -1, 1.5, Number.NaN]) {
      const error = await gaussianNoise([4], seed).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(EdictError);
      expect((error as EdictError).code).toBe('ERR_INVALID_OPTION');
    }
  });
});
