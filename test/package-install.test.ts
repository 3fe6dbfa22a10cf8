// The package as a consumer gets it: `npm pack`, then `npm install` of the tarball into a fresh
// project (which compiles the addon through the package's install script), an edit on the
// bundled model by importing the package by name, and `npx edict info`. Slow (the compile takes
// minutes), so it runs where EDICT_TEST_PACKAGE=1: scripts/test.sh (CI) sets it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { ensureBuilt } from './cli-helpers.js';
import { repoRoot, tempDir } from './helpers/fixtures.js';

const enabled = process.env.EDICT_TEST_PACKAGE === '1';

function run(command: string, args: string[], cwd: string, timeout = 600_000) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_yes: 'true' } });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', output: `${result.stdout}\n${result.stderr}` };
}

let project = '';
let files: string[] = [];
let installOutput = '';
let installSeconds = 0;

describe.runIf(enabled)('the packed package, installed into a fresh project', () => {
  beforeAll(() => {
    ensureBuilt();
    const packDir = tempDir('edict-pack-');
    const pack = run('npm', ['pack', '--json', '--pack-destination', packDir], repoRoot);
    expect(pack.status, pack.stderr).toBe(0);
    const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    files = info.files.map((f) => f.path);

    project = tempDir('edict-consumer-');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    const started = performance.now();
    const install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', join(packDir, info.filename)], project);
    installSeconds = (performance.now() - started) / 1000;
    installOutput = install.output;
    expect(install.status, install.output.slice(-4000)).toBe(0);
    console.log(`npm install of the tarball took ${installSeconds.toFixed(0)} s`);
  }, 900_000);

  it('ships what the install and the README need, and no map that points at unshipped sources', () => {
    for (const needed of ['CMakeLists.txt', 'native/sources.txt', 'scripts/libtorch.mjs', 'dist/index.js', 'dist/cli/main.js', 'models/scenes/unet.pt', 'docs/examples/scene.png']) {
      expect(files, needed).toContain(needed);
    }
    // every relative link of the README (the package page) reaches a shipped file
    const links = [...readFileSync(join(repoRoot, 'README.md'), 'utf8').matchAll(/\]\(([^)#:]+)\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(5);
    for (const link of links) expect(files.some((f) => f === link || f.startsWith(link.endsWith('/') ? link : `${link}/`)), link).toBe(true);
    // binding.gyp at the root would make npm list an implicit `node-gyp rebuild` install script
    expect(files).not.toContain('binding.gyp');
    for (const map of files.filter((f) => f.endsWith('.js.map'))) {
      const parsed = JSON.parse(readFileSync(join(project, 'node_modules', 'edict', map), 'utf8'));
      expect(parsed.sourcesContent?.length, `${map} embeds its sources`).toBe(parsed.sources.length);
    }
  });

  it('compiled the addon in the install script', () => {
    expect(installOutput).toMatch(/cmake-js compile/);
    expect(existsSync(join(project, 'node_modules', 'edict', 'build', 'Release', 'edict.node'))).toBe(true);
  });

  it("npm's install-scripts review lists the package's own install script, not node-gyp", () => {
    const ls = run('npm', ['install-scripts', 'ls'], project);
    expect(ls.output).toMatch(/edict@0\.1\.0 \(install: cmake-js compile/);
    // (dependencies may list their own node-gyp scripts: BullMQ's optional msgpackr-extract does)
    expect(ls.output).not.toMatch(/edict@0\.1\.0 \(install: node-gyp/);
  });

  it('imports the package by name and edits a scene of the bundled model', () => {
    writeFileSync(
      join(project, 'edit.mjs'),
      `import { Edict } from 'edict';
const edict = await Edict.load();
const { images, warnings } = await edict.edit('node_modules/edict/docs/examples/scene.png', {
  source: 'a red circle on a blue striped background',
  target: 'a yellow circle on a blue striped background',
});
await images[0].toFile('yellow.png');
console.log(JSON.stringify({ width: images[0].width, height: images[0].height, warnings }));
await edict.dispose();
`,
    );
    const edit = run(process.execPath, ['edit.mjs'], project);
    expect(edit.status, edit.output.slice(-2000)).toBe(0);
    expect(JSON.parse(edit.stdout.trim())).toEqual({ width: 32, height: 32, warnings: [] });
    expect(readFileSync(join(project, 'yellow.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it('npx edict info runs the installed CLI', () => {
    const info = run('npx', ['--no-install', 'edict', 'info', '--json'], project);
    expect(info.status, info.output.slice(-2000)).toBe(0);
    const record = JSON.parse(info.stdout.trim().split('\n').at(-1)!);
    expect(record.model.bundled).toBe(true);
    expect(record.model.dir).toBe(join(project, 'node_modules', 'edict', 'models', 'scenes'));
  });
});
