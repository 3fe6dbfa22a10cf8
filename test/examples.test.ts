// Every example a newcomer copies (README.md, docs/*.md, `edict --help` and each command's
// --help) runs as shown against the bundled model, without warnings, and every edit really
// edits: each image an `edit` or `generate` example writes is read back by the scene detector
// and must show one of the prompts named on its line (a prompt the model cannot read would
// leave the input unchanged). Examples marked as needing an SD model are only listed.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';

import { DEMO_SCENE } from '../src/cli/demo.js';
import { caption, detect } from '../src/scenes/index.js';
import { cliPath, ensureBuilt } from './cli-helpers.js';
import { repoRoot, tempDir } from './helpers/fixtures.js';

const SD_MARK = '# needs an exported SD model';
const COMMANDS = ['edit', 'encode', 'invert', 'generate', 'reconstruct', 'sweep', 'info', 'demo', 'precision'];

/** The `edict ...` lines of a Markdown file's sh blocks. */
function markdownExamples(file: string): string[] {
  const lines: string[] = [];
  let inSh = false;
  for (const line of readFileSync(join(repoRoot, file), 'utf8').split('\n')) {
    if (line.startsWith('```')) inSh = !inSh && line.trim() === '```sh';
    else if (inSh && /^(npx )?edict /.test(line)) lines.push(line.replace(/^npx /, ''));
  }
  return lines;
}

/** The `$ ...` lines after "Examples:" in `edict [command] --help`. */
function helpExamples(command: string | null): string[] {
  const run = spawnSync(process.execPath, [cliPath, ...(command ? [command] : []), '--help'], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  const after = run.stdout.split('\nExamples:\n')[1] ?? '';
  return after
    .split('\n')
    .filter((line) => line.startsWith('  $ '))
    .map((line) => line.slice(4));
}

/** Files under dir (input examples left out) with their modification times. */
function snapshot(dir: string): Map<string, number> {
  const files = new Map<string, number>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) {
        if (path !== join(dir, 'docs')) walk(path);
      } else files.set(relative(dir, path), statSync(path).mtimeMs);
    }
  };
  walk(dir);
  return files;
}

/** The argument after each occurrence of a flag. */
function values(argv: string[], flag: string): string[] {
  return argv.flatMap((arg, i) => (arg === flag && i + 1 < argv.length ? [argv[i + 1]] : []));
}

/** What the scene detector reads in an image, as a caption. */
async function readCaption(path: string): Promise<string> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height], path).toEqual([32, 32]);
  const d = detect(new Uint8Array(data));
  return caption({ ...DEMO_SCENE, background: d.background, texture: d.texture, colour: d.colour ?? DEMO_SCENE.colour, shape: d.shape ?? DEMO_SCENE.shape });
}

/** A working folder holding docs/examples, as the repository root does. */
function workspace(): string {
  const dir = tempDir('edict-examples-');
  mkdirSync(join(dir, 'docs'));
  cpSync(join(repoRoot, 'docs', 'examples'), join(dir, 'docs', 'examples'), { recursive: true });
  return dir;
}

/**
 * Runs one example line with bash (pipes and && as written), `edict` being the built CLI; each
 * `edict` call appends its argv to a log so the checks know which prompts the line named.
 */
async function runLine(line: string, cwd: string): Promise<{ status: number | null; stderr: string; calls: string[][] }> {
  const log = join(cwd, '.argv.jsonl');
  writeFileSync(log, '');
  const record = `process.argv.slice(1)`;
  const preamble =
    `edict() { node -e 'require("fs").appendFileSync(process.env.EDICT_ARGV_LOG, JSON.stringify(${record}) + "\\n")' -- "$@" && ` +
    `node ${JSON.stringify(cliPath)} "$@"; }\n`;
  const child = spawn('bash', ['-o', 'pipefail', '-c', preamble + line], {
    cwd,
    env: { ...process.env, EDICT_ARGV_LOG: log },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 480_000,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const calls = readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);
  return { status, stderr, calls };
}

/** The images an edit or generate call wrote must each show one of its target prompts. */
async function checkEdits(calls: string[][], written: string[], cwd: string): Promise<void> {
  for (const argv of calls) {
    const command = argv.find((arg) => COMMANDS.includes(arg));
    if (command !== 'edit' && command !== 'generate') continue;
    const prompts = command === 'edit' ? values(argv, '--target') : values(argv, '--prompt');
    const images = written.filter((file) => file.endsWith('.png'));
    expect(images.length, `${argv.join(' ')} wrote no image`).toBeGreaterThan(0);
    for (const image of images) expect(prompts, `${image} from: ${argv.join(' ')}`).toContain(await readCaption(join(cwd, image)));
  }
}

const sources: [string, () => string[]][] = [
  ['README.md', () => markdownExamples('README.md')],
  ['docs/cli.md', () => markdownExamples('docs/cli.md')],
  ['edict --help', () => helpExamples(null)],
  ...COMMANDS.map((command): [string, () => string[]] => [`edict ${command} --help`, () => helpExamples(command)]),
];

beforeAll(() => ensureBuilt(), 240_000);

// Concurrent (two at a time: vitest.config.ts maxConcurrency): the time is in the CLI's child
// processes, one intra-op thread each by default.
describe.concurrent.each(sources)('the examples of %s', (_, collect) => {
  it('run as shown with the bundled model, and each edit shows its target', async () => {
    const lines = collect();
    expect(lines.length).toBeGreaterThan(0);
    const cwd = workspace();
    for (const line of lines) {
      if (line.includes(SD_MARK)) continue;
      const before = snapshot(cwd);
      const { status, stderr, calls } = await runLine(line, cwd);
      expect({ line, status, stderr: stderr.slice(-2000) }).toMatchObject({ status: 0 });
      expect(stderr, line).not.toMatch(/does not know/);
      expect(calls.length, line).toBeGreaterThan(0);
      const after = snapshot(cwd);
      const written = [...after].filter(([file, time]) => before.get(file) !== time && file !== '.argv.jsonl').map(([file]) => file);
      if (!line.includes('roundtrip')) await checkEdits(calls, written, cwd);
    }
  }, 1_200_000);
});

describe('the README API example', () => {
  it('runs as shown (tsx, importing the package by name) and writes the first target', async () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const code = readme.split('```ts\n').slice(1).map((block) => block.split('```')[0]).find((block) => block.includes('Edict.load('));
    expect(code).toBeDefined();
    const cwd = workspace();
    mkdirSync(join(cwd, 'node_modules'));
    symlinkSync(repoRoot, join(cwd, 'node_modules', 'edict'), 'dir');
    writeFileSync(join(cwd, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(cwd, 'example.ts'), code!);
    appendFileSync(join(cwd, 'example.ts'), "console.log('warnings', JSON.stringify(warnings));\n");
    const run = spawnSync(join(repoRoot, 'node_modules', '.bin', 'tsx'), ['example.ts'], { cwd, encoding: 'utf8', timeout: 240_000 });
    expect({ status: run.status, stderr: run.stderr.slice(-2000) }).toMatchObject({ status: 0 });
    expect(run.stdout).toContain('warnings []');
    expect(existsSync(join(cwd, 'yellow.png'))).toBe(true);
    expect(await readCaption(join(cwd, 'yellow.png'))).toBe('a yellow circle on a blue striped background');
  }, 300_000);
});
