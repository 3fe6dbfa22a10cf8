// Helpers of the CLI suites (test/cli*.test.ts): the built CLI, run as a real child process.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { repoRoot } from './helpers/fixtures.js';

export const cliPath = join(repoRoot, 'dist', 'cli', 'main.js');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Source files whose dist/ output is missing or older than the source. */
function staleSources(): string[] {
  const src = join(repoRoot, 'src');
  return sources(src).filter((file) => {
    const out = join(repoRoot, 'dist', relative(src, file).replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(file).mtimeMs;
  });
}

/**
 * Builds dist/ with tsc when any source is newer than its output (CI builds it first, in
 * scripts/setup.sh; this covers a developer who edited src/ and ran vitest directly). Suites in
 * parallel workers take a lock so only one runs tsc. Type errors in the CLI fail the suite;
 * type errors elsewhere (another part of the package in progress) only warn, since tsc still
 * writes its output.
 */
export function ensureBuilt(): void {
  if (staleSources().length === 0) return;
  const lock = join(tmpdir(), `edict-cli-build-${Buffer.from(repoRoot).toString('hex').slice(-32)}.lock`);
  const deadline = Date.now() + 240_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another worker is building; a lock older than 5 minutes is stale.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 300_000) rmdirSync(lock);
      } catch {
        // gone meanwhile
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${lock}`);
      execFileSync('sleep', ['0.2']);
    }
  }
  try {
    if (staleSources().length === 0) return;
    try {
      execFileSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
        cwd: repoRoot,
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (error) {
      const output = String((error as { stdout?: string }).stdout ?? '') + String((error as { stderr?: string }).stderr ?? '');
      if (/src\/cli\//.test(output) || !existsSync(cliPath)) throw new Error(`tsc failed:\n${output}`);
      console.warn(`tsc reported errors outside src/cli (the CLI built):\n${output}`);
    }
  } finally {
    rmdirSync(lock);
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `edict ARGS` to the end. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return collect(startCli(args, options));
}

export function startCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn(process.execPath, [cliPath, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The JSON lines of a stream (every line must be JSON). */
export function jsonLines(text: string): Record<string, any>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, any>);
}

/** Resolves when the child's stderr has printed a line that `match` accepts. */
export function waitForStderr(child: ChildProcess, match: (line: string) => boolean, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`no matching stderr line within ${timeoutMs} ms; got:\n${buffer.slice(-2000)}`)), timeoutMs);
    const onData = (chunk: Buffer | string) => {
      buffer += chunk.toString();
      if (buffer.split('\n').some(match)) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    child.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`the CLI exited before the expected output; stderr:\n${buffer.slice(-2000)}`));
    });
  });
}

/** Every file under `dir`, relative, sorted (hidden temporary files included). */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}
