/**
 * Seeded standard-normal noise, generated here rather than by libtorch so that a seed gives
 * the same noise on every machine, device and libtorch version (and tests can reproduce it).
 * xoroshiro128+ (pure-rand) feeds 53-bit uniforms to the Box-Muller transform.
 */
import prand from 'pure-rand';

export function gaussianNoise(count: number, seed: number): Float64Array {
  const rng = prand.xoroshiro128plus(seed);
  const uniform = () => {
    // 53 random bits -> (0, 1]; never 0, so log() stays finite.
    const high = (rng.unsafeNext() >>> 0) >>> 5;
    const low = (rng.unsafeNext() >>> 0) >>> 6;
    return (high * 67108864 + low + 1) / 9007199254740992;
  };
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(uniform()));
    const angle = 2 * Math.PI * uniform();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < count) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}
