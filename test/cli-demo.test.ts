// edict demo (the README's main job) end to end, on the fixture model so it runs in seconds.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';

import { tempDir, tinyModel } from './helpers/fixtures.js';
import { cliPath, ensureBuilt } from './cli-helpers.js';

beforeAll(() => ensureBuilt());

describe('edict demo', () => {
  it('writes the picture and one JSON record with the measured round trips', async () => {
    const out = join(tempDir(), 'demo.png');
    const run = spawnSync(process.execPath, [cliPath, '--model', tinyModel, '--json', 'demo', '--steps', '6', '-o', out], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const record = JSON.parse(run.stdout.trim());
    expect(record).toMatchObject({ type: 'result', command: 'demo', source: 'a red circle on a blue striped background' });
    expect(record.targets).toHaveLength(4);
    expect(record.edictRoundTrip.latentMaxAbsError).toBeLessThan(1e-12);
    expect(record.ddimRoundTrip.latentMaxAbsError).toBeGreaterThan(1e-6);
    expect(existsSync(out)).toBe(true);
    const meta = await sharp(out).metadata();
    // 5 image columns of 128 px plus labels; 5 rows.
    expect(meta.width).toBeGreaterThan(5 * 128);
    expect(meta.height).toBeGreaterThan(5 * 128);
  });
});
