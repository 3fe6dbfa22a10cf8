// Helpers of the service suites (test/service*.test.ts): the example scene, prompts the
// bundled model knows, and reading an edited image back with the scene detector.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';

import { DEMO_SCENE } from '../src/cli/demo.js';
import type { ServiceBackend } from '../src/service/backend.js';
import { caption, detect } from '../src/scenes/index.js';
import { repoRoot } from './helpers/fixtures.js';

export const scenePng = readFileSync(join(repoRoot, 'docs', 'examples', 'scene.png'));
export const SOURCE = 'a red circle on a blue striped background';
export const YELLOW = 'a yellow circle on a blue striped background';
export const SQUARE = 'a red square on a blue striped background';

/** What the scene detector reads in a PNG, as a caption. */
export async function captionOf(png: Buffer | ArrayBuffer): Promise<string> {
  const { data, info } = await sharp(Buffer.from(png as ArrayBuffer)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== 32 || info.height !== 32) throw new Error(`expected 32x32, got ${info.width}x${info.height}`);
  const d = detect(new Uint8Array(data));
  return caption({ ...DEMO_SCENE, background: d.background, texture: d.texture, colour: d.colour ?? DEMO_SCENE.colour, shape: d.shape ?? DEMO_SCENE.shape });
}

/** Parses a text/event-stream body into its events. */
export function parseEvents(text: string): { event: string; data: unknown }[] {
  return text
    .split('\n\n')
    .map((block) => block.split('\n').filter((line) => !line.startsWith(':')))
    .filter((lines) => lines.length > 0 && lines[0] !== '')
    .map((lines) => {
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      return { event, data: JSON.parse(data) as unknown };
    });
}

/** Polls `check` every 20 ms until it returns true (or throws after `ms`). */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One sample of a Prometheus text exposition, or undefined. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const got = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(match[4]);
  }
  return undefined;
}

/** The backend seen through a second server: its close() leaves the shared pipeline alone. */
export function sharing(backend: ServiceBackend): ServiceBackend {
  return {
    edit: (...args) => backend.edit(...args),
    invert: (...args) => backend.invert(...args),
    generate: (...args) => backend.generate(...args),
    reconstruct: (...args) => backend.reconstruct(...args),
    ready: () => backend.ready(),
    counters: () => backend.counters(),
    close: async () => undefined,
  };
}
