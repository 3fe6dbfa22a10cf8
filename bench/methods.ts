/**
 * The exact methods head to head on the bundled model at the paper's settings (50 steps,
 * strength 0.8, guidance 3): seconds and UNet calls per edit (median of --repeats after a
 * warm-up) and the round trip's latent error, for EDICT, BDIA, BELM and DDIM inversion.
 *
 *   npx tsx bench/methods.ts [--repeats 5] [--json bench/out/methods.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';

import { Edict, type Method } from '../src/index.js';
import { caption, render, withAttribute, type Scene } from '../src/scenes/index.js';

const { values: args } = parseArgs({ options: { repeats: { type: 'string', default: '5' }, json: { type: 'string' } } });
const repeats = Number(args.repeats);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const scene: Scene = { background: 'blue', texture: 'striped', colour: 'red', shape: 'circle', size: 20, dx: 0, dy: 0 };
const image = { data: render(scene), width: 32, height: 32, channels: 3 as const };
const source = caption(scene);
const target = caption(withAttribute(scene, 'objectColour', 'yellow'));

const edict = await Edict.load();
const rows: Record<string, { editSeconds: number; unetCalls: number; roundTripMaxAbs: number }> = {};
for (const method of ['edict', 'bdia', 'belm', 'ddim'] as Method[]) {
  await edict.edit(image, { source, target, method });
  const times: number[] = [];
  let unetCalls = 0;
  for (let i = 0; i < repeats; i++) {
    const { timings } = await edict.edit(image, { source, target, method });
    times.push(timings.totalSeconds);
    unetCalls = timings.unetCalls;
  }
  const r = await edict.reconstruct(image, { prompt: source, method: method as 'edict' | 'ddim' | 'bdia' | 'belm' });
  rows[method] = { editSeconds: median(times), unetCalls, roundTripMaxAbs: r.latentMaxAbsError };
  console.log(`${method.padEnd(6)} ${median(times).toFixed(2)} s per edit  ${String(unetCalls).padStart(4)} UNet calls  round trip ${r.latentMaxAbsError.toExponential(2)}`);
}
await edict.dispose();
for (const method of ['bdia', 'belm']) {
  console.log(`${method}: ${(rows[method].unetCalls / rows.edict.unetCalls).toFixed(3)} of EDICT's UNet calls, ${(rows[method].editSeconds / rows.edict.editSeconds).toFixed(3)} of its time`);
}
if (args.json) {
  mkdirSync(dirname(args.json), { recursive: true });
  writeFileSync(args.json, `${JSON.stringify({ date: new Date().toISOString(), repeats, source, target, methods: rows }, null, 2)}\n`);
}
