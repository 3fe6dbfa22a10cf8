/**
 * The TypeScript half of the sample-quality check (the detector lives in src/scenes):
 *   prompts <dir>            writes <dir>/prompts.txt and <dir>/labels.json: the held-out
 *                            benchmark scenes' captions and their attributes
 *   score <dir>              reads <dir>/samples.u8 (N x 32 x 32 x 3, one per prompt, as
 *                            written by sample_eval.py) and prints per-attribute match rates
 *   edits <dir> [count]      writes <dir>/edits.json and <dir>/sources.u8: the first `count`
 *                            held-out scenes' four edits (source render, both captions)
 *   judge <dir>              reads <dir>/edited.u8 (one image per edit, from edit_eval.py) and
 *                            prints strict success, background PSNR and fidelity per kind
 *   shapes <dir>             the shape edits of <dir>/edited.u8 taken apart: why the strict
 *                            judge failed them (wrong template, IoU, closer to the old shape)
 *                            and how far the object moved or grew
 * Usage: npx tsx scripts/model/eval_samples.ts prompts .cache/eval
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  EDIT_KINDS,
  SIZE,
  caption,
  changeMask,
  detect,
  diagnoseShapeEdit,
  heldOutCases,
  judgeEdit,
  render,
  summariseShapeEdits,
  type EditKind,
  type Scene,
  type Shape,
} from '../../src/scenes/index.js';

type Labels = Pick<Scene, 'background' | 'texture' | 'colour' | 'shape'>[];

const [mode, dir] = process.argv.slice(2);
if (!dir || !['prompts', 'score', 'edits', 'judge', 'shapes'].includes(mode)) {
  console.error('usage: eval_samples.ts prompts|score|edits|judge|shapes <dir> [count]');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });

/** PSNR (dB, 8-bit) between two RGB images over the pixels where `where` is 1. */
function psnr(a: Uint8Array, b: Uint8Array, where: Uint8Array): number {
  let se = 0;
  let n = 0;
  for (let i = 0; i < SIZE * SIZE; i++) {
    if (!where[i]) continue;
    for (let c = 0; c < 3; c++) se += (a[3 * i + c] - b[3 * i + c]) ** 2;
    n += 3;
  }
  return n === 0 || se === 0 ? 99 : 10 * Math.log10((255 * 255) / (se / n));
}

interface EditCase {
  index: number;
  kind: EditKind;
  value: string;
  source: string;
  target: string;
}

if (mode === 'edits') {
  const count = Number(process.argv[4] ?? 240);
  const list: EditCase[] = [];
  const images: Uint8Array[] = [];
  for (const c of heldOutCases().slice(0, count)) {
    for (const e of c.edits) {
      list.push({ index: c.index, kind: e.kind, value: e.value, source: caption(c.scene), target: caption(e.target) });
      images.push(render(c.scene));
    }
  }
  writeFileSync(join(dir, 'edits.json'), JSON.stringify(list));
  writeFileSync(join(dir, 'sources.u8'), Buffer.concat(images));
  console.log(`wrote ${list.length} edits to ${dir}`);
} else if (mode === 'judge') {
  const list = JSON.parse(readFileSync(join(dir, 'edits.json'), 'utf8')) as EditCase[];
  const data = readFileSync(join(dir, 'edited.u8'));
  const px = SIZE * SIZE * 3;
  const cases = heldOutCases();
  const per: Record<string, { n: number; ok: number; bg: number; fid: number }> = {};
  list.forEach((e, i) => {
    const scene = cases[e.index].scene;
    const target = cases[e.index].edits.find((x) => x.kind === e.kind)!.target;
    const img = new Uint8Array(data.buffer, data.byteOffset + i * px, px);
    const keep = changeMask(scene, e.kind, e.value).map((v) => (v ? 0 : 1));
    const all = new Uint8Array(SIZE * SIZE).fill(1);
    const r = (per[e.kind] ??= { n: 0, ok: 0, bg: 0, fid: 0 });
    r.n++;
    r.ok += judgeEdit(img, scene, e.kind, e.value).success ? 1 : 0;
    r.bg += psnr(img, render(scene), keep);
    r.fid += psnr(img, render(target), all);
  });
  const out = Object.fromEntries(
    EDIT_KINDS.filter((k) => per[k]).map((k) => {
      const r = per[k];
      return [k, { n: r.n, success: +(r.ok / r.n).toFixed(3), backgroundPsnr: +(r.bg / r.n).toFixed(2), fidelityPsnr: +(r.fid / r.n).toFixed(2) }];
    }),
  );
  console.log(JSON.stringify(out));
} else if (mode === 'shapes') {
  const list = JSON.parse(readFileSync(join(dir, 'edits.json'), 'utf8')) as EditCase[];
  const data = readFileSync(join(dir, 'edited.u8'));
  const px = SIZE * SIZE * 3;
  const cases = heldOutCases();
  const rows = list.flatMap((e, i) => {
    if (e.kind !== 'objectShape') return [];
    const img = new Uint8Array(data.buffer, data.byteOffset + i * px, px);
    return [diagnoseShapeEdit(img, cases[e.index].scene, e.value as Shape)];
  });
  console.log(JSON.stringify(summariseShapeEdits(rows)));
} else if (mode === 'prompts') {
  const cases = heldOutCases();
  const labels: Labels = cases.map(({ scene: s }) => ({ background: s.background, texture: s.texture, colour: s.colour, shape: s.shape }));
  writeFileSync(join(dir, 'prompts.txt'), cases.map((c) => caption(c.scene)).join('\n') + '\n');
  writeFileSync(join(dir, 'labels.json'), JSON.stringify(labels));
  console.log(`wrote ${cases.length} held-out prompts to ${dir}`);
} else {
  const labels = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')) as Labels;
  const data = readFileSync(join(dir, 'samples.u8'));
  const px = SIZE * SIZE * 3;
  const n = Math.floor(data.length / px);
  const hits = { colour: 0, shape: 0, background: 0, texture: 0, all: 0 };
  const confusion: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const d = detect(new Uint8Array(data.buffer, data.byteOffset + i * px, px));
    const want = labels[i % labels.length];
    const m = {
      colour: d.colour === want.colour,
      shape: d.shape === want.shape,
      background: d.background === want.background,
      texture: d.texture === want.texture,
    };
    for (const k of ['colour', 'shape', 'background', 'texture'] as const) hits[k] += m[k] ? 1 : 0;
    hits.all += m.colour && m.shape && m.background && m.texture ? 1 : 0;
    if (!m.shape) confusion[`${want.shape}->${d.shape}`] = (confusion[`${want.shape}->${d.shape}`] ?? 0) + 1;
  }
  const rate = Object.fromEntries(Object.entries(hits).map(([k, v]) => [k, +(v / n).toFixed(4)]));
  console.log(JSON.stringify({ samples: n, match: rate, shapeMisses: confusion }));
}
