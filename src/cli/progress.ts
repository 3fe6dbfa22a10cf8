/**
 * Progress on stderr. --progress auto (default): a cli-progress bar per phase (encode,
 * invert, generate, decode) when stderr is a terminal, nothing on a pipe or file; bar: bars
 * even when stderr is not a terminal; json: one JSON record per step; none: nothing.
 */
import cliProgress from 'cli-progress';

import type { Progress } from '../options.js';
import { jsonLine } from './output.js';

export const PROGRESS_MODES = ['auto', 'bar', 'json', 'none'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** The JSON progress record (--progress json). */
export interface ProgressRecord {
  type: 'progress';
  command: string;
  /** encode | invert | generate | decode */
  phase: string;
  step: number;
  total: number;
  /** Which part of a multi-call command this is (e.g. "batch 2/5", "group 1/4"). */
  label?: string;
}

export class ProgressReporter {
  private readonly mode: 'bar' | 'json' | 'none';
  private bar: cliProgress.SingleBar | null = null;
  private current: { phase: string; step: number; total: number; label?: string } | null = null;
  /** Set by multi-call commands to say which part runs. */
  label: string | undefined;

  constructor(
    mode: ProgressMode,
    private readonly command: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.mode = mode === 'auto' ? (stream.isTTY ? 'bar' : 'none') : mode;
  }

  /** The callback to hand to the API (CallOptions.onProgress). */
  readonly onProgress = (event: Progress): void => {
    if (this.mode === 'json') {
      const record: ProgressRecord = { type: 'progress', command: this.command, phase: event.phase, step: event.step, total: event.total };
      if (this.label) record.label = this.label;
      this.stream.write(jsonLine(record));
    } else if (this.mode === 'bar') {
      this.updateBar(event);
    }
  };

  private updateBar(event: Progress): void {
    const c = this.current;
    const fresh = !c || c.phase !== event.phase || c.total !== event.total || event.step <= c.step || c.label !== this.label;
    if (fresh) {
      this.bar?.stop();
      const name = this.label ? `${this.label} ${event.phase}` : event.phase;
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream,
          format: `${name.padEnd(16)} |{bar}| {value}/{total} | {duration_formatted} | ETA {eta_formatted}`,
          hideCursor: this.stream.isTTY ? true : undefined,
          noTTYOutput: !this.stream.isTTY,
          notTTYSchedule: 1000,
          etaBuffer: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(event.total, 0);
    }
    this.current = { ...event, label: this.label };
    this.bar?.update(event.step);
    if (event.step >= event.total) {
      this.bar?.stop();
      this.bar = null;
    }
  }

  /** Stops the running bar (before an error message or at the end). */
  stop(): void {
    this.bar?.stop();
    this.bar = null;
    this.current = null;
  }
}
