/**
 * edict edit IMAGE --source "..." --target "..." [--target ...] -o OUT
 * One inversion with the source prompt, one batched generation over the targets, one output
 * file per target (named by outputPaths: OUT, or OUT-1, OUT-2, ..., or a {i}/{target} pattern).
 */
import { type Command, Option } from 'commander';

import type { EditResult } from '../pipeline.js';
import { withRun } from './context.js';
import { pixelDistance } from './metrics.js';
import {
  addImageOptions,
  addSamplingOptions,
  checkImageOutput,
  checkSchedule,
  collectPrompt,
  examples,
  promptArg,
  samplingOptions,
  type ImageValues,
  type SamplingValues,
} from './options.js';
import { FileBatch, outputPaths, stageImages, withSuffix } from './output.js';
import { UsageError } from './errors.js';

interface EditValues extends SamplingValues, ImageValues {
  source: string;
  target: string[];
  output: string;
  both?: boolean;
  latentsOut?: string;
  invertedOut?: string;
}

export function registerEdit(program: Command): void {
  const command = program
    .command('edit')
    .summary('edit an image: invert with the source prompt, regenerate with each target')
    .description(
      'Edits IMAGE by EDICT: inverts it exactly with --source (a prompt that describes it), then ' +
        'regenerates with each --target. Several targets share one inversion and run as one batch; ' +
        'each is written to its own file (see Output naming).',
    )
    .argument('<image>', 'the input image (PNG, JPEG, WebP, TIFF, ...)')
    .addOption(new Option('--source <prompt>', 'a prompt that describes the input').argParser(promptArg).makeOptionMandatory())
    .addOption(new Option('--target <prompt>', 'a prompt for the result (repeatable)').argParser(collectPrompt).makeOptionMandatory())
    .addOption(new Option('-o, --output <path>', 'output image, or a pattern with {i} / {target}').makeOptionMandatory());
  addSamplingOptions(command, ['edict', 'ddim', 'sdedit', 'bdia', 'belm']);
  addImageOptions(command);
  command
    .option('--both', 'EDICT: also write the decoded y latent of each pair (OUT-y.png)')
    .option('--latents-out <file>', 'also save the generated latents (.safetensors, one batch)')
    .option('--inverted-out <file>', 'also save the inverted latents (.safetensors), reusable with "edict generate"')
    .addHelpText(
      'after',
      examples(
        [
          'edict edit docs/examples/scene.png --source "a red circle on a blue striped background" --target "a yellow circle on a blue striped background" -o out/yellow.png',
          'edict edit docs/examples/scene.png --source "a red circle on a blue striped background" --target "a yellow circle on a blue striped background" --target "a red square on a blue striped background" -o "out/{i}-{target}.png"',
          'edict edit docs/examples/scene.png --source "a red circle on a blue striped background" --target "a yellow circle on a blue striped background" --steps 50 --strength 0.6 --guidance 5 --mix 0.9 -o out/yellow.png',
          'edict edit docs/examples/scene.png --source "a red circle on a blue striped background" --target "a yellow circle on a blue striped background" --method sdedit --seed 7 -o out/yellow-sdedit.png',
          'edict edit docs/examples/scene.png --source "a red circle on a blue striped background" --target "a yellow circle on a blue striped background" --json -o out/yellow.png | jq .psnrToInput',
        ],
        [
          'Output naming:',
          '  one target        OUT itself',
          '  several targets   OUT with -1, -2, ... before the extension (out.png: out-1.png, out-2.png)',
          '  a pattern         {i} is the 1-based target index, {target} the target as a file name',
          '                    ("out/{i}-{target}.png": out/1-a-yellow-circle-on-a-blue-striped-background.png, ...)',
          '  --both            the y image of each pair next to it, with a -y suffix (out-1-y.png)',
          'The extension picks the format: .png (lossless), .jpg, .webp, .tif.',
        ],
      ),
    )
    .action((image: string, o: EditValues, cmd: Command) =>
      withRun('edit', cmd, async (run) => {
        checkImageOutput('--output', o.output);
        const executed = checkSchedule(o.steps, o.strength);
        if (o.method === 'sdedit' && o.invertedOut) throw new UsageError('--inverted-out needs an inversion: SDEdit (--method sdedit) does not invert');
        const paths = outputPaths(o.output, o.target);
        const edict = await run.load(o.size);
        const result: EditResult = await edict.edit(image, {
          ...samplingOptions(o),
          method: o.method,
          source: o.source,
          target: o.target,
          size: o.size,
          seed: o.seed,
          sample: o.sample ?? false,
          both: o.both ?? false,
          ...run.call(),
        });
        run.progress.stop();

        const pathsY = result.imagesY ? paths.map((p) => withSuffix(p, '-y')) : undefined;
        await FileBatch.write(run.signal, async (files) => {
          await stageImages(files, paths, result.images, pathsY, result.imagesY);
          if (o.latentsOut) await files.add(o.latentsOut, result.latents.toSafeTensors());
          if (o.invertedOut && result.inverted) await files.add(o.invertedOut, result.inverted.toSafeTensors());
        });

        const { params } = result.latents;
        for (const [i, path] of paths.entries()) {
          const distance = pixelDistance(result.images[i], result.input);
          run.output.record({
            type: 'result',
            command: 'edit',
            index: i + 1,
            input: image,
            output: path,
            ...(pathsY ? { outputY: pathsY[i] } : {}),
            source: o.source,
            target: o.target[i],
            method: o.method,
            steps: o.steps,
            strength: o.strength,
            executed,
            guidance: o.guidance,
            mix: o.method === 'edict' ? o.mix : null,
            leapfrog: o.method === 'edict' ? o.leapfrog : null,
            negativePrompt: o.negative,
            seed: o.seed,
            width: result.images[i].width,
            height: result.images[i].height,
            psnrToInput: distance.psnr,
            meanAbsErrorToInput: distance.meanAbsError,
            latentsOut: o.latentsOut ?? null,
            invertedOut: o.invertedOut ?? null,
            timings: result.timings,
            warnings: result.warnings,
          });
          run.output.text(`wrote ${path}  (${JSON.stringify(o.target[i])}, ${distance.psnr.toFixed(2)} dB PSNR to the input)`);
        }
        if (pathsY) for (const path of pathsY) run.output.text(`wrote ${path}  (y)`);
        if (o.latentsOut) run.output.text(`wrote ${o.latentsOut}  (generated latents, batch ${result.latents.batch})`);
        if (o.invertedOut) run.output.text(`wrote ${o.invertedOut}  (inverted latents)`);
        const t = result.timings;
        run.output.text(
          `${params.method}: ${executed} of ${o.steps} steps, ${o.target.length} target(s) in ${t.totalSeconds.toFixed(2)} s ` +
            `(invert ${t.invertSeconds.toFixed(2)} s, generate ${t.generateSeconds.toFixed(2)} s, ${t.unetCalls} UNet calls)`,
        );
      }),
    );
}
