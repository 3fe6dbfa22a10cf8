/**
 * edict reconstruct IMAGE --prompt "..."
 * Inverts and regenerates with the same prompt and prints the measured round-trip errors:
 * latent max abs and RMS error, pixel PSNR against the input, and the VAE's own PSNR (the
 * ceiling of any reconstruction); SSIM likewise, and MS-SSIM where the standard five scales fit.
 */
import { extname } from 'node:path';

import { type Command, Option } from 'commander';

import { Latents } from '../latents.js';
import { withRun } from './context.js';
import {
  addImageOptions,
  addSamplingOptions,
  checkImageOutput,
  checkSchedule,
  examples,
  promptArg,
  samplingOptions,
  type ImageValues,
  type SamplingValues,
} from './options.js';
import { encodeImageFor, FileBatch } from './output.js';

interface ReconstructValues extends SamplingValues, ImageValues {
  prompt: string;
  output?: string;
  allowModelMismatch?: boolean;
}

const db = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)} dB` : 'identical (infinite PSNR)');

export function registerReconstruct(program: Command): void {
  const command = program
    .command('reconstruct')
    .summary('measure the round trip: invert and regenerate with the same prompt')
    .description(
      'Inverts IMAGE (or an encoded latents file) with --prompt and regenerates with the same ' +
        'prompt, then prints how far the result is from the start: the latent error (max abs and ' +
        'RMS over x and y), the PSNR of the reconstruction against the input, the PSNR of the VAE ' +
        'round trip alone (the ceiling), the PSNR of the reconstruction against the VAE round ' +
        'trip, and SSIM against the input (and the VAE\'s), with the standard five-scale MS-SSIM ' +
        'where the image has 176 px or more on its shorter side (null otherwise). EDICT is exact ' +
        'to float64 rounding; DDIM inversion (--method ddim) drifts.',
    )
    .argument('<image>', 'an image, or an encoded latents file (.safetensors)')
    .addOption(new Option('--prompt <prompt>', 'a prompt that describes the image').argParser(promptArg).makeOptionMandatory())
    .option('-o, --output <path>', 'also write the reconstructed image')
    .option('--allow-model-mismatch', 'use an encoded latents file that another model made (refused by default: ERR_MODEL_MISMATCH)');
  addSamplingOptions(command, ['edict', 'ddim', 'bdia', 'belm']);
  addImageOptions(command, { sample: false });
  command
    .addHelpText(
      'after',
      examples([
        'edict reconstruct docs/examples/scene.png --prompt "a red circle on a blue striped background"',
        'edict reconstruct docs/examples/scene.png --prompt "a red circle on a blue striped background" --method ddim --guidance 5',
        'edict --dtype float64 reconstruct docs/examples/scene.png --prompt "a red circle on a blue striped background" --json',
      ]),
    )
    .action((image: string, o: ReconstructValues, cmd: Command) =>
      withRun('reconstruct', cmd, async (run) => {
        checkSchedule(o.steps, o.strength);
        if (o.output) checkImageOutput('--output', o.output);
        const input = extname(image).toLowerCase() === '.safetensors' ? await Latents.load(image) : image;
        const edict = await run.load(o.size);
        const r = await edict.reconstruct(input, {
          ...samplingOptions(o),
          method: o.method as 'edict' | 'ddim' | 'bdia' | 'belm',
          prompt: o.prompt,
          size: o.size,
          seed: o.seed,
          allowModelMismatch: o.allowModelMismatch ?? false,
          ...run.call(),
        });
        run.progress.stop();
        if (o.output) {
          const output = o.output;
          await FileBatch.write(run.signal, async (files) => files.add(output, await encodeImageFor(output, r.image)));
        }
        run.output.record({
          type: 'result',
          command: 'reconstruct',
          input: image,
          output: o.output ?? null,
          prompt: o.prompt,
          method: o.method,
          steps: o.steps,
          strength: o.strength,
          executed: Math.floor(o.steps * o.strength),
          guidance: o.guidance,
          mix: o.method === 'edict' ? o.mix : null,
          leapfrog: o.method === 'edict' ? o.leapfrog : null,
          dtype: edict.dtype,
          width: r.image.width,
          height: r.image.height,
          latentMaxAbsError: r.latentMaxAbsError,
          latentRmsError: r.latentRmsError,
          pixelPsnr: r.pixelPsnr,
          vaePsnr: r.vaePsnr,
          roundTripPsnr: r.roundTripPsnr,
          ssim: r.ssim,
          vaeSsim: r.vaeSsim,
          msSsim: r.msSsim,
          timings: r.timings,
          warnings: r.warnings,
        });
        const t = r.timings;
        run.output.text(
          [
            `round trip of ${image} (${o.method}, ${Math.floor(o.steps * o.strength)} of ${o.steps} steps, guidance ${o.guidance}, UNet ${edict.dtype}):`,
            `  latent max abs error   ${r.latentMaxAbsError.toExponential(3)}`,
            `  latent RMS error       ${r.latentRmsError.toExponential(3)}`,
            `  pixel PSNR vs input    ${db(r.pixelPsnr)}`,
            `  VAE PSNR vs input      ${db(r.vaePsnr)}  (the ceiling)`,
            `  PSNR vs VAE round trip ${db(r.roundTripPsnr)}`,
            `  SSIM vs input          ${r.ssim.toFixed(4)}  (the VAE alone: ${r.vaeSsim.toFixed(4)})`,
            `  MS-SSIM vs input       ${r.msSsim === null ? `n/a (the standard 5 scales need 176 px; the image is ${r.image.width}x${r.image.height})` : r.msSsim.toFixed(4)}`,
            `  time                   ${t.totalSeconds.toFixed(2)} s (${t.unetCalls} UNet calls)`,
            ...(o.output ? [`wrote ${o.output}`] : []),
          ].join('\n'),
        );
      }),
    );
}
