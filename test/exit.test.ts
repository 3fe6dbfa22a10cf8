// Exiting while a native job runs: the process must end with the code it asked for, never by
// SIGSEGV (the compute thread inside libtorch while C++ static destructors run). Each mode
// runs in its own child process, in the middle of a long inversion on the bundled model.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { collect, ensureBuilt, startCli, waitForStderr } from './cli-helpers.js';
import { repoRoot, tempDir } from './helpers/fixtures.js';
import { scenePng } from './helpers/images.js';

let image: string;

beforeAll(async () => {
  ensureBuilt();
  image = join(tempDir('edict-exit-'), 'scene.png');
  writeFileSync(image, await scenePng());
});

/** A child that starts an edit and, at invert step 3, leaves by `mode`. */
function childScript(mode: string): string {
  const index = JSON.stringify(join(repoRoot, 'dist', 'index.js'));
  return `
    import { Edict } from ${index};
    const mode = ${JSON.stringify(mode)};
    const edict = await Edict.load();
    let fired = false;
    const leave = () => {
      if (fired) return;
      fired = true;
      console.log('leaving');
      if (mode === 'exit') setImmediate(() => process.exit(3));
      if (mode === 'throw') setImmediate(() => { throw new Error('boom'); });
      if (mode === 'reject') setImmediate(() => Promise.reject(new Error('boom')));
      if (mode === 'exit-in-progress') process.exit(4);
    };
    edict
      .edit(${JSON.stringify(image)}, {
        source: 'a red circle', target: 'a blue circle', steps: 999, strength: 1,
        onProgress: (e) => { if (e.phase === 'invert' && e.step >= 3) leave(); },
      })
      .then(() => console.log('finished (too early)'), (e) => console.log('rejected', e.code));
  `;
}

function runChild(mode: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', childScript(mode)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.on('close', (code, signal) => resolve({ code, signal, stdout }));
  });
}

describe('exit while a native job runs', () => {
  it.each<[string, number]>([
    ['exit', 3],
    ['throw', 1],
    ['reject', 1],
    ['exit-in-progress', 4],
  ])('%s: exits with its code %i, no signal', async (mode, code) => {
    const result = await runChild(mode);
    expect(result.stdout).toContain('leaving'); // it left mid-loop, not after the edit
    expect(result.stdout).not.toContain('finished');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(code);
  });

  it('the CLI: a second Ctrl-C during a UNet call exits 130', async () => {
    const child = startCli(['--progress', 'json', 'edit', image, '--source', 'a red circle', '--target', 'a blue circle', '--steps', '999', '--strength', '1', '-o', join(tempDir(), 'x.png')]);
    const done = collect(child);
    await waitForStderr(child, (line) => line.includes('"phase":"invert"') && /"step":[3-9]/.test(line));
    child.kill('SIGINT');
    child.kill('SIGINT');
    const result = await done;
    expect(result.signal).toBeNull();
    expect(result.code).toBe(130);
  });
});

