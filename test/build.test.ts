// The build itself: discovery failure messages, and the node-gyp build of the same addon.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { repoRoot, tempDir, tinyModel } from './helpers/fixtures.js';

const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);

describe('libtorch discovery', () => {
  it('finds a libtorch on this machine', () => {
    const result = spawnSync('node', ['scripts/libtorch.mjs', 'describe'], { cwd: repoRoot, encoding: 'utf8' });
    expect(result.status).toBe(0);
    const found = JSON.parse(result.stdout) as { torchDir: string };
    expect(existsSync(join(found.torchDir, 'TorchConfig.cmake'))).toBe(true);
  });

  it('stops the cmake-js build fast, naming all three ways, when pointed at a folder without libtorch', () => {
    const empty = tempDir('edict-no-libtorch-');
    const started = Date.now();
    const result = spawnSync(bin('cmake-js'), ['configure', '--out', join(tempDir(), 'build')], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, LIBTORCH: empty },
    });
    const output = result.stdout + result.stderr;
    expect(result.status).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(output).toContain(`LIBTORCH=${empty} is not a libtorch folder`);
    expect(output).toContain('Torch_DIR');
    expect(output).toContain('install PyTorch for Python');
    expect(output).toContain('apt-get install libtorch-dev');
  });

  it('reports a Torch_DIR without TorchConfig.cmake the same way', () => {
    const result = spawnSync('node', ['scripts/libtorch.mjs', 'cmake-dir'], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, LIBTORCH: '', Torch_DIR: tempDir() },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Torch_DIR=.* has no TorchConfig\.cmake/);
    expect(result.stderr).toContain('Provide libtorch in one of three ways');
  });
});

describe.runIf(process.env.EDICT_TEST_GYP === '1')('node-gyp build', () => {
  it('builds a loadable addon from binding.gyp that runs a fixture component', () => {
    // A copy of what binding.gyp needs, so node-gyp's build/ does not replace cmake-js's. It
    // lives in build-gyp/ (git-ignored) with the sources' timestamps, so a second run only
    // re-makes what changed.
    const dir = join(repoRoot, 'build-gyp', 'project');
    for (const path of ['binding.gyp', 'package.json', 'native', 'scripts/libtorch.mjs', 'scripts/native-sources.mjs', 'scripts/torch-probe']) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      cpSync(join(repoRoot, path), join(dir, path), { recursive: true, preserveTimestamps: true });
    }
    if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
    const nodedir = !process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h') ? ['--nodedir=/usr'] : [];
    for (const step of [['configure', ...nodedir], ['build', '--jobs', 'max']]) {
      const run = spawnSync(bin('node-gyp'), step, { cwd: dir, encoding: 'utf8' });
      expect(run.status, `node-gyp ${step[0]}: ${run.stderr.slice(-4000)}`).toBe(0);
    }
    const addonPath = join(dir, 'build', 'Release', 'edict.node');
    expect(existsSync(addonPath)).toBe(true);

    const script = `
      const addon = require(${JSON.stringify(addonPath)});
      (async () => {
        const m = await addon.loadModule(${JSON.stringify(join(tinyModel, 'vae_decoder.pt'))}, {});
        const out = await m.forward([{ data: new Float32Array(4 * 8 * 8).fill(0.1), shape: [1, 4, 8, 8] }]);
        const info = await addon.info();
        console.log(JSON.stringify({ shape: out.shape, libtorch: info.libtorch }));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    // No LD_LIBRARY_PATH: libtorch must be found through the addon's RPATH.
    const env = { ...process.env };
    delete env.LD_LIBRARY_PATH;
    const run = spawnSync('node', ['-e', script], { encoding: 'utf8', env });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ shape: [1, 3, 32, 32] });
  }, 900_000);
});
