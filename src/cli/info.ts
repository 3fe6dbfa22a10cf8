/**
 * edict info [--model DIR]
 * The model (name and manifest summary), the device and dtype the other commands would use,
 * libtorch (version, build configuration summary, CUDA and its device count) and threads.
 * The model is read, not loaded: this is quick and works without running anything.
 */
import { statSync } from 'node:fs';

import type { Command } from 'commander';

import { defaultThreads } from '../devices.js';
import { EdictError, toEdictError } from '../errors.js';
import { loadManifest, type ModelManifest } from '../manifest.js';
import { bundledModelDir } from '../pipeline.js';
import { PromptTokenizer } from '../prompts.js';
import { runtimeInfo, type RuntimeInfo } from '../runtime-info.js';
import { withRun } from './context.js';
import { examples } from './options.js';

/** The useful lines of libtorch's at::show_config(). */
export function summarizeBuild(buildConfig: string): { items: string[]; settings: Record<string, string> } {
  const items: string[] = [];
  const settings: Record<string, string> = {};
  for (const raw of buildConfig.split('\n')) {
    const line = raw.trim().replace(/^- /, '');
    if (!line || line.startsWith('PyTorch built with')) continue;
    if (line.startsWith('Build settings:')) {
      for (const part of line.slice('Build settings:'.length).split(/, (?=[A-Z_]+=)/)) {
        const eq = part.indexOf('=');
        if (eq > 0) settings[part.slice(0, eq).trim()] = part.slice(eq + 1).trim().replace(/,$/, '');
      }
    } else {
      items.push(line);
    }
  }
  return { items, settings };
}

const keySettings = ['TORCH_VERSION', 'BUILD_TYPE', 'BLAS_INFO', 'LAPACK_INFO', 'USE_CUDA', 'CUDA_VERSION', 'USE_CUDNN', 'CUDNN_VERSION', 'USE_MKLDNN', 'USE_OPENMP'];

function componentBytes(manifest: ModelManifest): number {
  return Object.values(manifest.paths).reduce((sum, path) => sum + statSync(path).size, 0);
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .summary('show the model, device, libtorch build, CUDA and threads')
    .description(
      'Prints the model (--model, default the bundled one) and a summary of its manifest (with ' +
        "a word-level model's whole vocabulary: the only words its prompts can use), the " +
        'device and UNet dtype the other commands would use, the libtorch version and build ' +
        'configuration, whether CUDA is available and how many devices it sees, and the thread ' +
        'count. Exits 1 when the model folder cannot be read (after printing the rest).',
    )
    .addHelpText('after', examples(['edict info', 'edict info --model ~/models/sd15 --device cuda   # needs an exported SD model and a GPU: docs/stable-diffusion.md', 'edict info --json | jq .model.text.vocabulary']))
    .action((_o: Record<string, never>, cmd: Command) =>
      withRun('info', cmd, async (run) => {
        const g = run.globals;
        const runtime: RuntimeInfo = await runtimeInfo();
        const build = summarizeBuild(runtime.buildConfig);
        const threads = g.threads ?? defaultThreads();
        let manifest: ModelManifest | null = null;
        let vocabulary: { size: number; words: string[] | null } = { size: 0, words: null };
        let modelError: EdictError | null = null;
        try {
          manifest = loadManifest(g.model);
          vocabulary = PromptTokenizer.fromManifest(manifest).vocabulary();
        } catch (error) {
          modelError = toEdictError(error);
        }
        const kind = g.device === 'cpu' ? 'cpu' : 'cuda';
        const model = manifest && {
          name: manifest.name,
          description: manifest.description ?? null,
          dir: manifest.dir,
          bundled: manifest.dir === bundledModelDir,
          image: manifest.image,
          latent: manifest.latent,
          text: { maxLength: manifest.text.maxLength, hiddenSize: manifest.text.hiddenSize, vocabulary },
          scheduler: manifest.scheduler,
          dtypes: manifest.dtypes,
          componentBytes: componentBytes(manifest),
        };
        run.output.record({
          type: 'info',
          model: model ?? { error: { code: modelError?.code, message: modelError?.message } },
          device: g.device,
          dtype: g.dtype ?? manifest?.dtypes[kind] ?? null,
          threads,
          runtime: {
            libtorch: runtime.libtorch,
            cuda: runtime.cuda,
            cudaDevices: runtime.cudaDevices,
            cores: runtime.cores,
            blasThreads: runtime.blasThreads,
            build: { items: build.items, settings: build.settings },
          },
        });
        const lines: string[] = [];
        if (manifest && model) {
          const s = manifest.scheduler;
          lines.push(
            `model       ${manifest.name}${model.bundled ? ' (bundled)' : ''}  ${manifest.dir}`,
            ...(manifest.description ? [`            ${manifest.description}`] : []),
            `  image     ${manifest.image.width}x${manifest.image.height} (sides multiples of ${manifest.image.multipleOf})`,
            `  latent    ${manifest.latent.channels} channels, /${manifest.latent.downsample}, scaling ${manifest.latent.scalingFactor}`,
            `  text      ${manifest.text.maxLength} tokens, hidden size ${manifest.text.hiddenSize}, vocabulary of ${model.text.vocabulary.size}`,
            ...(model.text.vocabulary.words ? [`  words     ${model.text.vocabulary.words.join(' ')}`] : []),
            `  scheduler ${s.numTrainTimesteps} steps, ${s.betaSchedule} betas ${s.betaStart}..${s.betaEnd}, ${s.predictionType}, offset ${s.stepsOffset}`,
            `  dtypes    cpu ${manifest.dtypes.cpu}, cuda ${manifest.dtypes.cuda}`,
            `  files     ${(model.componentBytes / 1e6).toFixed(2)} MB`,
          );
        } else {
          lines.push(`model       unavailable: ${modelError?.code}: ${modelError?.message}`);
        }
        lines.push(
          `device      ${g.device} (UNet ${g.dtype ?? manifest?.dtypes[kind] ?? 'the model default'})`,
          `threads     ${threads} of ${runtime.cores} cores (BLAS threads: ${runtime.blasThreads})`,
          `libtorch    ${runtime.libtorch}`,
          `CUDA        ${runtime.cuda ? `available, ${runtime.cudaDevices} device(s)` : 'not available'}`,
          `build       ${build.items.join('; ')}`,
          `            ${keySettings.filter((k) => k in build.settings).map((k) => `${k}=${build.settings[k]}`).join(', ')}`,
        );
        run.output.text(lines.join('\n'));
        if (modelError) {
          process.stderr.write(`error ${modelError.code}: ${modelError.message}\n`);
          process.exitCode = 1;
        }
      }),
    );
}
