/**
 * Writes the training set for scripts/model: N seeded scenes that are not held out, as
 *   <out>/images.u8     N x 32 x 32 x 3 uint8 (HWC), read by numpy.memmap
 *   <out>/captions.txt  one caption per line
 *   <out>/labels.u8     N x 4 uint8: background colour, texture, object colour, shape indices
 *   <out>/meta.json     count, seed, shapes, vocabulary
 * Usage: npx tsx scripts/model/dump_scenes.ts [--count 256000] [--seed 1] [--out .cache/scenes/train]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CAPTION_WORDS,
  COLOURS,
  SHAPES,
  SIZE,
  TEXTURES,
  caption,
  createRng,
  isHeldOut,
  render,
  sampleScene,
} from '../../src/scenes/index.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '256000' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: '.cache/scenes/train' },
  },
});
const count = Number(values.count);
const seed = Number(values.seed);
const out = values.out!;
mkdirSync(out, { recursive: true });

const rng = createRng(seed);
const pixels = SIZE * SIZE * 3;
const images = new Uint8Array(count * pixels);
const labels = new Uint8Array(count * 4);
const captions: string[] = [];
let skipped = 0;
for (let n = 0; n < count; ) {
  const scene = sampleScene(rng);
  if (isHeldOut(scene)) {
    skipped++;
    continue;
  }
  images.set(render(scene), n * pixels);
  labels.set(
    [COLOURS.indexOf(scene.background), TEXTURES.indexOf(scene.texture), COLOURS.indexOf(scene.colour), SHAPES.indexOf(scene.shape)],
    n * 4,
  );
  captions.push(caption(scene));
  n++;
}
writeFileSync(join(out, 'images.u8'), images);
writeFileSync(join(out, 'labels.u8'), labels);
writeFileSync(join(out, 'captions.txt'), captions.join('\n') + '\n');
writeFileSync(
  join(out, 'meta.json'),
  JSON.stringify({ count, seed, size: SIZE, skippedHeldOut: skipped, colours: COLOURS, textures: TEXTURES, shapes: SHAPES, words: CAPTION_WORDS }, null, 2),
);
console.log(`wrote ${count} scenes to ${out} (skipped ${skipped} held-out draws)`);
