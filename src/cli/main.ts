#!/usr/bin/env node
/**
 * The `edict` command line. Parsing by commander; each command lives in its own file.
 * Exit codes: 0 success, 1 runtime error, 2 usage error, 130 interrupted (Ctrl-C), 143 SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Command, CommanderError, Option } from 'commander';

import { packageRoot } from '../native.js';
import { bundledModelDir } from '../pipeline.js';
import { interrupt } from './context.js';
import { registerDemo } from './demo.js';
import { registerEdit } from './edit.js';
import { registerEncode } from './encode.js';
import { reportError } from './errors.js';
import { registerGenerate } from './generate.js';
import { registerInfo } from './info.js';
import { registerInvert } from './invert.js';
import { deviceArg, dtypeArg, examples, maxWorkPixelsArg, threadsArg } from './options.js';
import { jsonLine, removePendingFiles } from './output.js';
import { PROGRESS_MODES } from './progress.js';
import { registerPrecision } from './precision.js';
import { registerReconstruct } from './reconstruct.js';
import { registerServe } from './serve.js';
import { registerSweep } from './sweep.js';
import { registerWorker } from './worker.js';

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The program; `argv` (what main parses) decides how --version prints. */
export function buildProgram(argv: string[] = process.argv): Command {
  const program = new Command('edict');
  // Settings first: commands created by program.command() inherit them.
  program
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true)
    .description('Text-guided image editing by EDICT: exact diffusion inversion, with DDIM inversion and SDEdit baselines.')
    // With --json the version is a JSON record; registered before .version() so it runs
    // first. argv, since --json may come after --version, which stops the parse.
    .on('option:version', () => {
      if (!argv.includes('--json')) return;
      process.stdout.write(jsonLine({ type: 'version', version: version() }));
      throw new CommanderError(0, 'commander.version', version());
    })
    .version(version(), '-V, --version')
    .addOption(new Option('--model <dir>', 'model folder').default(bundledModelDir, 'the bundled model'))
    .addOption(new Option('--device <device>', 'cpu, cuda or cuda:N').argParser(deviceArg).default('cpu'))
    .addOption(new Option('--dtype <dtype>', 'UNet dtype: float16 (CUDA only), bfloat16, float32, float64 (default: the model\'s for the device)').argParser(dtypeArg))
    .addOption(new Option('--threads <n>', 'intra-op threads (default: EDICT_THREADS, else every core)').argParser(threadsArg))
    .addOption(
      new Option('--max-work-pixels <n>', "the largest size (width x height) a command works at (default: 4x the model's native area)").argParser(
        maxWorkPixelsArg,
      ),
    )
    .option('--json', 'print one JSON record per result on stdout (no prose)')
    .addOption(
      new Option('--progress <mode>', 'progress on stderr: auto (bars on a terminal, nothing on a pipe), bar, json, none')
        .choices(PROGRESS_MODES)
        .default('auto'),
    )
    .option('--verbose', 'print stack traces with errors')
    .addHelpText(
      'after',
      examples([
        'edict edit docs/examples/scene.png --source "a red circle on a blue striped background" --target "a yellow circle on a blue striped background" -o out/yellow.png',
        'edict invert docs/examples/scene.png --prompt "a red circle on a blue striped background" -o out/scene.safetensors && edict generate out/scene.safetensors --prompt "a red square on a blue striped background" -o out/square.png',
        'edict reconstruct docs/examples/scene.png --prompt "a red circle on a blue striped background"',
        'edict sweep docs/examples/scene.png --source "a red circle on a blue striped background" --target "a yellow circle on a blue striped background" --mix 0.9,0.93,0.97 --guidance 1,3,5 -o out/sweep/',
        'edict info',
      ]) +
        '\nExit codes: 0 success, 1 runtime error (error CODE: message), 2 usage error, 130 interrupted.\n' +
        'Run "edict COMMAND --help" for the options of a command.\n',
    );
  registerEdit(program);
  registerEncode(program);
  registerInvert(program);
  registerGenerate(program);
  registerReconstruct(program);
  registerSweep(program);
  registerInfo(program);
  registerDemo(program);
  registerPrecision(program);
  registerServe(program);
  registerWorker(program);
  return program;
}

/** Runs the CLI on `argv` (process.argv form) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let signalName: 'SIGINT' | 'SIGTERM' | undefined;
  const onSignal = (name: 'SIGINT' | 'SIGTERM') => () => {
    if (signalName) {
      // A second signal: stop now, removing any staged temporary file.
      removePendingFiles();
      process.exit(name === 'SIGTERM' ? 143 : 130);
    }
    signalName = name;
    interrupt.abort();
  };
  process.on('SIGINT', onSignal('SIGINT'));
  process.on('SIGTERM', onSignal('SIGTERM'));
  // A reader that went away (`edict ... --json | head -1`) is not an error of ours.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    interrupt.abort();
    removePendingFiles();
    process.exit(0);
  });

  const program = buildProgram(argv);
  let command = 'edict';
  program.hook('preAction', (_root, action) => {
    command = `edict ${action.name()}`;
  });
  try {
    await program.parseAsync(argv);
    // A signal after the outputs were committed changes nothing: the run completed.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    const opts = program.opts<{ verbose?: boolean; json?: boolean }>();
    const { exitCode, record } = reportError(error, { verbose: opts.verbose ?? argv.includes('--verbose'), command, signal: signalName });
    const json = opts.json ?? argv.includes('--json');
    if (record && json) process.stdout.write(jsonLine(record));
    if (error instanceof CommanderError && exitCode !== 0 && json) {
      process.stdout.write(jsonLine({ type: 'error', code: 'ERR_USAGE', message: error.message, exitCode }));
    }
    return exitCode;
  }
}

process.exitCode = await main(process.argv);
