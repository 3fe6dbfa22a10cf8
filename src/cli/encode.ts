/**
 * edict encode IMAGE... -o z.safetensors
 * The scaled VAE latent (stage "encoded") of one image, or of several that come out the same
 * size as one batch; `edict invert` and `edict reconstruct` take the file.
 */
import { type Command, Option } from 'commander';

import { withRun } from './context.js';
import { addImageOptions, examples, type ImageValues } from './options.js';
import { FileBatch } from './output.js';

interface EncodeValues extends ImageValues {
  output: string;
}

export function registerEncode(program: Command): void {
  const command = program
    .command('encode')
    .summary('encode images to their scaled VAE latents (.safetensors)')
    .description(
      'Encodes IMAGE (several images: one batch; they must come out the same size) to the scaled ' +
        'VAE latent, the posterior mean (or a seeded sample with --sample), saved as .safetensors ' +
        '(F64 tensors "x" and "y", parameters as JSON in the metadata; Python reads it too).',
    )
    .argument('<images...>', 'input images')
    .addOption(new Option('-o, --output <file>', 'the latents file (.safetensors)').makeOptionMandatory());
  addImageOptions(command);
  command
    .addHelpText(
      'after',
      examples([
        'edict encode docs/examples/scene.png -o out/z.safetensors',
        'edict encode docs/examples/scenes/1.png docs/examples/scenes/2.png docs/examples/scenes/3.png -o out/batch.safetensors',
        'edict encode docs/examples/scene.png --sample --seed 3 -o out/z-sample.safetensors',
      ]),
    )
    .action((images: string[], o: EncodeValues, cmd: Command) =>
      withRun('encode', cmd, async (run) => {
        const edict = await run.load(o.size);
        const started = performance.now();
        const latents = await edict.encodeImage(images, { size: o.size, sample: o.sample ?? false, seed: o.seed, ...run.call() });
        const seconds = (performance.now() - started) / 1000;
        run.progress.stop();
        await FileBatch.write(run.signal, (files) => files.add(o.output, latents.toSafeTensors()));
        run.output.record({
          type: 'result',
          command: 'encode',
          inputs: images,
          output: o.output,
          shape: latents.shape,
          imageWidth: latents.params.imageWidth,
          imageHeight: latents.params.imageHeight,
          sample: o.sample ?? false,
          seed: o.sample ? o.seed : null,
          seconds,
        });
        run.output.text(`wrote ${o.output}  (latents [${latents.shape.join(', ')}] of ${latents.params.imageWidth}x${latents.params.imageHeight} images)`);
      }),
    );
}
