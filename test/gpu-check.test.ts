// The GPU check kit (scripts/gpu-check.sh) end to end on CPU, so it is known to run before a
// GPU sees it: every check group with a small image and a narrow SD 1.5-shaped UNet. The SD 1.5
// group needs a Python with torch to build that UNet (Debian's python3-torch here); where none
// is installed (CI) the kit skips that group, and so does this test. The addon CI built is
// reused (--skip-build): building it is the install's job, tested by test/build.test.ts.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { repoRoot, tempDir } from './helpers/fixtures.js';

const kit = join(repoRoot, 'scripts', 'gpu-check.sh');

function torchPython(): string | null {
  for (const python of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 }).status === 0) return python;
  }
  return null;
}

function runKit(args: string[], work: string) {
  return spawnSync('bash', [kit, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 420_000,
    env: { ...process.env, TMPDIR: work, EDICT_THREADS: '1' },
  });
}

interface Summary {
  device: string;
  ok: boolean;
  pass: number;
  fail: number;
  skip: number;
  environment: Record<string, unknown>;
  runtime: { libtorch: string } | null;
  checks: { group: string; name: string; status: string; detail: string; values: Record<string, unknown> }[];
}

describe('scripts/gpu-check.sh', () => {
  it('runs every check on --device cpu, and writes a JSON summary and a table where each passed', () => {
    const out = tempDir('edict-gpu-check-out-');
    const python = torchPython();
    const groups = ['runtime', 'exactness', 'determinism', 'bad-input', 'cancellation', 'sd15'];
    const result = runKit(
      ['--device', 'cpu', '--out', out, '--skip-build', '--size', '64', '--width', '32', '--steps', '6', '--targets', '2',
        ...(python ? ['--python', python] : ['--only', groups.slice(0, -1).join(',')])],
      tempDir('edict-gpu-check-work-'),
    );
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);

    const summary = JSON.parse(readFileSync(join(out, 'gpu-check.json'), 'utf8')) as Summary;
    const failed = summary.checks.filter((c) => c.status === 'fail');
    expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
    expect(summary).toMatchObject({ device: 'cpu', ok: true, fail: 0 });
    expect(summary.runtime?.libtorch).toMatch(/^\d+\.\d+/);
    expect(summary.environment).toHaveProperty('node', process.version);
    const ran = new Set(summary.checks.filter((c) => c.status === 'pass').map((c) => c.group));
    expect([...ran].sort()).toEqual((python ? groups : groups.slice(0, -1)).sort());

    // The exactness checks measured real round trips, within the bound they claim.
    const trips = summary.checks.filter((c) => c.group === 'exactness' && /round trip/.test(c.name));
    expect(trips.length).toBeGreaterThanOrEqual(12);
    for (const c of trips) expect(c.values.latentMaxAbsError as number).toBeLessThanOrEqual(1e-12);
    // float16 is CUDA-only: skipped on CPU, and said so.
    expect(summary.checks.find((c) => c.status === 'skip')?.detail).toMatch(/float16 runs on CUDA only/);
    if (python) {
      const sd15 = summary.checks.filter((c) => c.group === 'sd15');
      expect(sd15).toHaveLength(3);
      expect(sd15[0].values.roundTripError as number).toBeLessThanOrEqual(1e-12);
      // float64: bitwise repeatable; its round trip is reported (the UNet's sensitivity scales
      // float64 rounding), and is far from float32's inexact layouts (~1e-6).
      expect(sd15[1].values.bitwiseRepeat).toBe(true);
      expect(sd15[1].values.roundTripError as number).toBeLessThan(1e-9);
      expect(sd15[2].values.latentMaxAbsDiff as number).toBeGreaterThanOrEqual(0);
    }

    const table = readFileSync(join(out, 'gpu-check.txt'), 'utf8');
    expect(table).toMatch(new RegExp(`^edict GPU check on cpu: ${summary.pass} passed, 0 failed, ${summary.skip} skipped`));
    expect(table.split('\n').filter((l) => l.startsWith('PASS')).length).toBe(summary.pass);
  }, 450_000);

  it('exits 1 when a check fails: cuda asked of a CPU-only libtorch', () => {
    const out = tempDir('edict-gpu-check-out-');
    const result = runKit(['--device', 'cuda', '--out', out, '--skip-build', '--only', 'runtime,bad-input'], tempDir('edict-gpu-check-work-'));
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(1);
    const summary = JSON.parse(readFileSync(join(out, 'gpu-check.json'), 'utf8')) as Summary;
    expect(summary.ok).toBe(false);
    expect(summary.checks.find((c) => c.group === 'runtime')?.status).toBe('fail');
    expect(summary.checks.find((c) => c.group === 'bad-input')?.detail).toMatch(/ERR_CUDA_UNAVAILABLE/);
  }, 120_000);

  it.each([
    [['--device', 'tpu'], /--device must be cpu, cuda or cuda:N, got 'tpu'/],
    [['--size', '100'], /--size must be a multiple of 64/],
    [['--steps', 'many'], /--steps must be a whole number, got 'many'/],
    [['--frobnicate'], /unknown argument '--frobnicate'/],
  ])('refuses %j with exit 2 and says why', (args, message) => {
    const result = runKit([...args, '--out', tempDir('edict-gpu-check-out-')], tempDir('edict-gpu-check-work-'));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
