/**
 * One CLI invocation: its global options, the cancel signal that Ctrl-C fires, progress,
 * output, and the model (loaded on demand, disposed at the end).
 */
import type { Command } from 'commander';

import { EdictError, ErrorCode } from '../errors.js';
import { targetSize, type SizePolicy } from '../image.js';
import { loadManifest } from '../manifest.js';
import { Edict, type CallOptions } from '../pipeline.js';
import { UsageError } from './errors.js';
import { globalOptions, type GlobalOptions } from './options.js';
import { Output } from './output.js';
import { ProgressReporter } from './progress.js';

/** Fired by SIGINT / SIGTERM (installed by main.ts). */
export const interrupt = new AbortController();

export class Run {
  readonly globals: GlobalOptions;
  readonly output: Output;
  readonly progress: ProgressReporter;
  readonly signal: AbortSignal = interrupt.signal;
  private edict: Edict | null = null;

  constructor(readonly command: string, commander: Command) {
    this.globals = globalOptions(commander);
    this.output = new Output(this.globals.json);
    this.progress = new ProgressReporter(this.globals.progress, command);
  }

  /** Throws ERR_CANCELLED if Ctrl-C was pressed (between API calls, before writing). */
  checkCancelled(): void {
    if (this.signal.aborted) throw new EdictError(ErrorCode.Cancelled, 'the operation was cancelled');
  }

  /**
   * Loads the model named by --model (default: the bundled one) with --device, --dtype and
   * --threads. An explicit --size that the model cannot take is a usage error.
   */
  async load(size?: SizePolicy): Promise<Edict> {
    if (this.edict) return this.edict;
    const { model, device, dtype, threads, maxWorkPixels } = this.globals;
    const manifest = loadManifest(model);
    if (size && typeof size === 'object') {
      try {
        targetSize(size, size, manifest.image, maxWorkPixels);
      } catch (error) {
        if (error instanceof EdictError && error.code === ErrorCode.ImageSize) {
          throw new UsageError(`option '--size' argument '${size.width}x${size.height}' is invalid for model ${manifest.name}: ${error.message}`);
        }
        throw error;
      }
    }
    this.edict = await Edict.load(model, { device, dtype, threads, maxWorkPixels, onWarning: (message) => this.output.warn(message) });
    this.checkCancelled();
    return this.edict;
  }

  /** The per-call options: the cancel signal, progress and warnings. */
  call(): Required<Pick<CallOptions, 'signal' | 'onProgress' | 'onWarning'>> {
    return { signal: this.signal, onProgress: this.progress.onProgress, onWarning: (message) => this.output.warn(message) };
  }

  async close(): Promise<void> {
    this.progress.stop();
    const edict = this.edict;
    this.edict = null;
    await edict?.dispose();
  }
}

/** Runs a command body with a Run, always closing it. */
export async function withRun(name: string, commander: Command, body: (run: Run) => Promise<void>): Promise<void> {
  const run = new Run(name, commander);
  try {
    await body(run);
  } finally {
    await run.close();
  }
}
