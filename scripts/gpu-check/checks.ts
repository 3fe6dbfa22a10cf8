/**
 * The GPU check kit's checks, run by scripts/gpu-check.sh (which builds the addon and the
 * SD 1.5-sized model first): exactness, determinism, bad input, cancellation and an SD 1.5-sized
 * edit, all on --device. Writes DIR/gpu-check.json after every check (a run cut short still
 * leaves what it found) and DIR/gpu-check.txt at the end; exits 1 when a check failed.
 *
 *   tsx scripts/gpu-check/checks.ts --device cuda --out DIR --sd15 MODEL_DIR
 *     [--size 512] [--steps 50] [--targets 8] [--environment FILE] [--only GROUP,...]
 *
 * A check passes on hard criteria (an exact round trip within its bound, bitwise equality, the
 * right error code, finite output); the SD 1.5 comparisons (float16 against float64, batch 1
 * against batch 8) also report numbers that have no pass mark, since no GPU has run them yet.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { bundledModelDir, Edict, EdictError, gaussianNoise, Latents, loadManifest, psnr, runtimeInfo, type LatentParams, type RawPixels } from '../../src/index.js';
import { PromptTokenizer } from '../../src/prompts.js';
import { maxAbsDiff } from '../../test/helpers/images.js';
import { makeOracle, scaledError, type Scheduler } from '../../test/helpers/oracle.js';

const { values: args } = parseArgs({
  options: {
    device: { type: 'string', default: 'cuda' },
    out: { type: 'string', default: 'gpu-check-out' },
    sd15: { type: 'string' },
    size: { type: 'string', default: '512' },
    steps: { type: 'string', default: '50' },
    targets: { type: 'string', default: '8' },
    environment: { type: 'string' },
    only: { type: 'string' },
  },
});
const device = args.device!;
const onCuda = device.startsWith('cuda');
const size = Number(args.size);
const sdSteps = Number(args.steps);
const targetCount = Number(args.targets);
const only = args.only ? new Set(args.only.split(',')) : null;
const EXACT = 1e-12; // the package's round-trip claim: float64 coupling, same batch layout both ways
const root = join(import.meta.dirname, '..', '..');
const fixtures = join(root, 'test', 'fixtures');

// ---- results -----------------------------------------------------------------------------
interface Check {
  group: string;
  name: string;
  status: 'pass' | 'fail' | 'skip';
  seconds: number;
  detail: string;
  values: Record<string, unknown>;
}
interface Outcome {
  pass: boolean;
  detail: string;
  values?: Record<string, unknown>;
}
class Skip extends Error {}

const checks: Check[] = [];
const started = performance.now();
const environment = args.environment ? JSON.parse(readFileSync(args.environment, 'utf8')) : {};
let runtime: unknown = null;
mkdirSync(args.out!, { recursive: true });

function save(): void {
  const counts = { pass: 0, fail: 0, skip: 0 };
  for (const c of checks) counts[c.status]++;
  const summary = {
    kit: 'edict gpu-check 1',
    date: new Date().toISOString(),
    device,
    options: { size, steps: sdSteps, targets: targetCount, sd15: args.sd15 ?? null },
    environment,
    runtime,
    ...counts,
    ok: counts.fail === 0 && counts.pass > 0,
    totalSeconds: round((performance.now() - started) / 1000, 1),
    checks,
  };
  writeFileSync(join(args.out!, 'gpu-check.json'), `${JSON.stringify(summary, null, 2)}\n`);
}

async function check(group: string, name: string, run: () => Promise<Outcome>): Promise<void> {
  if (only && !only.has(group)) return;
  const t0 = performance.now();
  let result: Omit<Check, 'group' | 'name' | 'seconds'>;
  try {
    const o = await run();
    result = { status: o.pass ? 'pass' : 'fail', detail: o.detail, values: o.values ?? {} };
  } catch (error) {
    if (error instanceof Skip) result = { status: 'skip', detail: error.message, values: {} };
    else {
      const code = error instanceof EdictError ? `${error.code}: ` : '';
      result = { status: 'fail', detail: `threw ${code}${(error as Error)?.message ?? String(error)}`, values: {} };
    }
  }
  const c: Check = { group, name, seconds: round((performance.now() - t0) / 1000, 2), ...result };
  checks.push(c);
  console.log(`${c.status.toUpperCase().padEnd(4)} ${group.padEnd(12)} ${name}  (${c.seconds} s)  ${c.detail}`);
  save();
}

function round(x: number, digits: number): number {
  return Number.isFinite(x) ? Number(x.toFixed(digits)) : x;
}
const sci = (x: number) => (Number.isFinite(x) ? x.toExponential(1) : String(x));

// ---- inputs ------------------------------------------------------------------------------
/** A smooth test picture: gradients, a disc and a bar, at any size. */
function picture(width: number, height: number): RawPixels {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const u = x / width;
      const v = y / height;
      const disc = (u - 0.4) ** 2 + (v - 0.45) ** 2 < 0.06;
      const bar = v > 0.75 && v < 0.85;
      data[i] = disc ? 220 : Math.round(255 * u);
      data[i + 1] = disc ? 50 : bar ? 200 : Math.round(255 * v);
      data[i + 2] = bar ? 30 : 128;
    }
  return { data, width, height, channels: 3 };
}

const bitwise = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && maxAbsDiff(a, b) === 0;
const allFinite = (a: ArrayLike<number>) => {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
};

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    const value = await promise;
    if (value instanceof Edict) await value.dispose();
  } catch (error) {
    return error instanceof EdictError ? error.code : `not an EdictError: ${String(error)}`;
  }
  return 'no error';
}

/** float16 runs on CUDA only (the addon refuses it on CPU with ERR_UNSUPPORTED_DTYPE). */
function dtypesHere(): ('float16' | 'float32' | 'float64')[] {
  return onCuda ? ['float16', 'float32', 'float64'] : ['float32', 'float64'];
}

async function withModel<T>(dir: string, options: Parameters<typeof Edict.load>[1], use: (edict: Edict) => Promise<T>): Promise<T> {
  const edict = await Edict.load(dir, { device, ...options });
  try {
    return await use(edict);
  } finally {
    await edict.dispose();
  }
}

// ---- 1. exactness ------------------------------------------------------------------------
async function exactness(): Promise<void> {
  // The native loops on this device against the independent float64 oracle (closed-form UNet).
  const dir = join(fixtures, 'closed-form');
  const manifest = loadManifest(dir);
  const tokenizer = PromptTokenizer.fromManifest(manifest);
  const ids = (p: string) => Array.from(tokenizer.encode([p]).ids, Number).slice(0, manifest.text.maxLength);
  for (const c of [
    { steps: 10, strength: 0.8, guidance: 3, prompts: ['a red cat', 'a blue dog on the beach', 'a striped horse'] },
    { steps: 7, strength: 1, guidance: 1, prompts: ['a red cat'] },
  ]) {
    await check('exactness', `closed-form float64: EDICT = float64 oracle (${c.steps} steps, strength ${c.strength}, guidance ${c.guidance}, batch ${c.prompts.length})`, () =>
      withModel(dir, { dtype: 'float64' }, async (edict) => {
        const shape: [number, number, number, number] = [c.prompts.length, 3, 8, 8];
        const n = shape.reduce((a, b) => a * b, 1);
        const executed = Math.floor(c.steps * c.strength);
        const oracle = makeOracle({
          scheduler: manifest.scheduler as Scheduler,
          shape,
          items: c.prompts.map((p) => ({ cond: ids(p), uncond: ids(''), guidance: c.guidance, mix: 0.93 })),
          steps: c.steps,
          executed,
          leapfrog: true,
          hiddenSize: manifest.text.hiddenSize,
        });
        const x0 = await gaussianNoise([n], 11);
        const y0 = await gaussianNoise([n], 12);
        const base: LatentParams = {
          model: 'closed-form', stage: 'encoded', method: null, prompts: [], negativePrompts: [], steps: c.steps, strength: 1,
          executed: 0, guidance: [], mix: [], leapfrog: true, imageWidth: 8, imageHeight: 8, seed: null,
        };
        const inverted = await edict.invert(new Latents(x0, y0, shape, base), {
          prompt: c.prompts, method: 'edict', steps: c.steps, strength: c.strength, guidance: c.guidance, mix: 0.93,
        });
        const expectInv = oracle.edictInvert(x0, y0);
        const generated = await edict.generate(inverted, { prompt: c.prompts });
        const expectGen = oracle.edictGenerate(inverted.x, inverted.y);
        const errors = {
          invert: Math.max(scaledError(inverted.x, expectInv.x), scaledError(inverted.y, expectInv.y)),
          generate: Math.max(scaledError(generated.latents.x, expectGen.x), scaledError(generated.latents.y, expectGen.y)),
        };
        const worst = Math.max(errors.invert, errors.generate);
        return { pass: worst <= EXACT, detail: `scaled error ${sci(worst)} (bound ${sci(EXACT)})`, values: errors };
      }),
    );
  }

  // Round trips: invert, then generate with the same prompt, back to the start latent.
  const tinyImage = picture(32, 32);
  for (const dtype of dtypesHere())
    for (const method of ['edict', 'bdia', 'belm'] as const)
      for (const steps of [7, 10]) {
        await check('exactness', `tiny fixture, ${dtype} UNet: ${method} round trip, ${steps} steps`, () =>
          withModel(join(fixtures, 'tiny'), { dtype }, async (edict) => {
            const r = await edict.reconstruct(tinyImage, { prompt: 'a red square', steps, method });
            return {
              pass: r.latentMaxAbsError <= EXACT,
              detail: `latent max abs error ${sci(r.latentMaxAbsError)}`,
              values: { latentMaxAbsError: r.latentMaxAbsError, unetCalls: r.timings.unetCalls },
            };
          }),
        );
      }
  if (!onCuda) await check('exactness', 'tiny fixture, float16 UNet', async () => { throw new Skip('float16 runs on CUDA only'); });

  const sdImage = picture(64, 64);
  for (const dtype of dtypesHere())
    for (const steps of [7, 10]) {
      await check('exactness', `SD-shaped fixture at 64x64, ${dtype} UNet: EDICT round trip, ${steps} steps`, () =>
        withModel(join(fixtures, 'sd-shaped'), { dtype }, async (edict) => {
          const r = await edict.reconstruct(sdImage, { prompt: 'a photo of a cat', steps, size: { width: 64, height: 64 } });
          return { pass: r.latentMaxAbsError <= EXACT, detail: `latent max abs error ${sci(r.latentMaxAbsError)}`, values: { latentMaxAbsError: r.latentMaxAbsError } };
        }),
      );
    }
}

// ---- 2. determinism ----------------------------------------------------------------------
async function determinism(): Promise<void> {
  const image = picture(32, 32);
  const models = [
    { name: 'tiny fixture', dir: join(fixtures, 'tiny'), source: 'a red square', target: 'a blue circle' },
    { name: 'bundled model', dir: bundledModelDir, source: 'a red circle on a blue background', target: 'a green circle on a blue background' },
  ];
  for (const m of models)
    for (const dtype of onCuda ? (['float16', 'float32'] as const) : (['float32'] as const)) {
      await check('determinism', `${m.name}, ${dtype} UNet: the same edit twice, and in a second pipeline, bitwise`, async () => {
        const options = { source: m.source, target: m.target, steps: 20 };
        const [a, b] = await withModel(m.dir, { dtype }, async (edict) => [await edict.edit(image, options), await edict.edit(image, options)]);
        const c = await withModel(m.dir, { dtype }, (edict) => edict.edit(image, options));
        const same = bitwise(a.latents.x, b.latents.x) && bitwise(a.latents.x, c.latents.x) && bitwise(a.images[0].data, b.images[0].data) && bitwise(a.images[0].data, c.images[0].data);
        return {
          pass: same,
          detail: same ? 'bitwise equal' : `differ: latents ${sci(maxAbsDiff(a.latents.x, b.latents.x))} (same pipeline), ${sci(maxAbsDiff(a.latents.x, c.latents.x))} (new pipeline)`,
        };
      });
    }
}

// ---- 3. bad input --------------------------------------------------------------------------
async function badInput(): Promise<void> {
  const image = picture(32, 32);
  const tiny = join(fixtures, 'tiny');
  const good = { source: 'a red square', target: 'a blue circle', steps: 10 };
  await check('bad-input', 'typed errors on this device, and the pipeline unharmed after them', () =>
    withModel(tiny, {}, async (edict) => {
      const reference = await edict.edit(image, good);
      const other = await withModel(join(fixtures, 'closed-form'), { dtype: 'float64' }, (e) => e.encodeImage(picture(8, 8)));
      // Thunks, so each call starts when its turn comes (no rejection waits unhandled).
      const cases: [string, () => Promise<unknown>, string][] = [
        ['corrupt PNG bytes', () => edict.edit(Buffer.from('\x89PNG\r\n\x1a\nnot really'), good), 'ERR_IMAGE_DECODE'],
        ['steps 0', () => edict.edit(image, { ...good, steps: 0 }), 'ERR_INVALID_OPTION'],
        ['NaN guidance', () => edict.edit(image, { ...good, guidance: Number.NaN }), 'ERR_INVALID_OPTION'],
        ['empty target', () => edict.edit(image, { ...good, target: '' }), 'ERR_PROMPT'],
        ['a size not a multiple of 8', () => edict.edit(image, { ...good, size: { width: 30, height: 32 } }), 'ERR_IMAGE_SIZE'],
        ['latents of another model', () => edict.generate(other, { prompt: 'a cat' }), 'ERR_MODEL_MISMATCH'],
        [onCuda ? 'device cuda:99' : 'device cuda without CUDA', () => Edict.load(tiny, { device: onCuda ? 'cuda:99' : 'cuda' }), onCuda ? 'ERR_UNKNOWN_DEVICE' : 'ERR_CUDA_UNAVAILABLE'],
      ];
      const got: Record<string, string> = {};
      const wrong: string[] = [];
      for (const [name, call, code] of cases) {
        got[name] = await codeOf(call());
        if (got[name] !== code) wrong.push(`${name}: ${got[name]}, expected ${code}`);
      }
      // Errors raised inside the device's loop: float32 state overflowing (mix 0.5 expands ~4x a step).
      const f32 = await withModel(tiny, { stateDtype: 'float32' }, (e) => codeOf(e.invert(image, { prompt: 'a cat', steps: 100, strength: 1, mix: 0.5 })));
      got['float32 state overflow'] = f32;
      if (f32 !== 'ERR_NONFINITE') wrong.push(`float32 state overflow: ${f32}, expected ERR_NONFINITE`);
      const after = await edict.edit(image, good);
      const unharmed = bitwise(after.latents.x, reference.latents.x);
      if (!unharmed) wrong.push(`the edit after the errors differs by ${sci(maxAbsDiff(after.latents.x, reference.latents.x))}`);
      return { pass: wrong.length === 0, detail: wrong.length ? wrong.join('; ') : `${cases.length + 1} codes right, the next edit bitwise the same`, values: got };
    }),
  );
  await check('bad-input', 'a component returning the wrong shape on this device: ERR_COMPONENT_OUTPUT', async () => {
    const dir = join(args.out!, 'broken-model');
    mkdirSync(dir, { recursive: true });
    for (const f of ['text_encoder.pt', 'unet.pt', 'vae_encoder.pt', 'vae_decoder.pt', 'tokenizer.json']) writeFileSync(join(dir, f), readFileSync(join(tiny, f)));
    const m = JSON.parse(readFileSync(join(tiny, 'model.json'), 'utf8'));
    m.text.hiddenSize = 64; // the encoder returns 32
    writeFileSync(join(dir, 'model.json'), JSON.stringify(m));
    const code = await withModel(dir, {}, (e) => codeOf(e.edit(image, good)));
    return { pass: code === 'ERR_COMPONENT_OUTPUT', detail: code };
  });
}

// ---- 4. cancellation -------------------------------------------------------------------------
async function cancellation(): Promise<void> {
  const image = picture(32, 32);
  const tiny = join(fixtures, 'tiny');
  const good = { source: 'a red square', target: 'a blue circle', steps: 10 };
  await check('cancellation', 'abort mid-loop, a queued call, a timeout; the pipeline unharmed', () =>
    withModel(tiny, { batching: { policy: 'serial' } }, async (edict) => {
      const reference = await edict.edit(image, good);
      const wrong: string[] = [];
      const values: Record<string, unknown> = {};

      const controller = new AbortController();
      let seen = 0;
      const running = edict.edit(image, {
        ...good, steps: 400, strength: 1, signal: controller.signal,
        onProgress: (p) => { if (p.phase === 'invert' && ++seen === 3) controller.abort(); },
      });
      // Queued behind it (serial policy): cancelled before it starts.
      const queuedController = new AbortController();
      const queued = edict.edit(image, { ...good, signal: queuedController.signal });
      const t0 = performance.now();
      queuedController.abort();
      values.queued = await codeOf(queued);
      values.queuedRejectMs = round(performance.now() - t0, 1);
      values.running = await codeOf(running);
      values.stepsBeforeAbort = seen;
      if (values.queued !== 'ERR_CANCELLED') wrong.push(`queued call: ${values.queued}`);
      if (values.running !== 'ERR_CANCELLED') wrong.push(`running call: ${values.running}`);
      if (seen > 10) wrong.push(`the abort landed ${seen - 3} steps late`);

      values.timeout = await codeOf(edict.edit(image, { ...good, steps: 400, strength: 1, timeoutMs: 30 }));
      if (values.timeout !== 'ERR_TIMEOUT') wrong.push(`timeout: ${values.timeout}`);

      const after = await edict.edit(image, good);
      if (!bitwise(after.latents.x, reference.latents.x)) wrong.push('the edit after them differs');
      return { pass: wrong.length === 0, detail: wrong.length ? wrong.join('; ') : `cancelled at step ${seen}, queued call rejected in ${values.queuedRejectMs} ms, ERR_TIMEOUT, next edit bitwise the same`, values };
    }),
  );
}

// ---- 5. SD 1.5-sized UNet ------------------------------------------------------------------
async function sd15(): Promise<void> {
  const dir = args.sd15;
  const skip = async () => { throw new Skip('no --sd15 model folder (scripts/gpu-check/make_sd15_model.py)'); };
  if (!dir) return check('sd15', 'SD 1.5-sized UNet', skip);
  const image = picture(size, size);
  const source = 'a photo of a cat';
  const targets = ['a photo of a dog', 'a photo of a fox', 'a painting of a cat', 'a photo of a cat at night', 'a photo of a red cat', 'a sketch of a cat', 'a photo of a cat in snow', 'a photo of a tiger'].slice(0, targetCount);
  const editOptions = { source, target: targets[0], steps: sdSteps, size: { width: size, height: size } };
  // float16 is the CUDA dtype; on CPU (the kit's own test) float32 stands in for it.
  const low = onCuda ? 'float16' : 'float32';
  const perCall = (t: { invertSeconds: number; generateSeconds: number; unetCalls: number }) => (t.invertSeconds + t.generateSeconds) / t.unetCalls;
  let lowEdit: Awaited<ReturnType<Edict['edit']>> | null = null;

  await check('sd15', `${low} UNet, float64 coupling: edit at ${size}x${size}, ${sdSteps} steps; again bitwise; round trip`, () =>
    withModel(dir, { dtype: low }, async (edict) => {
      await edict.edit(image, { ...editOptions, steps: 2 }); // warm-up: first-call kernel selection and allocations
      const a = await edict.edit(image, editOptions);
      const b = await edict.edit(image, editOptions);
      const r = await edict.reconstruct(image, { prompt: source, steps: sdSteps, size: editOptions.size });
      lowEdit = a;
      const finite = allFinite(a.latents.x);
      const same = bitwise(a.latents.x, b.latents.x) && bitwise(a.images[0].data, b.images[0].data);
      const values = {
        editSeconds: a.timings.totalSeconds, secondsPerUnetCall: perCall(a.timings), unetCalls: a.timings.unetCalls,
        roundTripError: r.latentMaxAbsError, reconstructSeconds: r.timings.totalSeconds, bitwiseRepeat: same,
      };
      const pass = finite && same && r.latentMaxAbsError <= EXACT;
      return { pass, detail: `${round(a.timings.totalSeconds, 2)} s per edit, ${round(perCall(a.timings) * 1000, 1)} ms per UNet call, round trip ${sci(r.latentMaxAbsError)}, repeat ${same ? 'bitwise' : 'DIFFERS'}${finite ? '' : ', NON-FINITE'}`, values };
    }),
  );

  // A float64 UNet does not absorb the ~1e-16 differences between inversion's and generation's
  // points the way a cast to float32 / float16 does: they reach eps scaled by the UNet's
  // sensitivity, which for a large random UNet is large (on CPU at width 32: 5e-12 to 2e-11 at
  // 5 to 40 steps, against 1e-15 with a float32 UNet). So its round trip is reported, and the
  // pass mark is a finite, bitwise-repeatable edit.
  await check('sd15', `float64 UNet (the official code's way): the same edit, again bitwise; round trip; against ${low}`, () =>
    withModel(dir, { dtype: 'float64' }, async (edict) => {
      const a = await edict.edit(image, editOptions);
      const again = await edict.edit(image, editOptions);
      const same = bitwise(a.latents.x, again.latents.x);
      const r = await edict.reconstruct(image, { prompt: source, steps: sdSteps, size: editOptions.size });
      const values: Record<string, unknown> = {
        editSeconds: a.timings.totalSeconds, secondsPerUnetCall: perCall(a.timings), roundTripError: r.latentMaxAbsError, bitwiseRepeat: same,
      };
      let against = '';
      if (lowEdit) {
        const l = lowEdit as Awaited<ReturnType<Edict['edit']>>;
        values[`latentMaxAbsDiffTo_${low}`] = maxAbsDiff(a.latents.x, l.latents.x);
        values[`psnrTo_${low}`] = psnr(a.images[0], l.images[0]);
        against = `, ${low} edit within ${sci(values[`latentMaxAbsDiffTo_${low}`] as number)} in latents, ${round(values[`psnrTo_${low}`] as number, 1)} dB`;
      }
      const pass = allFinite(a.latents.x) && same && Number.isFinite(r.latentMaxAbsError);
      return { pass, detail: `${round(a.timings.totalSeconds, 2)} s per edit, ${round(perCall(a.timings) * 1000, 1)} ms per UNet call, repeat ${same ? 'bitwise' : 'DIFFERS'}, round trip ${sci(r.latentMaxAbsError)} (reported)${against}`, values };
    }),
  );

  await check('sd15', `${low} UNet: ${targets.length} targets in one call against one at a time`, () =>
    withModel(dir, { dtype: low }, async (edict) => {
      await edict.edit(image, { ...editOptions, target: targets, steps: 2 }); // warm-up at the batch size
      const batched = await edict.edit(image, { ...editOptions, target: targets });
      const singles = [];
      for (const target of targets) singles.push(await edict.edit(image, { ...editOptions, target }));
      const singleSeconds = singles.reduce((s, r) => s + r.timings.totalSeconds, 0);
      const n = batched.latents.x.length / targets.length;
      let latentDiff = 0;
      let minPsnr = Infinity;
      singles.forEach((s, i) => {
        latentDiff = Math.max(latentDiff, maxAbsDiff(batched.latents.x.subarray(i * n, (i + 1) * n), s.latents.x));
        minPsnr = Math.min(minPsnr, psnr(batched.images[i], s.images[0]));
      });
      const values = {
        batchedSeconds: batched.timings.totalSeconds, singleSeconds, speedup: singleSeconds / batched.timings.totalSeconds,
        secondsPerUnetCallBatched: perCall(batched.timings), latentMaxAbsDiff: latentDiff, minPsnr,
      };
      const pass = batched.images.length === targets.length && allFinite(batched.latents.x);
      return { pass, detail: `${round(batched.timings.totalSeconds, 2)} s batched vs ${round(singleSeconds, 2)} s one at a time (${round(values.speedup, 2)}x); batched = alone within ${sci(latentDiff)} in latents, >= ${round(minPsnr, 1)} dB`, values };
    }),
  );
}

// ---- run -----------------------------------------------------------------------------------
const groups: [string, () => Promise<void>][] = [
  ['runtime', async () => {
    await check('runtime', `the addon sees device ${device}`, async () => {
      const info = await runtimeInfo();
      runtime = info;
      const ok = onCuda ? info.cuda && info.cudaDevices > 0 : true;
      return { pass: ok, detail: `libtorch ${info.libtorch}, CUDA ${info.cuda ? `yes (${info.cudaDevices} device(s))` : 'no'}, ${cpus().length} cores`, values: { ...info } };
    });
  }],
  ['exactness', exactness],
  ['determinism', determinism],
  ['bad-input', badInput],
  ['cancellation', cancellation],
  ['sd15', sd15],
];
for (const [, run] of groups) await run();

// The text table.
const lines = [`edict GPU check on ${device}: ${checks.filter((c) => c.status === 'pass').length} passed, ${checks.filter((c) => c.status === 'fail').length} failed, ${checks.filter((c) => c.status === 'skip').length} skipped, ${round((performance.now() - started) / 1000, 1)} s`];
for (const [k, v] of Object.entries(environment)) lines.push(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
lines.push('');
for (const c of checks) lines.push(`${c.status.toUpperCase().padEnd(4)}  ${c.group.padEnd(12)}  ${String(c.seconds).padStart(7)} s  ${c.name}: ${c.detail}`);
writeFileSync(join(args.out!, 'gpu-check.txt'), `${lines.join('\n')}\n`);
save();
console.log(`\n${lines.join('\n')}`);
process.exit(checks.some((c) => c.status === 'fail') ? 1 : 0);
