/**
 * edict demo [-o out/demo.png]
 * The main job in one command: renders an example scene of the bundled model's domain, inverts
 * it with its caption, measures the round trip, and edits it four ways (object colour, object
 * shape, background colour, background texture) with EDICT, DDIM inversion and SDEdit at the
 * paper's settings, one inversion and one batched generation per method. Writes a labelled
 * picture (the ground-truth edit of every target beside the methods' results, scaled up) and
 * prints timings and the measured round-trip errors.
 */
import { type Command, Option } from 'commander';

import { RgbImage } from '../image.js';
import { DEFAULTS } from '../options.js';
import type { Method } from '../pipeline.js';
import { caption, render, withAttribute, type EditKind, type Scene } from '../scenes/index.js';
import { contactSheet } from './contact-sheet.js';
import { withRun } from './context.js';
import { examples } from './options.js';
import { FileBatch } from './output.js';

/** A scene and edits the bundled model handles well enough to show what EDICT does. */
export const DEMO_SCENE: Scene = { background: 'blue', texture: 'striped', colour: 'red', shape: 'circle', size: 20, dx: 0, dy: 0 };
export const DEMO_EDITS: [EditKind, string][] = [
  ['objectColour', 'yellow'],
  ['objectShape', 'square'],
  ['backgroundColour', 'green'],
  ['backgroundTexture', 'plain'],
];

const sceneImage = (scene: Scene) => new RgbImage(render(scene), 32, 32);

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .summary('edit an example scene with the bundled model and write a picture')
    .description(
      'Renders an example scene, reconstructs it (printing the round-trip error) and edits it ' +
        'four ways with EDICT, DDIM inversion and SDEdit, writing a labelled picture with the ' +
        'ground-truth edit of each target. Use the bundled model (the default --model).',
    )
    .addOption(new Option('-o, --output <path>', 'the picture to write').default('out/demo.png'))
    .addOption(new Option('--steps <n>', 'DDIM steps').default(DEFAULTS.steps).argParser(Number))
    .addHelpText('after', examples(['edict demo', 'edict demo -o out/demo.png --json']))
    .action((o: { output: string; steps: number }, cmd: Command) =>
      withRun('demo', cmd, async (run) => {
        const edict = await run.load();
        const source = caption(DEMO_SCENE);
        const targets = DEMO_EDITS.map(([kind, value]) => withAttribute(DEMO_SCENE, kind, value));
        const input = sceneImage(DEMO_SCENE);
        const common = { steps: o.steps, ...run.call() };

        const roundTrip = await edict.reconstruct(input, { prompt: source, ...common });
        const ddimRoundTrip = await edict.reconstruct(input, { prompt: source, method: 'ddim', ...common });
        const rows = [];
        const timings: Record<string, number> = {};
        for (const method of ['edict', 'ddim', 'sdedit'] as Method[]) {
          const result = await edict.edit(input, { source, target: targets.map(caption), method, ...common });
          timings[method] = result.timings.totalSeconds;
          rows.push({ label: [method === 'edict' ? 'EDICT' : method === 'ddim' ? 'DDIM inversion' : 'SDEdit', `${result.timings.totalSeconds.toFixed(1)} s`], images: [null, ...result.images] });
        }
        run.progress.stop();
        const sheet = await contactSheet({
          title: `edict demo: "${source}" (${edict.manifest.name}, ${o.steps} steps, strength ${DEFAULTS.strength}, guidance ${DEFAULTS.guidance}, mix ${DEFAULTS.mix})`,
          columns: ['input / reconstruction', ...targets.map(caption)],
          rows: [
            { label: ['ground truth', '(re-rendered scene)'], images: [input, ...targets.map(sceneImage)] },
            { label: ['EDICT round trip', `max |dz| ${roundTrip.latentMaxAbsError.toExponential(1)}`], images: [roundTrip.image] },
            ...rows,
          ],
          cellSize: 128,
        });
        await FileBatch.write(run.signal, (files) => files.add(o.output, sheet.png));
        run.output.record({
          type: 'result',
          command: 'demo',
          output: o.output,
          model: edict.manifest.name,
          source,
          targets: targets.map(caption),
          edictRoundTrip: { latentMaxAbsError: roundTrip.latentMaxAbsError, latentRmsError: roundTrip.latentRmsError, pixelPsnr: roundTrip.pixelPsnr, vaePsnr: roundTrip.vaePsnr },
          ddimRoundTrip: { latentMaxAbsError: ddimRoundTrip.latentMaxAbsError, pixelPsnr: ddimRoundTrip.pixelPsnr },
          editSeconds: timings,
        });
        run.output.text(
          [
            `source: "${source}"`,
            `EDICT round trip: latent max abs error ${roundTrip.latentMaxAbsError.toExponential(2)} (RMS ${roundTrip.latentRmsError.toExponential(2)}), ` +
              `pixel PSNR ${roundTrip.pixelPsnr.toFixed(1)} dB (the VAE alone: ${roundTrip.vaePsnr.toFixed(1)} dB)`,
            `DDIM inversion round trip: latent max abs error ${ddimRoundTrip.latentMaxAbsError.toExponential(2)}, pixel PSNR ${ddimRoundTrip.pixelPsnr.toFixed(1)} dB`,
            `edits of ${targets.length} targets (one inversion, one batched generation): ` +
              Object.entries(timings).map(([m, s]) => `${m} ${s.toFixed(2)} s`).join(', '),
            `wrote ${o.output}`,
          ].join('\n'),
        );
      }),
    );
}
