/**
 * edict generate LATENTS --prompt "..." [--prompt ...] -o OUT [--latents-out FILE]
 * Continues inverted latents (from `edict invert` or `edict edit --inverted-out`) with target
 * prompts: a batch of one with K prompts runs as a batch of K; a batch of B takes one prompt
 * or B. One image per item, named like edit's outputs.
 */
import { type Command, Option } from 'commander';

import { Latents } from '../latents.js';
import { withRun } from './context.js';
import { UsageError } from './errors.js';
import { checkImageOutput, collectPrompt, examples, numberListArg } from './options.js';
import { FileBatch, outputPaths, stageImages, withSuffix } from './output.js';

interface GenerateValues {
  prompt: string[];
  allowModelMismatch?: boolean;
  output: string;
  latentsOut?: string;
  guidance?: number[];
  mix?: number[];
  negative?: string;
  both?: boolean;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .summary('generate images from inverted latents with target prompts')
    .description(
      'Continues LATENTS (an inverted latents file from "edict invert" or "edict edit --inverted-out") ' +
        'with each --prompt. Steps, strength, method and leapfrog come from the file; guidance, mix ' +
        'and the negative prompt default to the inversion\'s. A file holding one item runs every ' +
        'prompt as one batch; a batch of B items takes one prompt or B.',
    )
    .argument('<latents>', 'an inverted latents file (.safetensors)')
    .addOption(new Option('--prompt <prompt>', 'a target prompt (repeatable)').argParser(collectPrompt).makeOptionMandatory())
    .addOption(new Option('-o, --output <path>', 'output image, or a pattern with {i} / {prompt}').makeOptionMandatory())
    .option('--latents-out <file>', 'also save the generated latents (.safetensors)')
    .addOption(new Option('--guidance <list>', 'guidance scale, or one per item (comma-separated); default: the inversion\'s').argParser(numberListArg('guidance')))
    .addOption(new Option('--mix <list>', 'EDICT mixing weight, or one per item; default: the inversion\'s').argParser(numberListArg('mix')))
    .option('--negative <prompt>', 'the unconditional prompt (default: the inversion\'s)')
    .option('--both', 'EDICT: also write the decoded y latent of each pair')
    .option('--allow-model-mismatch', 'use latents that another model made (refused by default: ERR_MODEL_MISMATCH)')
    .addHelpText(
      'after',
      examples(
        [
          'edict invert docs/examples/scene.png --prompt "a red circle on a blue striped background" -o out/scene.safetensors',
          'edict generate out/scene.safetensors --prompt "a red square on a blue striped background" -o out/square.png',
          'edict generate out/scene.safetensors --prompt "a red square on a blue striped background" --prompt "a red circle on a green striped background" -o "out/edits/{i}-{prompt}.png" --latents-out out/edits/z.safetensors',
          'edict generate out/scene.safetensors --prompt "a red circle on a blue striped background" -o out/roundtrip.png   # the same prompt gives the input back',
        ],
        [
          'Output naming (as "edict edit"):',
          '  one image         OUT itself',
          '  several images    OUT with -1, -2, ... before the extension',
          '  a pattern         {i} is the 1-based item index, {prompt} the prompt as a file name',
          '  --both            the y image of each pair next to it, with a -y suffix',
        ],
      ),
    )
    .action((file: string, o: GenerateValues, cmd: Command) =>
      withRun('generate', cmd, async (run) => {
        checkImageOutput('--output', o.output);
        const latents = await Latents.load(file);
        const items = latents.batch === 1 ? o.prompt.length : latents.batch;
        if (latents.batch > 1 && o.prompt.length !== 1 && o.prompt.length !== latents.batch) {
          throw new UsageError(`${file} holds ${latents.batch} items: give one --prompt or ${latents.batch}, got ${o.prompt.length}`);
        }
        for (const [flag, values] of [
          ['--guidance', o.guidance],
          ['--mix', o.mix],
        ] as const) {
          if (values && values.length !== 1 && values.length !== items) {
            throw new UsageError(`option '${flag}' has ${values.length} values for ${items} items: give one, or one per item`);
          }
        }
        const prompts = o.prompt.length === items ? o.prompt : Array.from({ length: items }, () => o.prompt[0]);
        const paths = outputPaths(o.output, prompts);
        const edict = await run.load();
        const result = await edict.generate(latents, {
          prompt: o.prompt,
          guidance: o.guidance,
          mix: o.mix,
          negativePrompt: o.negative,
          both: o.both ?? false,
          allowModelMismatch: o.allowModelMismatch ?? false,
          ...run.call(),
        });
        run.progress.stop();

        const pathsY = result.imagesY ? paths.map((p) => withSuffix(p, '-y')) : undefined;
        await FileBatch.write(run.signal, async (files) => {
          await stageImages(files, paths, result.images, pathsY, result.imagesY);
          if (o.latentsOut) await files.add(o.latentsOut, result.latents.toSafeTensors());
        });

        const p = result.latents.params;
        for (const [i, path] of paths.entries()) {
          run.output.record({
            type: 'result',
            command: 'generate',
            index: i + 1,
            latents: file,
            output: path,
            ...(pathsY ? { outputY: pathsY[i] } : {}),
            prompt: p.prompts[i],
            method: p.method,
            steps: p.steps,
            strength: p.strength,
            executed: p.executed,
            guidance: p.guidance[i],
            mix: p.mix[i],
            leapfrog: p.leapfrog,
            negativePrompt: p.negativePrompts[i],
            width: result.images[i].width,
            height: result.images[i].height,
            latentsOut: o.latentsOut ?? null,
            timings: result.timings,
            warnings: result.warnings,
          });
          run.output.text(`wrote ${path}  (${JSON.stringify(p.prompts[i])})`);
        }
        if (pathsY) for (const path of pathsY) run.output.text(`wrote ${path}  (y)`);
        if (o.latentsOut) run.output.text(`wrote ${o.latentsOut}  (generated latents, batch ${result.latents.batch})`);
        run.output.text(`${p.method}: ${p.executed} steps, ${items} image(s) in ${result.timings.totalSeconds.toFixed(2)} s`);
      }),
    );
}
