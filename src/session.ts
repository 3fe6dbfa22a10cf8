/**
 * One user call: its cancel token (fed by the AbortSignal), progress and warnings sinks, and
 * the timings it accumulates across the native jobs it runs.
 */
import type { Device, Dtype } from './devices.js';
import { EdictError, ErrorCode, native } from './errors.js';
import { addon, type NativeJobOptions, type NativeJobTiming, type NativeLoopResult } from './native.js';
import type { Progress, StepEvent } from './options.js';

/** What a sampling loop's progress event adds (native/job.h). */
interface NativeStepFields {
  t?: number;
  x?: { data: Float64Array; shape: number[] };
  y?: { data: Float64Array; shape: number[] };
}
import type { CallOptions, Timings } from './pipeline.js';

export interface Settings {
  device: Device;
  dtype: Dtype;
  threads: number;
  maxPixels: number;
  /** The largest working size, width x height (src/limits.ts). */
  maxWorkPixels: number;
  stateDtype: 'float64' | 'float32';
  onWarning?: (message: string, code: string) => void;
  /** libtorch's version, for latents provenance. */
  libtorch: string;
}

/** One user call: its cancel token, progress, warnings and timings. */
export class Session {
  readonly warnings: string[] = [];
  readonly timings: Timings = {
    totalSeconds: 0,
    queueSeconds: 0,
    unetSeconds: 0,
    unetCalls: 0,
    threads: 0,
    encodeSeconds: 0,
    invertSeconds: 0,
    generateSeconds: 0,
    decodeSeconds: 0,
  };
  readonly options: NativeJobOptions;
  private readonly started = performance.now();
  private progressFailed = false;
  private stepFailed = false;
  private timedOut = false;
  private readonly timer?: NodeJS.Timeout;

  constructor(
    private readonly call: CallOptions,
    private readonly settings: Settings,
  ) {
    if (call.signal?.aborted) throw new EdictError(ErrorCode.Cancelled, 'the operation was cancelled before it started');
    const token = new (addon().CancelToken)();
    // Native progress only when someone listens: each report wakes the JS thread.
    this.options = {
      threads: settings.threads,
      priority: call.priority ?? 0,
      cancelToken: token,
      // The addon reports steps only when someone listens: each report wakes the JS thread.
      onProgress: call.onProgress || call.onStep ? (e) => this.progress(e as Progress & NativeStepFields) : undefined,
    };
    call.signal?.addEventListener('abort', this.abort, { once: true });
    if (call.timeoutMs !== undefined) {
      // Queued work is rejected at once, running loops leave at the next round.
      this.timer = setTimeout(() => {
        this.timedOut = true;
        token.cancel('timeout');
      }, call.timeoutMs);
    }
  }

  private readonly abort = () => this.options.cancelToken?.cancel();

  /** The error of a call stopped between native jobs. */
  private stopped(): EdictError {
    return this.timedOut
      ? new EdictError(ErrorCode.Timeout, `the operation timed out (timeoutMs ${this.call.timeoutMs})`)
      : new EdictError(ErrorCode.Cancelled, 'the operation was cancelled');
  }

  progress(event: Progress & NativeStepFields): void {
    const { t, x, y, ...progress } = event;
    if (this.call.onProgress && !this.progressFailed) {
      try {
        this.call.onProgress(progress);
      } catch (error) {
        this.progressFailed = true;
        this.warn(`onProgress threw and will not be called again in this call: ${(error as Error).message}`);
      }
    }
    if (this.call.onStep && !this.stepFailed && t !== undefined) {
      try {
        this.call.onStep({ ...(progress as Omit<StepEvent, 't'>), t, ...(x ? { x: x.data, y: y?.data } : {}) });
      } catch (error) {
        this.stepFailed = true;
        this.warn(`onStep threw and will not be called again in this call: ${(error as Error).message}`);
      }
    }
  }

  /** Whether the loops should send copies of their latents with each step. */
  get stepLatents(): boolean {
    return Boolean(this.call.onStep && this.call.stepLatents);
  }

  /** Reports a warning once per call (a prompt is tokenized for inversion and generation alike). */
  warn(message: string, code = 'EDICT_WARNING'): void {
    if (this.warnings.includes(message)) return;
    this.warnings.push(message);
    const sink = this.call.onWarning ?? this.settings.onWarning;
    if (sink) sink(message, code);
    else process.emitWarning(message, { code });
  }

  /**
   * Runs a native call: its time on the compute thread goes to `phase`, its wait behind other
   * calls' jobs to queueSeconds (the addon measures both).
   */
  async time<T>(phase: 'encode' | 'invert' | 'generate' | 'decode', run: () => Promise<T>): Promise<T> {
    if (this.call.signal?.aborted || this.timedOut) throw this.stopped();
    const result = await native(run);
    const { queueSeconds, computeSeconds, threads } = (result as { jobTiming: NativeJobTiming }).jobTiming;
    this.timings.queueSeconds += queueSeconds;
    this.timings.threads = threads;
    this.timings[`${phase}Seconds`] += computeSeconds;
    if (phase === 'encode' || phase === 'decode') this.progress({ phase, step: 1, total: 1 });
    return result;
  }

  addLoop(result: NativeLoopResult): void {
    this.timings.unetSeconds += result.unetSeconds;
    this.timings.unetCalls += result.unetCalls;
  }

  close(): Timings {
    clearTimeout(this.timer);
    this.call.signal?.removeEventListener('abort', this.abort);
    this.timings.totalSeconds = (performance.now() - this.started) / 1000;
    return this.timings;
  }
}

