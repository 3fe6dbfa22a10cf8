/**
 * What breaks a float32 round trip: the conditions under which a float32 UNet computes an item
 * differently in inversion and generation. Bundled model, paper settings, a rendered scene.
 * Prints a table; --json FILE writes every number.
 *
 *   npx tsx bench/exactness.ts [--json bench/out/exactness.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';

import { Edict, type Latents } from '../src/index.js';
import { caption, render, sampleScenes } from '../src/scenes/index.js';

const { values: args } = parseArgs({ options: { json: { type: 'string' } } });

const maxAbs = (a: Float64Array, b: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

const scenes = sampleScenes(7, 3);
const images = scenes.map((s) => ({ data: render(s), width: 32, height: 32, channels: 3 as const }));
const prompt = caption(scenes[0]);
const byThreads = { 1: await Edict.load(undefined, { threads: 1 }), 2: await Edict.load(undefined, { threads: 2 }) };
const one = byThreads[1];

const report: Record<string, number> = {};
const encoded = await one.encodeImage(images[0]);
report.vaeEncode1vs2ThreadsMaxAbs = maxAbs(encoded.x, (await byThreads[2].encodeImage(images[0])).x);
report.vaeEncodeBatch1vs3MaxAbs = maxAbs(encoded.x, (await one.encodeImage(images)).item(0).x);

const roundTrip = async (invertWith: Edict, generateWith: Edict, start: Latents, batchOf = 1) => {
  const inverted = await invertWith.invert(start, { prompt });
  const generated = await generateWith.generate(batchOf === 1 ? inverted : inverted.repeat(batchOf), { prompt });
  const item = generated.latents.item(0);
  return Math.max(maxAbs(item.x, start.x), maxAbs(item.y, start.x));
};
for (const [inv, gen] of [[1, 1], [2, 2], [2, 1], [1, 2]] as const) {
  report[`roundTripThreads${inv}to${gen}MaxAbs`] = await roundTrip(byThreads[inv], byThreads[gen], encoded);
}
report.roundTripBatch1to3MaxAbs = await roundTrip(one, one, encoded, 3);

// The step scheduler: the item inverted while two other calls (other scenes) share its UNet
// calls, then regenerated alone; and the same with isolate, which keeps it out of their batch.
const sharedRoundTrip = async (isolate: boolean) => {
  const others = await Promise.all(images.slice(1).map((image) => one.encodeImage(image)));
  const [inverted] = await Promise.all([
    one.invert(encoded, { prompt, isolate }),
    ...others.map((o, i) => one.invert(o, { prompt: caption(scenes[i + 1]) })),
  ]);
  const item = (await one.generate(inverted, { prompt, isolate })).latents;
  return Math.max(maxAbs(item.x, encoded.x), maxAbs(item.y, encoded.x));
};
report.roundTripInvertedInSharedBatchMaxAbs = await sharedRoundTrip(false);
report.roundTripInvertedIsolatedBesideOthersMaxAbs = await sharedRoundTrip(true);
const f64 = await Edict.load(undefined, { dtype: 'float64', threads: 2 });
const f64one = await Edict.load(undefined, { dtype: 'float64', threads: 1 });
const encoded64 = await f64.encodeImage(images[0]);
report.float64UnetRoundTripThreads2to1MaxAbs = await roundTrip(f64, f64one, encoded64);
report.float64UnetRoundTripBatch1to3MaxAbs = await roundTrip(f64, f64, encoded64, 3);
await Promise.all([one.dispose(), byThreads[2].dispose(), f64.dispose(), f64one.dispose()]);

const width = Math.max(...Object.keys(report).map((k) => k.length));
for (const [k, v] of Object.entries(report)) console.log(`${k.padEnd(width)}  ${v.toExponential(2)}`);
if (args.json) {
  mkdirSync(dirname(args.json), { recursive: true });
  writeFileSync(args.json, `${JSON.stringify({ date: new Date().toISOString(), prompt, ...report }, null, 2)}\n`);
}
