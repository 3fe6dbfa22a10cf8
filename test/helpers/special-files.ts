// Special files to write to in tests: private device nodes (so that a writer that wrongly
// renames over its target replaces a node of the test's own, not the system's /dev/null), a
// FIFO with a reader, a socket.
import { execFileSync, spawn } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';

/**
 * A character device like /dev/null ("null", 1:3) or /dev/full ("full", 1:7) made in `dir`
 * with mknod (root); without the privilege, the system's own, which a non-root writer cannot
 * replace anyway.
 */
export function charDevice(dir: string, name: 'null' | 'full'): string {
  const path = join(dir, name);
  try {
    execFileSync('mknod', [path, 'c', '1', name === 'null' ? '3' : '7'], { stdio: 'ignore' });
    return path;
  } catch {
    return `/dev/${name}`;
  }
}

/** A block device node in `dir` (loop0's numbers; nothing is ever written to it), or null without mknod. */
export function blockDevice(dir: string, name = 'block'): string | null {
  const path = join(dir, name);
  try {
    execFileSync('mknod', [path, 'b', '7', '0'], { stdio: 'ignore' });
    return path;
  } catch {
    return null;
  }
}

/**
 * A FIFO in `dir` and a `cat` reading it: `received` resolves to all bytes written into it, or
 * rejects after `timeoutMs` (a writer that replaced the FIFO instead leaves the reader waiting:
 * it is killed then).
 */
export function fifoWithReader(dir: string, name = 'fifo', timeoutMs = 20_000): { path: string; received: Promise<Buffer> } {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  const reader = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'inherit'] });
  // A test that fails before writing must not leave the reader waiting on its FIFO.
  process.once('exit', () => reader.kill());
  const chunks: Buffer[] = [];
  reader.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const received = new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => {
      reader.kill();
      reject(new Error(`the FIFO's reader got no end of data within ${timeoutMs} ms`));
    }, timeoutMs);
    reader.on('error', reject);
    reader.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
  // Observed by the test; this keeps an early rejection from being unhandled meanwhile.
  received.catch(() => undefined);
  return { path, received };
}

/** A listening Unix socket in `dir` (close it after the test). */
export async function unixSocket(dir: string, name = 'socket'): Promise<{ path: string; server: Server }> {
  const path = join(dir, name);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, server };
}

/** What kind of file `path` is now (not following a symlink). */
export function kindOf(path: string): string {
  const s = lstatSync(path);
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isCharacterDevice()) return 'char';
  if (s.isBlockDevice()) return 'block';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  if (s.isDirectory()) return 'dir';
  return 'file';
}
