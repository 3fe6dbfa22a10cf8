/**
 * edict serve [--port 8080] [--host 127.0.0.1] [--policy continuous] [--max-queue N] [--token T] ...
 * The HTTP service (src/service/): it listens at once (/healthz answers, /readyz says
 * "loading" until the model is there), loads the model with --model/--device/--dtype/--threads
 * and the scheduler's --policy/--max-batch/--max-queue, and serves until SIGTERM or Ctrl-C,
 * when it stops accepting, lets the running requests finish and answer, disposes the pipeline
 * and exits 0. Routes and limits: docs/service.md.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';

import { loadManifest } from '../manifest.js';
import type { ServiceBackend } from '../service/backend.js';
import { DeferredBackend } from '../service/deferred-backend.js';
import { QueueBackend } from '../queue/queue-backend.js';
import { LocalBackend } from '../service/local-backend.js';
import { openApiDocument } from '../service/openapi.js';
import { DEFAULT_BODY_LIMIT, DEFAULT_MAX_TARGETS, DEFAULT_TIMEOUT_MS, EdictServer } from '../service/server.js';
import { interrupt } from './context.js';
import { UsageError } from './errors.js';
import { examples, globalOptions, positiveIntArg } from './options.js';
import { jsonLine } from './output.js';

interface ServeValues {
  queue?: string;
  queueName: string;
  port: number;
  host: string;
  policy: 'continuous' | 'request' | 'serial';
  maxBatch: number;
  maxQueue?: number;
  maxInflight?: number;
  token?: string[];
  bodyLimit: number;
  maxTargets: number;
  timeoutMs: number;
  maxPixels?: number;
  latentsDir?: string;
  maxLatents: number;
  rateLimit?: number;
  rateWindowMs: number;
  logLevel: string;
  openapi?: boolean;
}

function portArg(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 65535) throw new InvalidArgumentError('must be an integer in [0, 65535] (0: any free port)');
  return value;
}

function nonNegativeIntArg(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new InvalidArgumentError('must be a non-negative integer');
  return value;
}

function collect(value: string, previous: string[] | undefined): string[] {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty');
  return [...(previous ?? []), value];
}

/** Tokens from --token and from EDICT_TOKENS (comma-separated: keeps them out of `ps`). */
function tokens(o: ServeValues): string[] {
  const fromEnv = (process.env.EDICT_TOKENS ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return [...(o.token ?? []), ...fromEnv];
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .summary('serve the model over HTTP (edit, invert, generate, reconstruct; metrics, health)')
    .description(
      'Serves the model over HTTP: POST /v1/edit, /v1/invert, /v1/generate, /v1/reconstruct, ' +
        'GET /v1/latents/:id, /healthz, /readyz, /metrics and /openapi.json. Concurrent requests share ' +
        'UNet calls by the scheduler --policy; beyond --max-inflight requests in progress (or --max-queue ' +
        'waiting sampling calls) a request is refused with 503 and Retry-After. It binds to 127.0.0.1 unless --host says otherwise; with --token (or ' +
        'EDICT_TOKENS=a,b) every /v1 route needs "Authorization: Bearer TOKEN". SIGTERM or Ctrl-C: stop ' +
        'accepting, finish what runs, exit 0. Guide: docs/service.md.',
    )
    .addOption(new Option('--port <n>', 'TCP port (0: any free port)').argParser(portArg).default(8080))
    .addOption(new Option('--host <address>', 'address to bind (0.0.0.0 or :: for every interface)').default('127.0.0.1'))
    .addOption(new Option('--policy <policy>', 'how concurrent requests share UNet calls').choices(['continuous', 'request', 'serial']).default('continuous'))
    .addOption(new Option('--max-batch <n>', 'items per UNet call').argParser(positiveIntArg(4096)).default(8))
    .addOption(new Option('--max-queue <n>', 'sampling calls that may wait; one more is refused with 503 (default: no limit)').argParser(positiveIntArg(2 ** 31 - 1)))
    .addOption(
      new Option('--max-inflight <n>', 'compute requests in progress at once; one more is refused with 503 (the bound that holds under --policy continuous, which never queues; default: no limit)').argParser(
        positiveIntArg(2 ** 31 - 1),
      ),
    )
    .addOption(new Option('--token <token>', 'a bearer token that opens the /v1 routes (repeatable; also EDICT_TOKENS=a,b)').argParser(collect))
    .addOption(new Option('--body-limit <bytes>', 'largest request body, JSON or multipart').argParser(positiveIntArg(2 ** 31 - 1)).default(DEFAULT_BODY_LIMIT, '32 MiB'))
    .addOption(new Option('--max-targets <n>', 'most targets (edit) or prompts (generate) per request').argParser(positiveIntArg(256)).default(DEFAULT_MAX_TARGETS))
    .addOption(new Option('--timeout-ms <ms>', "each request's time limit, queued or running; a request may ask for less (0: none)").argParser(nonNegativeIntArg).default(DEFAULT_TIMEOUT_MS))
    .addOption(new Option('--max-pixels <n>', 'largest input image in pixels, ERR_IMAGE_TOO_LARGE (default: the API\'s, 64 Mi)').argParser(positiveIntArg(2 ** 31 - 1)))
    .addOption(new Option('--latents-dir <dir>', 'also keep every latent in this folder as <id>.safetensors (found after eviction, after a restart, and by other servers sharing it)'))
    .addOption(new Option('--max-latents <n>', 'latents kept in memory for /v1/generate (--latents-dir keeps 16x as many)').argParser(positiveIntArg(2 ** 31 - 1)).default(256))
    .addOption(new Option('--rate-limit <n>', 'requests per client (token, else IP) per --rate-window-ms on the /v1 routes (default: no limit)').argParser(positiveIntArg(2 ** 31 - 1)))
    .addOption(new Option('--rate-window-ms <ms>', 'the rate limit window').argParser(positiveIntArg(2 ** 31 - 1)).default(60_000))
    .addOption(new Option('--log-level <level>', 'request log on stderr (pino JSON lines)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'))
    .addOption(new Option('--queue <url>', "enqueue on the workers' Redis queue (edict worker) instead of computing here: redis://host:port (no model is loaded)"))
    .addOption(new Option('--queue-name <name>', 'the queue name, with --queue').default('edict'))
    .option('--openapi', 'print the OpenAPI document and exit (no model is loaded)')
    .addHelpText(
      'after',
      examples([
        'edict serve --port 8080',
        'EDICT_TOKENS=secret edict serve --host 0.0.0.0 --policy continuous --max-inflight 32 --latents-dir /var/lib/edict/latents',
        'curl -s -F image=@docs/examples/scene.png -F \'options={"source":"a red circle on a blue striped background","target":"a yellow circle on a blue striped background"}\' http://127.0.0.1:8080/v1/edit -o yellow.png',
        'edict serve --openapi > docs/openapi.json',
      ]),
    )
    .action(async (o: ServeValues, cmd: Command) => {
      if (o.openapi) {
        process.stdout.write(`${JSON.stringify(openApiDocument(), null, 2)}\n`);
        return;
      }
      const g = globalOptions(cmd);
      // A bad --model is a usage error before anything listens (with --queue the workers load it).
      if (!o.queue) {
        try {
          loadManifest(g.model);
        } catch (error) {
          throw new UsageError(`option '--model' argument '${g.model}' is invalid: ${(error as Error).message}`);
        }
      }
      const say = (record: { type: string } & Record<string, unknown>, text: string) =>
        process.stdout.write(g.json ? jsonLine(record) : `edict serve: ${text}\n`);
      // A front end for a fleet of `edict worker` processes, or the pipeline in this process.
      const making: Promise<unknown> = o.queue
        ? Promise.resolve(new QueueBackend({ connection: o.queue, queue: o.queueName, ...(o.maxQueue ? { maxWaiting: o.maxQueue } : {}) }))
        : LocalBackend.create({
        model: g.model,
        device: g.device,
        dtype: g.dtype,
        threads: g.threads,
        maxWorkPixels: g.maxWorkPixels,
        ...(o.maxPixels ? { maxPixels: o.maxPixels } : {}),
        batching: { policy: o.policy, maxBatch: o.maxBatch, ...(o.maxQueue ? { maxQueue: o.maxQueue } : {}) },
        onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
      });
      const backend = new DeferredBackend(making as Promise<ServiceBackend>);
      const server = await EdictServer.create({
        backend,
        tokens: tokens(o),
        ...(o.maxInflight ? { maxInflight: o.maxInflight } : {}),
        bodyLimit: o.bodyLimit,
        maxTargets: o.maxTargets,
        timeoutMs: o.timeoutMs,
        latents: {
          maxEntries: o.maxLatents,
          ...(o.latentsDir ? { dir: o.latentsDir } : {}),
          onError: (error) => process.stderr.write(`warning: cannot write to --latents-dir: ${(error as Error).message}\n`),
        },
        ...(o.rateLimit ? { rateLimit: { max: o.rateLimit, timeWindowMs: o.rateWindowMs } } : {}),
        logger: o.logLevel === 'silent' ? false : { level: o.logLevel, stream: process.stderr },
      });
      const stopped = new Promise<string>((resolve) => {
        if (interrupt.signal.aborted) resolve('signal');
        interrupt.signal.addEventListener('abort', () => resolve('signal'), { once: true });
      });
      try {
        const url = await server.listen({ port: o.port, host: o.host });
        say({ type: 'listening', url, model: g.model, policy: o.policy }, `listening on ${url} (loading the model)`);
        const loaded = await Promise.race([backend.loaded.then(() => 'loaded'), stopped]);
        if (loaded === 'loaded') {
          say({ type: 'ready', url }, `ready (policy ${o.policy}, max batch ${o.maxBatch}, max queue ${o.maxQueue ?? 'unlimited'}, max in flight ${o.maxInflight ?? 'unlimited'})`);
          await stopped;
        }
        say({ type: 'stopping' }, 'stopping: no new requests, finishing the running ones');
      } finally {
        await server.close();
      }
      say({ type: 'stopped' }, 'stopped');
    });
}
