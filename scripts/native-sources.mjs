#!/usr/bin/env node
// Prints the addon's source list (native/sources.txt) for binding.gyp; CMakeLists.txt reads
// the same file, so the list is written once.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = readFileSync(join(root, 'native', 'sources.txt'), 'utf8').split('\n').map((s) => s.trim()).filter(Boolean);
process.stdout.write(`${sources.join('\n')}\n`);
