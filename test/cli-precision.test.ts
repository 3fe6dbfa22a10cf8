// edict precision: the round-trip report across UNet dtypes, state dtypes, thread counts,
// batch layouts and methods, as JSON records (bundled model, few steps).
import { describe, expect, it } from 'vitest';

import { ensureBuilt, runCli } from './cli-helpers.js';
import { repoRoot } from './helpers/fixtures.js';

describe('edict precision', () => {
  it('measures every method under every dtype pair and the float32 breakers', async () => {
    ensureBuilt();
    const run = await runCli(['precision', 'docs/examples/scene.png', '--prompt', 'a red circle on a blue striped background', '--steps', '6', '--methods', 'edict,bdia,ddim', '--json'], { cwd: repoRoot });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const records = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
    const find = (condition: string, method: string, unetDtype: string, stateDtype = 'float64') =>
      records.find((r) => r.condition === condition && r.method === method && r.unetDtype === unetDtype && r.stateDtype === stateDtype);
    for (const dtype of ['bfloat16', 'float32', 'float64']) {
      for (const state of ['float64', 'float32']) {
        for (const method of ['edict', 'bdia', 'ddim']) expect(find('same conditions', method, dtype, state), `${method} ${dtype} ${state}`).toBeDefined();
      }
      // Exact methods under the same conditions: float64 rounding, whatever the UNet dtype.
      expect(find('same conditions', 'edict', dtype).latentMaxAbsError).toBeLessThan(1e-12);
      expect(find('same conditions', 'bdia', dtype).latentMaxAbsError).toBeLessThan(1e-12);
      expect(find('same conditions', 'ddim', dtype).latentMaxAbsError).toBeGreaterThan(1e-6);
    }
    for (const condition of ['alone -> inside a batch of 3', 'inverted beside 2 other calls -> alone']) {
      expect(find(condition, 'edict', 'float32')).toBeDefined();
    }
    expect(records.every((r) => r.type === 'result' && r.command === 'precision' && Number.isFinite(r.seconds))).toBe(true);
  }, 240_000);
});
