/**
 * Where latents came from: what an exact round trip needs to be repeated. A float32 (or
 * lower) UNet returns the same bits only for the same dtype, device, intra-op thread count and
 * batch layout (README, "Exactness, precisely"), so inverted latents record them, and
 * generating with the source prompt under other conditions warns, with the error to expect.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { z } from 'zod';

import { packageRoot } from './native.js';

export const provenanceSchema = z.object({
  /** The edict package version. */
  package: z.string(),
  /** libtorch's version string. */
  libtorch: z.string(),
  /** The UNet dtype. */
  dtype: z.string(),
  device: z.string(),
  /** Intra-op threads. */
  threads: z.number().int().nonnegative(),
  /** Whether the call ran isolated (its items batched only with each other). */
  isolated: z.boolean(),
  /** Items in the call. */
  batch: z.number().int().positive(),
});

export type Provenance = z.infer<typeof provenanceSchema>;

/** The warning code of a round trip that will not be exact. */
export const INEXACT_ROUND_TRIP = 'EDICT_INEXACT_ROUND_TRIP';

let cachedVersion: string | null = null;
export function packageVersion(): string {
  if (cachedVersion === null) {
    try {
      cachedVersion = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
}

/**
 * Why regenerating latents made under `made` with the source prompt under `now` may not
 * return the input exactly (a kernel whose sums depend on them does not: most do), and the
 * latent error to expect (measured: bench/out/exactness.json,
 * float32: 1.2e-6 to 1.7e-6; bfloat16/float16 UNets round to ~1e-2); null when it will, as far
 * as the recorded conditions tell.
 */
export function inexactRoundTrip(made: Provenance, now: Provenance): string | null {
  const differences: string[] = [];
  if (made.dtype !== now.dtype) differences.push(`UNet dtype ${made.dtype} -> ${now.dtype}`);
  if (made.device !== now.device) differences.push(`device ${made.device} -> ${now.device}`);
  const float64 = made.dtype === 'float64' && now.dtype === 'float64';
  if (!float64) {
    if (made.threads !== now.threads) differences.push(`intra-op threads ${made.threads} -> ${now.threads}`);
    if (made.batch !== now.batch) differences.push(`batch of ${made.batch} -> ${now.batch}`);
    // Two non-isolated calls may still have met other calls' items: that is not recorded.
    if (made.isolated !== now.isolated) differences.push(`isolate ${made.isolated} -> ${now.isolated}`);
  }
  if (differences.length === 0 || (float64 && made.device === now.device)) return null;
  const low = [made.dtype, now.dtype].some((d) => d === 'bfloat16' || d === 'float16');
  const expected = low ? '1e-2' : '1e-6';
  return (
    `the round trip may not be exact: these latents were inverted under other conditions (${differences.join(', ')}); ` +
    `expect a latent error up to ~${expected} instead of ~1e-14 (invert and generate with the same dtype, device, threads ` +
    `and batch, with isolate: true, or use a float64 UNet)`
  );
}
