/**
 * How the CLI fails. Exit codes: 0 success, 1 runtime error (`error CODE: message`), 2 usage
 * error (a bad flag or value: what was given and what is allowed), 130 interrupted (SIGINT),
 * 143 terminated (SIGTERM). The stack is printed only with --verbose.
 */
import { CommanderError } from 'commander';

import { EdictError, ErrorCode, toEdictError } from '../errors.js';

export const ExitCode = {
  Ok: 0,
  Runtime: 1,
  Usage: 2,
  Interrupted: 130,
  Terminated: 143,
} as const;

/** A bad command line that the parser could not catch: a value that depends on another one. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Throws a usage error unless `ok`. */
export function usage(ok: unknown, message: string): asserts ok {
  if (!ok) throw new UsageError(message);
}

export interface ReportContext {
  verbose: boolean;
  /** The command path for the help hint ("edict edit"). */
  command: string;
  /** The signal that stopped the run, if any. */
  signal?: 'SIGINT' | 'SIGTERM';
}

export interface ErrorRecord {
  type: 'error';
  /** ERR_USAGE for usage errors, else the EdictError code. */
  code: string;
  message: string;
  exitCode: number;
}

/**
 * Prints an error the way the CLI promises (on stderr) and returns the exit code with the
 * record that --json prints on stdout (null for parser errors and help).
 */
export function reportError(error: unknown, context: ReportContext): { exitCode: number; record: ErrorRecord | null } {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (see main.ts configureOutput).
    const exitCode = error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    return { exitCode, record: null };
  }
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n(see "${context.command} --help")\n`);
    if (context.verbose && error.stack) process.stderr.write(`${error.stack}\n`);
    return { exitCode: ExitCode.Usage, record: { type: 'error', code: 'ERR_USAGE', message: error.message, exitCode: ExitCode.Usage } };
  }
  const edictError = error instanceof EdictError ? error : toEdictError(error, ErrorCode.Native);
  const interrupted = edictError.code === ErrorCode.Cancelled && context.signal !== undefined;
  const exitCode = interrupted ? (context.signal === 'SIGTERM' ? ExitCode.Terminated : ExitCode.Interrupted) : ExitCode.Runtime;
  const message = interrupted ? `interrupted by ${context.signal}; nothing half-written was left behind` : edictError.message;
  process.stderr.write(`error ${edictError.code}: ${message}\n`);
  if (context.verbose) {
    const stack = (edictError.cause instanceof Error ? edictError.cause.stack : undefined) ?? edictError.stack;
    if (stack) process.stderr.write(`${stack}\n`);
  }
  return { exitCode, record: { type: 'error', code: edictError.code, message, exitCode } };
}
