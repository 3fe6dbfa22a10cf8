/**
 * Edit-quality benchmark of the bundled model, on the fixed held-out scenes of
 * src/scenes (never drawn in training):
 *
 *   1. the detector's own accuracy on ground-truth renders (so its verdicts can be trusted);
 *   2. the model's own quality: fresh samples for held-out captions, how often they show the
 *      prompted object colour, shape, background colour and texture;
 *   3. edits of each kind (object colour, object shape, background colour, background texture)
 *      by EDICT, DDIM inversion, SDEdit, BDIA and BELM at the paper's settings (50 steps,
 *      strength 0.8, guidance 3, mix 0.93; BDIA's gamma 0.96), at strength 0.6 and at guidance
 *      7.5 (and, by name, guidance 2 and 1, and EDICT's mixing weight mixP): strict success;
 *      preservation outside the change mask, beside the autoencoder's own round trip as the
 *      ceiling: PSNR of the kept pixels (`backgroundPsnr`), and PIE-Bench's background PSNR and
 *      SSIM (`pieBackgroundPsnr`, `backgroundSsim`: both images times the inverse mask, then
 *      the whole image; src/metrics.ts); fidelity against the ground-truth edited render (PSNR
 *      and SSIM). No MS-SSIM: its standard five scales need 176 px, the scenes are 32 px;
 *   4. round trips with the source prompt: each inverting method's latent error and pixel
 *      PSNR / SSIM against the autoencoder's round trip.
 *
 *   npx tsx bench/quality.ts [--model DIR] [--cases N] [--batch N] [--json bench/out/quality.json] [--resume]
 *     [--methods edict,ddim,sdedit,bdia,belm] [--settings paper,strength0.6,guidance7.5,guidance2,guidance1,mix0.8]
 *     [--samples N] [--round-trips N]
 *
 * The exact methods head to head (the issue's grid: the paper setting plus guidance 1 and 2):
 *   npx tsx bench/quality.ts --methods bdia,belm --settings paper,guidance2,guidance1 --samples 0 --json bench/out/quality-methods.json
 *
 * With --json the report is rewritten after every finished (setting, method) cell, so a run cut
 * short keeps what it measured; --resume reads that file back and measures only what is missing.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';

import { backgroundPsnr, backgroundSsim, bundledModelDir, Edict, Latents, psnr, RgbImage, ssim, type Method } from '../src/index.js';
import {
  caption,
  changeMask,
  EDIT_KINDS,
  heldOutCases,
  invertMask,
  diagnoseShapeEdit,
  judgeEdit,
  render,
  sampleMatches,
  summariseShapeEdits,
  type EditKind,
  type HeldOutCase,
  type Shape,
  type ShapeEditDiagnosis,
} from '../src/scenes/index.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: bundledModelDir },
    cases: { type: 'string' },
    batch: { type: 'string', default: '8' },
    samples: { type: 'string' },
    'round-trips': { type: 'string', default: '48' },
    settings: { type: 'string', default: 'paper,strength0.6,guidance7.5' },
    methods: { type: 'string', default: 'edict,ddim,sdedit,bdia,belm' },
    json: { type: 'string' },
    resume: { type: 'boolean', default: false },
  },
});

interface Setting {
  name: string;
  steps: number;
  strength: number;
  guidance: number;
  mix: number;
}

const SETTINGS: Record<string, Setting> = {
  paper: { name: 'paper (s 0.8, g 3)', steps: 50, strength: 0.8, guidance: 3, mix: 0.93 },
  'strength0.6': { name: 'strength 0.6 (g 3)', steps: 50, strength: 0.6, guidance: 3, mix: 0.93 },
  'guidance7.5': { name: 'guidance 7.5 (s 0.8)', steps: 50, strength: 0.8, guidance: 7.5, mix: 0.93 },
  // Beyond the issue's three: where the preservation / success trade-off of lower guidance lies.
  guidance2: { name: 'guidance 2 (s 0.8)', steps: 50, strength: 0.8, guidance: 2, mix: 0.93 },
  guidance1: { name: 'guidance 1 (s 0.8)', steps: 50, strength: 0.8, guidance: 1, mix: 0.93 },
};

/** A named setting, or "mixP": the paper's settings with EDICT's mixing weight p = P. */
function setting(key: string): Setting {
  const mix = /^mix(0?\.\d+|1)$/.exec(key);
  if (mix) return { ...SETTINGS.paper, name: `mix ${mix[1]} (s 0.8, g 3)`, mix: Number(mix[1]) };
  if (!SETTINGS[key]) throw new Error(`unknown setting ${key}: ${Object.keys(SETTINGS).join(', ')} or mixP`);
  return SETTINGS[key];
}
const ALL_METHODS: readonly Method[] = ['edict', 'ddim', 'sdedit', 'bdia', 'belm'];
const METHODS = args.methods!.split(',') as Method[];
for (const m of METHODS) if (!ALL_METHODS.includes(m)) throw new Error(`unknown method ${m}: ${ALL_METHODS.join(', ')}`);

const allCases = heldOutCases();
const cases = allCases.slice(0, Number(args.cases ?? allCases.length));
const batch = Number(args.batch);
const sceneImage = (pixels: Uint8Array) => new RgbImage(pixels, 32, 32);
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
const finiteMean = (values: number[]) => mean(values.map((v) => (Number.isFinite(v) ? v : 99)));

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

function log(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** 1. The detector against ground truth. */
function detectorAccuracy() {
  const hits = { colour: 0, shape: 0, background: 0, texture: 0, judge: 0 };
  let scenes = 0;
  let edits = 0;
  for (const c of cases) {
    for (const scene of [c.scene, ...c.edits.map((e) => e.target)]) {
      const m = sampleMatches(render(scene), scene);
      scenes++;
      for (const key of ['colour', 'shape', 'background', 'texture'] as const) hits[key] += m[key] ? 1 : 0;
    }
    for (const e of c.edits) {
      edits++;
      hits.judge += judgeEdit(render(e.target), c.scene, e.kind, e.value).success ? 1 : 0;
    }
  }
  return {
    renders: scenes,
    objectColour: hits.colour / scenes,
    objectShape: hits.shape / scenes,
    backgroundColour: hits.background / scenes,
    backgroundTexture: hits.texture / scenes,
    strictJudgeOnTrueEdits: hits.judge / edits,
  };
}

/** 2. Fresh samples for the held-out captions (DDIM; EDICT's coupled generation as a check). */
async function sampleQuality(edict: Edict, method: 'ddim' | 'edict') {
  const subset = cases.slice(0, Number(args.samples ?? cases.length));
  const hits = { colour: 0, shape: 0, background: 0, texture: 0, all: 0 };
  let n = 0;
  for (const group of chunks(subset, batch * 2)) {
    const result = await edict.sample({ prompt: group.map((c) => caption(c.scene)), steps: 50, guidance: 3, seed: 1000 + group[0].index, method });
    group.forEach((c, i) => {
      const m = sampleMatches(result.images[i].data, c.scene);
      n++;
      hits.colour += m.colour ? 1 : 0;
      hits.shape += m.shape ? 1 : 0;
      hits.background += m.background ? 1 : 0;
      hits.texture += m.texture ? 1 : 0;
      hits.all += m.colour && m.shape && m.background && m.texture ? 1 : 0;
    });
  }
  return {
    samples: n,
    objectColour: hits.colour / n,
    objectShape: hits.shape / n,
    backgroundColour: hits.background / n,
    backgroundTexture: hits.texture / n,
    allFour: hits.all / n,
  };
}

interface CellScores {
  success: number[];
  /** PSNR of the pixels outside the change mask (the mean over those pixels alone). */
  backgroundPsnr: number[];
  ceilingPsnr: number[];
  /** PIE-Bench's convention: both images times the inverse mask, then PSNR / SSIM of the whole image. */
  pieBackgroundPsnr: number[];
  pieCeilingPsnr: number[];
  backgroundSsim: number[];
  ceilingSsim: number[];
  fidelityPsnr: number[];
  fidelitySsim: number[];
}

const emptyScores = (): CellScores => ({
  success: [],
  backgroundPsnr: [],
  ceilingPsnr: [],
  pieBackgroundPsnr: [],
  pieCeilingPsnr: [],
  backgroundSsim: [],
  ceilingSsim: [],
  fidelityPsnr: [],
  fidelitySsim: [],
});

/** 3. Edits: per setting and method, a chunk of cases inverted in one batch, edited in one. */
async function editQuality(edict: Edict, setting: Setting, method: Method, vaeImages: Map<number, RgbImage>) {
  const scores = Object.fromEntries(EDIT_KINDS.map((k) => [k, emptyScores()])) as Record<EditKind, CellScores>;
  const shapes: ShapeEditDiagnosis[] = [];
  const started = performance.now();
  for (const group of chunks(cases, batch)) {
    const inputs = group.map((c) => sceneImage(render(c.scene)));
    const targets = group.flatMap((c) => c.edits.map((e) => caption(e.target)));
    let images: RgbImage[];
    if (method === 'sdedit') {
      // SDEdit has no inversion: one edit call per case, its four targets batched.
      images = [];
      for (const [i, c] of group.entries()) {
        const r = await edict.edit(inputs[i], {
          source: caption(c.scene),
          target: c.edits.map((e) => caption(e.target)),
          method,
          steps: setting.steps,
          strength: setting.strength,
          guidance: setting.guidance,
          seed: c.index,
        });
        images.push(...r.images);
      }
    } else {
      const inverted = await edict.invert(inputs, {
        prompt: group.map((c) => caption(c.scene)),
        method,
        steps: setting.steps,
        strength: setting.strength,
        guidance: setting.guidance,
        mix: setting.mix,
      });
      const repeated = Latents.concat(group.map((_, i) => inverted.item(i).repeat(EDIT_KINDS.length)));
      images = (await edict.generate(repeated, { prompt: targets })).images;
    }
    group.forEach((c, i) => {
      const input = render(c.scene);
      const inputImage = sceneImage(input);
      const vae = vaeImages.get(c.index)!;
      c.edits.forEach((e, k) => {
        const out = images[i * EDIT_KINDS.length + k];
        const edited = changeMask(c.scene, e.kind, e.value);
        const keep = invertMask(edited);
        const truth = sceneImage(render(e.target));
        const s = scores[e.kind];
        s.success.push(judgeEdit(out.data, c.scene, e.kind, e.value).success ? 1 : 0);
        s.backgroundPsnr.push(psnr(out.data, input, keep));
        s.ceilingPsnr.push(psnr(vae.data, input, keep));
        s.pieBackgroundPsnr.push(backgroundPsnr(out, inputImage, edited));
        s.pieCeilingPsnr.push(backgroundPsnr(vae, inputImage, edited));
        s.backgroundSsim.push(backgroundSsim(out, inputImage, edited));
        s.ceilingSsim.push(backgroundSsim(vae, inputImage, edited));
        s.fidelityPsnr.push(psnr(out.data, truth.data));
        s.fidelitySsim.push(ssim(out, truth));
        if (e.kind === 'objectShape') shapes.push(diagnoseShapeEdit(out.data, c.scene, e.value as Shape));
      });
    });
  }
  const seconds = (performance.now() - started) / 1000;
  log(`${setting.name} ${method}: ${seconds.toFixed(0)} s`);
  return {
    seconds,
    kinds: Object.fromEntries(
      EDIT_KINDS.map((k) => [
        k,
        {
          success: mean(scores[k].success),
          backgroundPsnr: finiteMean(scores[k].backgroundPsnr),
          ceilingPsnr: finiteMean(scores[k].ceilingPsnr),
          fidelityPsnr: finiteMean(scores[k].fidelityPsnr),
          pieBackgroundPsnr: finiteMean(scores[k].pieBackgroundPsnr),
          pieCeilingPsnr: finiteMean(scores[k].pieCeilingPsnr),
          backgroundSsim: mean(scores[k].backgroundSsim),
          ceilingSsim: mean(scores[k].ceilingSsim),
          fidelitySsim: mean(scores[k].fidelitySsim),
          n: scores[k].success.length,
        },
      ]),
    ),
    // Why shape edits fail (wrong template, wrong place, still the old outline).
    shapeEdits: summariseShapeEdits(shapes),
  };
}

/**
 * 4. Round trips with the source prompt (same batch layout both ways, as exactness needs), for
 * each selected method that inverts; keys already in `out` (--resume) are kept.
 */
async function roundTrips(edict: Edict, subset: readonly HeldOutCase[], out: Record<string, any>, report: Record<string, unknown>) {
  for (const method of METHODS) {
    if (method === 'sdedit') continue;
    for (const guidance of [3, 7.5]) {
      const key = `${method} g${guidance}`;
      if (out[key]) continue;
      const errors: number[] = [];
      const psnrs: number[] = [];
      const ssims: number[] = [];
      for (const c of subset) {
        const r = await edict.reconstruct(sceneImage(render(c.scene)), { prompt: caption(c.scene), method, guidance });
        errors.push(r.latentMaxAbsError);
        psnrs.push(r.roundTripPsnr);
        ssims.push(ssim(r.image, r.vaeImage));
      }
      out[key] = { maxAbs: Math.max(...errors), meanMaxAbs: mean(errors), meanPixelPsnrVsVae: finiteMean(psnrs), meanSsimVsVae: mean(ssims) };
      log(`round trips ${key}: max ${Math.max(...errors).toExponential(2)}`);
      saveReport(report);
    }
  }
  return out;
}

/** Writes the report so far (atomically: a reader never sees half a file). */
function saveReport(report: Record<string, unknown>): void {
  if (!args.json) return;
  mkdirSync(dirname(args.json), { recursive: true });
  writeFileSync(`${args.json}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${args.json}.tmp`, args.json);
}

/** A previous run's report to continue, when it measured the same model on the same cases. */
function previousReport(model: string): Record<string, any> | undefined {
  if (!args.resume || !args.json || !existsSync(args.json)) return undefined;
  const previous = JSON.parse(readFileSync(args.json, 'utf8'));
  if (previous.model !== model || previous.cases !== cases.length) {
    throw new Error(`${args.json} measured ${previous.model} on ${previous.cases} cases, not ${model} on ${cases.length}`);
  }
  return previous;
}

async function main(): Promise<void> {
  const edict = await Edict.load(args.model!);
  const previous = previousReport(edict.manifest.name);
  const report: Record<string, any> = previous ?? {
    model: edict.manifest.name,
    cases: cases.length,
    date: new Date().toISOString(),
    note: 'PSNRs are means over cases (an identical image counts as 99 dB); success rates are fractions',
  };
  report.detector = detectorAccuracy();
  log(`detector: ${JSON.stringify(report.detector)}`);

  // The autoencoder's own round trip: the ceiling of any preservation score.
  const vaeImages = new Map<number, RgbImage>();
  for (const group of chunks(cases, batch * 4)) {
    const latents = await edict.encodeImage(group.map((c) => sceneImage(render(c.scene))));
    const decoded = await edict.decodeLatents(latents);
    group.forEach((c, i) => vaeImages.set(c.index, decoded[i]));
  }
  report.autoencoderPsnr = finiteMean(cases.map((c) => psnr(vaeImages.get(c.index)!.data, render(c.scene))));

  if (args.samples !== '0') {
    report.samples ??= await sampleQuality(edict, 'ddim');
    log(`samples: ${JSON.stringify(report.samples)}`);
    report.samplesEdict ??= await sampleQuality(edict, 'edict');
    log(`samples by EDICT generation: ${JSON.stringify(report.samplesEdict)}`);
    saveReport(report);
  }

  report.edits ??= {};
  for (const key of args.settings!.split(',')) {
    const chosen = setting(key);
    const methods = (report.edits[chosen.name] ??= {});
    // One method at a time, so each one's wall time is its own.
    for (const method of METHODS) {
      if (methods[method]) continue;
      methods[method] = await editQuality(edict, chosen, method, vaeImages);
      saveReport(report);
    }
  }
  const roundTripCases = cases.slice(0, Number(args['round-trips']));
  if (roundTripCases.length > 0) report.roundTrips = await roundTrips(edict, roundTripCases, (report.roundTrips ??= {}), report);
  saveReport(report);
  await edict.dispose();

  printTables(report);
}

function printTables(report: Record<string, any>): void {
  const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
  console.log(`\nmodel ${report.model}, ${report.cases} held-out scenes, autoencoder PSNR ${report.autoencoderPsnr.toFixed(1)} dB`);
  const d = report.detector;
  console.log(`detector on ground truth: colour ${pct(d.objectColour)}, shape ${pct(d.objectShape)}, background ${pct(d.backgroundColour)}, texture ${pct(d.backgroundTexture)}, strict judge on true edits ${pct(d.strictJudgeOnTrueEdits)}`);
  for (const [label, s] of [['DDIM', report.samples], ['EDICT', report.samplesEdict]]) {
    if (!s) continue;
    console.log(`samples by ${label} (${s.samples}): colour ${pct(s.objectColour)}, shape ${pct(s.objectShape)}, background ${pct(s.backgroundColour)}, texture ${pct(s.backgroundTexture)}, all four ${pct(s.allFour)}`);
  }
  // SSIMs are missing from reports written before they were measured: '-'.
  const fixed = (v: number | undefined, digits: number) => (typeof v === 'number' ? v.toFixed(digits) : '-');
  console.log('\n| setting | method | ' + EDIT_KINDS.map((k) => `${k} success / bg PSNR (ceiling) / fidelity PSNR / bg SSIM (ceiling) / fidelity SSIM`).join(' | ') + ' |');
  console.log('|---|---|' + EDIT_KINDS.map(() => '---').join('|') + '|');
  for (const [setting, methods] of Object.entries(report.edits as Record<string, any>)) {
    for (const [method, r] of Object.entries(methods as Record<string, any>)) {
      const cells = EDIT_KINDS.map((k) => {
        const c = r.kinds[k];
        return `${pct(c.success)} / ${c.backgroundPsnr.toFixed(1)} (${c.ceilingPsnr.toFixed(1)}) / ${c.fidelityPsnr.toFixed(1)} / ${fixed(c.backgroundSsim, 3)} (${fixed(c.ceilingSsim, 3)}) / ${fixed(c.fidelitySsim, 3)}`;
      });
      console.log(`| ${setting} | ${method} | ${cells.join(' | ')} |`);
    }
  }
  console.log('\nshape edits taken apart (shares of all shape edits; see src/scenes/shape-diagnosis.ts):');
  for (const [setting, methods] of Object.entries(report.edits as Record<string, any>)) {
    for (const [method, r] of Object.entries(methods as Record<string, any>)) {
      const d = r.shapeEdits;
      if (!d) continue;
      console.log(`  ${setting} ${method}: success ${pct(d.success)}, right template ${pct(d.templateRight)}, of which in the wrong place ${pct(d.rightShapeWrongPlace)} and closer to the old outline ${pct(d.rightShapeCloserToOld)}; median shift ${d.medianShiftPx.toFixed(1)} px, area ${d.medianAreaRatio.toFixed(2)}x, IoU ${d.medianIouNew.toFixed(2)}`);
      const pairs = Object.entries(d.byPair ?? {}) as [string, any][];
      console.log(`    by edit: ${pairs.map(([p, v]) => `${p} ${pct(v.success)} (shift ${v.medianShiftPx.toFixed(1)} px)`).join(', ')}`);
    }
  }
  if (!report.roundTrips) return;
  console.log('\nround trips (latent max abs error over cases):');
  for (const [k, v] of Object.entries(report.roundTrips as Record<string, any>)) {
    console.log(`  ${k}: max ${v.maxAbs.toExponential(2)}, mean ${v.meanMaxAbs.toExponential(2)}, PSNR vs VAE round trip ${v.meanPixelPsnrVsVae.toFixed(1)} dB, SSIM ${fixed(v.meanSsimVsVae, 4)}`);
  }
}

await main();
