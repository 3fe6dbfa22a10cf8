// The Python parts that need no torch nor diffusers (scripts/export), run with the machine's
// python3 as CI has it: manifest building from SD configs, folder validation.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { fixturesDir, repoRoot } from './helpers/fixtures.js';

describe('scripts/export (python3 unittest)', () => {
  it('passes its unit tests', () => {
    const run = spawnSync('python3', ['-m', 'unittest', 'discover', '-s', 'scripts/export', '-p', 'test_*.py'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(run.status, run.stderr.slice(-3000)).toBe(0);
    expect(run.stderr).toMatch(/Ran \d+ tests/);
    expect(run.stderr).toMatch(/\nOK/);
  });

  it.each(['tiny', 'closed-form', 'closed-form-v', 'sd-shaped'])('validate_model.py accepts the %s fixture', (name) => {
    const run = spawnSync('python3', ['scripts/export/validate_model.py', join(fixturesDir, name)], { cwd: repoRoot, encoding: 'utf8' });
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });

  it('validate_model.py rejects a folder without a manifest', () => {
    const run = spawnSync('python3', ['scripts/export/validate_model.py', fixturesDir], { cwd: repoRoot, encoding: 'utf8' });
    expect(run.status).not.toBe(0);
  });
});
