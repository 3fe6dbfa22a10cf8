#!/usr/bin/env node
// libtorch discovery, shared by CMakeLists.txt (cmake-js) and binding.gyp (node-gyp), so the
// two builds always agree on which libtorch they use.
//
// Order:
//   1. explicit: LIBTORCH=<unpacked libtorch folder> or Torch_DIR=<folder with TorchConfig.cmake>
//      (if set but wrong, that is an error: no silent fallback to another libtorch)
//   2. the libtorch inside a Python PyTorch install (torch.utils.cmake_prefix_path);
//      EDICT_PYTHON picks the interpreter, else python3 then python
//   3. a system libtorch (Debian/Ubuntu libtorch-dev, /usr/local, /opt/libtorch)
//
// Usage:
//   node scripts/libtorch.mjs cmake-dir           folder holding TorchConfig.cmake
//   node scripts/libtorch.mjs describe            JSON: where it was found and how
//   node scripts/libtorch.mjs gyp <field>         include_dirs | defines | cflags | libraries
//                                                 for binding.gyp, resolved by a CMake probe
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONFIG = 'TorchConfig.cmake';

const HOW_TO_PROVIDE = `Provide libtorch in one of three ways:
  1. set LIBTORCH to an unpacked libtorch folder (https://pytorch.org, "LibTorch" C++ archive),
     or Torch_DIR to the folder holding ${CONFIG};
  2. install PyTorch for Python (python3 -c 'import torch' must work; EDICT_PYTHON chooses
     the interpreter): its bundled libtorch is used;
  3. install the system libtorch: on Debian/Ubuntu
     apt-get install libtorch-dev libopenblas0-pthread   (or run scripts/setup.sh).`;

class NotFound extends Error {}

function fromEnvironment() {
  const { LIBTORCH, Torch_DIR: torchDir } = process.env;
  if (LIBTORCH) {
    const dir = join(resolve(LIBTORCH), 'share', 'cmake', 'Torch');
    if (existsSync(join(dir, CONFIG))) return { source: 'LIBTORCH', torchDir: dir };
    throw new NotFound(`LIBTORCH=${LIBTORCH} is not a libtorch folder: no share/cmake/Torch/${CONFIG} in it.`);
  }
  if (torchDir) {
    const dir = resolve(torchDir);
    if (existsSync(join(dir, CONFIG))) return { source: 'Torch_DIR', torchDir: dir };
    throw new NotFound(`Torch_DIR=${torchDir} has no ${CONFIG}.`);
  }
  return null;
}

function fromPython(tried) {
  const interpreters = process.env.EDICT_PYTHON ? [process.env.EDICT_PYTHON] : ['python3', 'python'];
  for (const python of interpreters) {
    let prefix;
    try {
      prefix = execFileSync(python, ['-c', 'import torch; print(torch.utils.cmake_prefix_path)'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 60_000,
      }).trim();
    } catch {
      tried.push(`${python}: no importable torch`);
      continue;
    }
    const dir = join(prefix, 'Torch');
    if (existsSync(join(dir, CONFIG))) return { source: `python (${python})`, torchDir: dir };
    // Debian's python3-torch ships no CMake files; its C++ side is libtorch-dev (step 3).
    tried.push(`${python}: torch at ${prefix} has no ${CONFIG}`);
  }
  return null;
}

function fromSystem(tried) {
  const candidates = [];
  for (const base of ['/usr/lib', '/usr/local/lib']) {
    candidates.push(join(base, 'cmake', 'Torch'));
    if (existsSync(base)) {
      for (const entry of readdirSync(base)) {
        if (entry.includes('-linux-')) candidates.push(join(base, entry, 'cmake', 'Torch'));
      }
    }
  }
  candidates.push('/usr/share/cmake/Torch', '/usr/local/share/cmake/Torch', '/opt/libtorch/share/cmake/Torch');
  for (const dir of candidates) {
    if (existsSync(join(dir, CONFIG))) return { source: 'system', torchDir: dir };
  }
  tried.push(`system: none of ${candidates.join(', ')}`);
  return null;
}

export function discover() {
  const tried = [];
  const found = fromEnvironment() ?? fromPython(tried) ?? fromSystem(tried);
  if (!found) throw new NotFound(`no libtorch found (tried: ${tried.join('; ')}).`);
  return found;
}

// Resolves compile and link flags exactly as CMake's find_package(Torch) would, by generating
// (not building) a one-file CMake project and reading the Makefiles CMake writes.
function probe(torchDir) {
  // Keyed by the config file's path and age, so a replaced libtorch is probed afresh.
  const stamp = `${torchDir}:${statSync(join(torchDir, CONFIG)).mtimeMs}`;
  const key = createHash('sha256').update(stamp).digest('hex').slice(0, 12);
  const buildDir = join(root, 'build-gyp', `torch-probe-${key}`);
  const cache = join(buildDir, 'flags.json');
  if (existsSync(cache)) return JSON.parse(readFileSync(cache, 'utf8'));
  mkdirSync(buildDir, { recursive: true });
  execFileSync(
    'cmake',
    ['-S', join(root, 'scripts', 'torch-probe'), '-B', buildDir, '-G', 'Unix Makefiles',
      `-DTorch_DIR=${torchDir}`, '-DCMAKE_BUILD_TYPE=Release'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const targetDir = join(buildDir, 'CMakeFiles', 'probe.dir');
  const flags = Object.fromEntries(
    readFileSync(join(targetDir, 'flags.make'), 'utf8')
      .split('\n')
      .filter((line) => /^CXX_\w+ = /.test(line))
      .map((line) => [line.slice(0, line.indexOf(' =')), splitArgs(line.slice(line.indexOf('=') + 1))]),
  );
  const link = splitArgs(readFileSync(join(targetDir, 'link.txt'), 'utf8'));
  const libraries = link.slice(link.indexOf('probe', link.indexOf('-o')) + 1);
  const includeDirs = (flags.CXX_INCLUDES ?? []).filter((f) => f !== '-isystem').map((f) => f.replace(/^-I/, ''));
  const compileFlags = flags.CXX_FLAGS ?? [];
  const defines = [...(flags.CXX_DEFINES ?? []), ...compileFlags.filter((f) => f.startsWith('-D') && f !== '-DNDEBUG')]
    .map((f) => f.replace(/^-D/, ''));
  const libraryDirs = [...new Set(libraries.filter((l) => l.startsWith('/') && l.includes('.so')).map((l) => dirname(l)))];
  const result = {
    include_dirs: includeDirs,
    defines,
    cflags: compileFlags.filter((f) => !f.startsWith('-D') && !f.startsWith('-O') && !f.startsWith('-std=')),
    libraries: [...libraries, ...libraryDirs.map((d) => `-Wl,-rpath,${d}`)],
  };
  writeFileSync(cache, JSON.stringify(result, null, 2));
  return result;
}

// Splits a command line the way a POSIX shell would for the simple quoting CMake emits.
function splitArgs(text) {
  const args = [];
  const pattern = /(?:[^\s"']+|"(?:\\.|[^"])*"|'[^']*')+/g;
  for (const match of text.trim().matchAll(pattern)) {
    args.push(match[0].replace(/"((?:\\.|[^"])*)"/g, '$1').replace(/'([^']*)'/g, '$1'));
  }
  return args;
}

function main(argv) {
  const [command, field] = argv;
  try {
    const found = discover();
    if (command === 'cmake-dir') {
      process.stdout.write(`${found.torchDir}\n`);
    } else if (command === 'describe') {
      process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
    } else if (command === 'gyp') {
      const flags = probe(found.torchDir);
      if (!(field in flags)) throw new Error(`unknown gyp field "${field}"`);
      // Nothing at all for an empty list: gyp would turn a blank line into an empty flag.
      if (flags[field].length > 0) process.stdout.write(`${flags[field].join('\n')}\n`);
    } else {
      throw new Error(`usage: libtorch.mjs cmake-dir | describe | gyp <include_dirs|defines|cflags|libraries>`);
    }
  } catch (error) {
    if (error instanceof NotFound) {
      process.stderr.write(`edict: ${error.message}\n${HOW_TO_PROVIDE}\n`);
    } else {
      process.stderr.write(`edict: libtorch discovery failed: ${error.message}\n`);
    }
    process.exit(1);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
