#!/usr/bin/env node
// Packs what scripts/gpu-check.sh needs on a machine with no Node.js and no network: this
// Node.js binary and the installed node_modules it runs with (the production dependencies,
// and tsx to run the TypeScript checks), into one xz tarball. Type declarations, source maps
// and docs are left out (nothing reads them at run time).
//
//   node scripts/gpu-check/make-bundle.mjs [--out .gpu-bundle/edict-gpu-bundle.tar.xz]
//
// Run it after `npm ci` on x86-64 Linux (the bundle holds native binaries: sharp's libvips,
// esbuild). The tarball unpacks to node/bin/node and node_modules/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({ options: { out: { type: 'string', default: join(root, '.gpu-bundle', 'edict-gpu-bundle.tar.xz') } } });
const out = resolve(args.out);

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`make-bundle: the GPU machines are x86-64 Linux; this is ${process.platform}-${process.arch}, whose native modules would not run there`);
  process.exit(1);
}
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages;
if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  console.error('make-bundle: run `npm ci` first (no installed node_modules)');
  process.exit(1);
}

/** Where `name` resolves from the package at `from` (Node's lookup, walking up node_modules). */
function resolveFrom(from, name) {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (lock[candidate]) return candidate;
    if (!base) return null;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut < 0 ? '' : base.slice(0, cut);
  }
}

// Production packages, and tsx's closure (a dev dependency the checks run with).
const keep = new Set(Object.keys(lock).filter((p) => p && !lock[p].dev && existsSync(join(root, p))));
const stack = ['node_modules/tsx'];
while (stack.length) {
  const p = stack.pop();
  if (keep.has(p) && p !== 'node_modules/tsx') continue;
  keep.add(p);
  const entry = lock[p];
  for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
    const dep = resolveFrom(p, name);
    if (dep && existsSync(join(root, dep)) && !keep.has(dep)) stack.push(dep);
  }
}
// A nested package travels with its parent's folder; list only the outermost ones.
const paths = [...keep].filter((p) => ![...keep].some((q) => q !== p && p.startsWith(`${q}/`))).sort();

const stage = join(root, '.gpu-bundle', 'stage');
mkdirSync(join(stage, 'node', 'bin'), { recursive: true });
execFileSync('cp', [process.execPath, join(stage, 'node', 'bin', 'node')]);
writeFileSync(join(stage, 'files.txt'), `${paths.join('\n')}\n`);
mkdirSync(dirname(out), { recursive: true });
const excludes = ['*.map', '*.d.ts', '*.d.mts', '*.d.cts', '*.md', '*.markdown', 'CHANGELOG*', '.bin'];
const tar = [
  'cJf', out, '--owner=0', '--group=0', '--sort=name',
  ...excludes.map((e) => `--exclude=${e}`),
  '-C', stage, 'node',
  '-C', root, '-T', join(stage, 'files.txt'),
];
execFileSync('tar', tar, { env: { ...process.env, XZ_OPT: '-9 -T0' }, stdio: 'inherit' });
execFileSync('rm', ['-rf', stage]);

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
const repoBytes = tracked.reduce((sum, f) => sum + (existsSync(join(root, f)) ? statSync(join(root, f)).size : 0), 0);
const bundleBytes = statSync(out).size;
console.log(JSON.stringify({
  bundle: out,
  node: process.version,
  packages: paths.length,
  bundleSize: mib(bundleBytes),
  repositorySize: mib(repoBytes),
  together: mib(bundleBytes + repoBytes),
  underLimit: bundleBytes + repoBytes < 64 * 2 ** 20,
}, null, 2));
