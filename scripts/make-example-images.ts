/**
 * The input images of the README's, docs/cli.md's and --help's examples (committed under
 * docs/examples/): scenes of the bundled model's domain, so every example edits as shown.
 * Run: npx tsx scripts/make-example-images.ts
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';

import { DEMO_SCENE } from '../src/cli/demo.js';
import { SIZE, caption, render, type Scene } from '../src/scenes/index.js';

const dir = join(import.meta.dirname, '..', 'docs', 'examples');

async function write(scene: Scene, path: string): Promise<void> {
  await sharp(Buffer.from(render(scene)), { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toFile(path);
  console.log(`${path}: ${caption(scene)}`);
}

mkdirSync(join(dir, 'scenes'), { recursive: true });
await write(DEMO_SCENE, join(dir, 'scene.png'));
// A folder for the batch examples: one caption, the object at other sizes and places.
const variants: Partial<Scene>[] = [
  { size: 16, dx: -4, dy: 3 },
  { size: 18, dx: 3, dy: -2 },
  { size: 22, dx: 2, dy: 4 },
];
for (const [i, variant] of variants.entries()) await write({ ...DEMO_SCENE, ...variant }, join(dir, 'scenes', `${i + 1}.png`));
