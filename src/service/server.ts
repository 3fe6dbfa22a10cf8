/**
 * The HTTP service (`edict serve`), on fastify: the /v1 routes over a ServiceBackend (the
 * local pipeline, or a queue of workers), health and readiness, Prometheus metrics and the
 * OpenAPI document. Routes, bodies and answers: docs/service.md and docs/openapi.json.
 *
 * Safety, in the order a request meets it: shutting down -> 503; rate limit (when configured)
 * -> 429; bearer token (when configured) -> 401; queue full -> 503 with Retry-After, before
 * the body is read; body over --body-limit -> 413; then the engine validates the options with
 * the API's own schemas (400 with its EdictError code). A client that disconnects cancels its
 * work; each request has a time limit (its timeoutMs, capped by the server's).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import fastifyMultipart from '@fastify/multipart';
import fastifyRateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';

import { ErrorCode } from '../errors.js';
import { editOptionsSchema, generateOptionsSchema, invertOptionsSchema, reconstructOptionsSchema, validate, type Progress } from '../options.js';
import type { Timings } from '../pipeline.js';
import type { CallContext, ServiceBackend } from './backend.js';
import { readInput, type RequestInput } from './input.js';
import { LatentsStore, type LatentsStoreOptions } from './latents-store.js';
import { ServiceMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { callbackKeys } from './plain-options.js';
import { CLIENT_CLOSED_REQUEST, describeError, outcomeOf, ServiceError, ServiceErrorCode, type ErrorBody } from './status.js';

export const DEFAULT_BODY_LIMIT = 32 * 1024 * 1024;
export const DEFAULT_MAX_TARGETS = 16;
export const DEFAULT_TIMEOUT_MS = 300_000;
/** The options part of a multipart body. */
const OPTIONS_FIELD_LIMIT = 1024 * 1024;
/** A comment line on an idle event stream, so that proxies keep it open. */
const SSE_HEARTBEAT_MS = 15_000;

export interface ServerOptions {
  backend: ServiceBackend;
  /** Bearer tokens, any of which opens the /v1 routes (none: no authentication). */
  tokens?: string[];
  /** Largest request body in bytes, JSON or multipart (default 32 MiB). */
  bodyLimit?: number;
  /** Most targets (edit) or prompts (generate) per request (default 16). */
  maxTargets?: number;
  /** Each request's time limit in ms, queued or running; a request may ask for less (default 300000; 0: none). */
  timeoutMs?: number;
  /**
   * Most compute requests in progress at once (reading their body, queued or running); one more
   * is refused with 503 (default: no limit). The continuous policy admits every call into the
   * running batch, so the engine's maxQueue never fills under it: this is what bounds its work
   * (and each request's latency) under overload.
   */
  maxInflight?: number;
  /** Where /v1/invert keeps latents. */
  latents?: LatentsStoreOptions;
  /** Requests per client (token, else IP) per window; none: no rate limit. */
  rateLimit?: { max: number; timeWindowMs: number };
  /** fastify's logger option (default: none). */
  logger?: FastifyServerOptions['logger'];
}

/** The compute routes, as metrics label them. */
export const COMPUTE_ROUTES = ['/v1/edit', '/v1/invert', '/v1/generate', '/v1/reconstruct'] as const;
type ComputeRoute = (typeof COMPUTE_ROUTES)[number];

/** Each compute route's API schema, its name in messages, and the option that lists targets. */
const ROUTE_OPTIONS = {
  '/v1/edit': { schema: editOptionsSchema, what: 'edit', targets: 'target' },
  '/v1/invert': { schema: invertOptionsSchema, what: 'invert', targets: null },
  '/v1/generate': { schema: generateOptionsSchema, what: 'generate', targets: 'prompt' },
  '/v1/reconstruct': { schema: reconstructOptionsSchema, what: 'reconstruct', targets: null },
} as const;

/** Per-request bookkeeping for metrics. */
interface RequestState {
  route: string;
  /** The error code answered (or streamed), null while none. */
  code: string | null;
  started: number;
  /** Counted in `computing` (passed the admission check of a compute route). */
  computing: boolean;
}

export class EdictServer {
  readonly app: FastifyInstance;
  readonly metrics: ServiceMetrics;
  readonly latents: LatentsStore;
  private readonly backend: ServiceBackend;
  private readonly tokens: Buffer[];
  private readonly bodyLimit: number;
  private readonly maxTargets: number;
  private readonly timeoutMs: number;
  private readonly states = new WeakMap<FastifyRequest, RequestState>();
  private readonly maxInflight: number;
  /** Compute requests admitted and not yet done. */
  private computing = 0;
  private shuttingDown = false;
  private closing: Promise<void> | null = null;
  /** Recent request compute time (EWMA, seconds): the Retry-After of a 503. */
  private recentSeconds = 1;

  private constructor(options: ServerOptions) {
    this.backend = options.backend;
    this.tokens = (options.tokens ?? []).map(digest);
    this.bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
    this.maxTargets = options.maxTargets ?? DEFAULT_MAX_TARGETS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxInflight = options.maxInflight ?? Number.POSITIVE_INFINITY;
    this.latents = new LatentsStore(options.latents);
    this.metrics = new ServiceMetrics({ counters: () => this.backend.counters(), latents: () => this.latents.size });
    this.metrics.declareRoutes([...COMPUTE_ROUTES, '/v1/latents/:id']);
    this.app = Fastify({
      logger: options.logger ?? false,
      bodyLimit: this.bodyLimit,
      // Requests arriving while closing get the service's own 503 (onRequest below).
      return503OnClosing: false,
      // Latent ids and such never need more; keeps the router's work bounded.
      routerOptions: { maxParamLength: 100 },
    });
  }

  /** Builds the server (routes, plugins) without listening. */
  static async create(options: ServerOptions): Promise<EdictServer> {
    const server = new EdictServer(options);
    await server.setup(options);
    return server;
  }

  /** Listens (default 127.0.0.1, port 8080) and returns the URL. */
  async listen({ port = 8080, host = '127.0.0.1' }: { port?: number; host?: string } = {}): Promise<string> {
    await this.app.listen({ port, host });
    return this.url;
  }

  get url(): string {
    const address = this.app.server.address();
    if (!address || typeof address === 'string') throw new Error('the server is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /**
   * Graceful shutdown: refuse new requests (503 ERR_SHUTTING_DOWN, then no new connections),
   * let the running ones finish and answer, then close the backend (disposing the pipeline).
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.shuttingDown = true;
      await this.app.close();
      await this.backend.close();
    })();
    return this.closing;
  }

  private async setup(options: ServerOptions): Promise<void> {
    const app = this.app;
    // JSON and multipart only (fastify would read text/plain as a string).
    app.removeContentTypeParser('text/plain');
    await app.register(fastifyMultipart, {
      limits: { fileSize: this.bodyLimit, files: 1, fields: 3, fieldSize: OPTIONS_FIELD_LIMIT, parts: 4, headerPairs: 100 },
    });

    app.addHook('onRequest', async (request, reply) => {
      if (isWorkRoute(request)) {
        const route = request.routeOptions.url!;
        const state: RequestState = { route, code: null, started: performance.now(), computing: false };
        this.states.set(request, state);
        const release = this.metrics.started(route);
        // Counted once, when the response is done or the connection is gone, whichever way the
        // request ended (answered, streamed, refused by a hook, or abandoned by its client).
        reply.raw.once('close', () => {
          release();
          if (state.computing) this.computing--;
          const finished = reply.raw.writableFinished;
          const code = finished ? state.code ?? (reply.statusCode >= 400 ? codeOfStatus(reply.statusCode) : null) : (state.code ?? ErrorCode.Cancelled);
          this.metrics.finished(route, outcomeOf(code), code, (performance.now() - state.started) / 1000);
        });
      }
      // Probes and scrapes still answer while draining (/readyz says it is shutting down).
      if (this.shuttingDown && isWorkRoute(request)) {
        reply.header('connection', 'close');
        throw new ServiceError(ServiceErrorCode.ShuttingDown, 'the server is shutting down: retry on another instance', 503, { 'retry-after': '1' });
      }
    });

    if (options.rateLimit) {
      await app.register(fastifyRateLimit, {
        global: true,
        max: options.rateLimit.max,
        timeWindow: options.rateLimit.timeWindowMs,
        // Only the work routes; probes and scrapes are never limited.
        allowList: (request) => !isWorkRoute(request),
        keyGenerator: (request) => {
          const token = bearer(request);
          return token ? `token:${digest(token).toString('hex')}` : `ip:${request.ip}`;
        },
        errorResponseBuilder: (_request, context) =>
          Object.assign(new ServiceError(ServiceErrorCode.RateLimited, `rate limit: at most ${context.max} requests per ${context.after}; retry after Retry-After seconds`, 429), {
            statusCode: 429,
          }),
      });
    }

    app.addHook('onRequest', async (request) => {
      if (!isWorkRoute(request) || this.tokens.length === 0) return;
      const token = bearer(request);
      if (!token || !this.tokens.some((t) => timingSafeEqual(t, digest(token)))) {
        throw new ServiceError(ServiceErrorCode.Unauthorized, token ? 'the bearer token is not valid' : 'an Authorization: Bearer token is required', 401, {
          'www-authenticate': 'Bearer realm="edict"',
        });
      }
    });

    // Early 413 on a declared length: nothing is read (multipart parts have their own limits).
    app.addHook('onRequest', async (request, reply) => {
      const length = Number(request.headers['content-length'] ?? 0);
      if (length > this.bodyLimit) {
        reply.header('connection', 'close');
        throw new ServiceError(ServiceErrorCode.BodyTooLarge, `the body is ${length} bytes, over the limit of ${this.bodyLimit}`, 413);
      }
    });

    app.addHook('onSend', async (_request, reply) => {
      if (this.shuttingDown) reply.header('connection', 'close');
    });

    app.setErrorHandler((error, request, reply) => {
      const { code, status, message, headers } = describeError(error);
      if (status >= 500 && status !== 503) request.log.error({ err: error }, 'request failed');
      this.sendError(request, reply, code, status, message, headers);
    });
    app.setNotFoundHandler((request, reply) => {
      this.sendError(request, reply, ServiceErrorCode.NotFound, 404, `no route ${request.method} ${request.url.split('?')[0]}`, {});
    });

    // ---- probes, metrics, description -------------------------------------------------------
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) => {
      if (this.shuttingDown) return reply.code(503).send({ ready: false, reason: 'shutting down' });
      if (this.computing >= this.maxInflight) return reply.code(503).send({ ready: false, reason: `${this.computing} requests are in progress (--max-inflight)` });
      let state: { ready: boolean; reason?: string };
      try {
        state = await this.backend.ready();
      } catch (error) {
        state = { ready: false, reason: describeError(error).message };
      }
      return reply.code(state.ready ? 200 : 503).send(state);
    });
    app.get('/metrics', async (_request, reply) => reply.type(this.metrics.contentType).send(await this.metrics.text()));
    app.get('/openapi.json', async () => openApiDocument());

    // ---- work -------------------------------------------------------------------------------
    // Admission, before the body is read: the in-flight bound, then the backend's readiness.
    const shed = async (request: FastifyRequest) => {
      const state = this.states.get(request);
      if (!state) return;
      if (this.computing >= this.maxInflight) {
        throw this.overloaded(`${this.computing} requests are in progress, this server's limit (--max-inflight ${this.maxInflight})`);
      }
      state.computing = true;
      this.computing++;
      const ready = await this.backend.ready().catch((error: unknown) => ({ ready: false, reason: describeError(error).message }));
      if (!ready.ready) throw this.overloaded(ready.reason ?? 'the service cannot take work now');
    };
    const compute = { onRequest: shed };

    app.post('/v1/edit', compute, (request, reply) =>
      this.serve('/v1/edit', request, reply, ['image'], false, async (input, options, context) => {
        const result = await this.backend.edit(input.bytes!, options as never, context);
        return { kind: 'images', images: result.images, imagesY: result.imagesY, timings: result.timings, warnings: result.warnings };
      }),
    );

    app.post('/v1/invert', compute, (request, reply) =>
      this.serve('/v1/invert', request, reply, ['image'], false, async (input, options, context) => {
        const result = await this.backend.invert(input.bytes!, options as never, context);
        const id = await this.latents.put(result.latents);
        return { kind: 'json', status: 201, headers: { location: `/v1/latents/${id}` }, body: { id, bytes: result.latents.length, timings: result.timings, warnings: result.warnings }, timings: result.timings };
      }),
    );

    app.post('/v1/generate', compute, (request, reply) =>
      this.serve('/v1/generate', request, reply, ['latents'], true, async (input, options, context) => {
        const latents = input.bytes ?? (await this.latents.get(input.id!));
        if (!latents) throw new ServiceError(ServiceErrorCode.NotFound, `no latents with id ${JSON.stringify(input.id)} (never made here, or evicted: invert again)`, 404);
        const result = await this.backend.generate(latents, options as never, context);
        // The generated latents are kept like invert's, for download or another generate.
        const latentsId = await this.latents.put(result.latents);
        return { kind: 'images', images: result.images, imagesY: result.imagesY, latentsId, timings: result.timings, warnings: result.warnings };
      }),
    );

    app.post('/v1/reconstruct', compute, (request, reply) =>
      this.serve('/v1/reconstruct', request, reply, ['image'], false, async (input, options, context) => {
        const r = await this.backend.reconstruct(input.bytes!, options as never, context);
        const finite = (v: number) => (Number.isFinite(v) ? v : null);
        return {
          kind: 'json',
          status: 200,
          headers: {},
          timings: r.timings,
          body: {
            image: r.image.toString('base64'),
            latentMaxAbsError: r.latentMaxAbsError,
            latentRmsError: r.latentRmsError,
            pixelPsnr: finite(r.pixelPsnr),
            vaePsnr: finite(r.vaePsnr),
            roundTripPsnr: finite(r.roundTripPsnr),
            timings: r.timings,
            warnings: r.warnings,
          },
        };
      }),
    );

    app.get<{ Params: { id: string } }>('/v1/latents/:id', async (request, reply) => {
      const bytes = await this.latents.get(request.params.id);
      if (!bytes) throw new ServiceError(ServiceErrorCode.NotFound, `no latents with id ${JSON.stringify(request.params.id)}`, 404);
      return reply
        .type('application/octet-stream')
        .header('content-disposition', `attachment; filename="${request.params.id}.safetensors"`)
        .send(bytes);
    });
  }

  /**
   * The request's options, checked with the API's own schema (a bad option is a 400 before any
   * work starts, even on an event stream) and with the server's limits: targets per request
   * and the time limit (a request may ask for less time, never more).
   */
  private options(route: ComputeRoute, options: Record<string, unknown>): Record<string, unknown> {
    const { schema, what, targets } = ROUTE_OPTIONS[route];
    for (const key of callbackKeys(schema)) {
      if (key in options) throw new ServiceError(ErrorCode.InvalidOption, `${what}: option "${key}" is a callback of the in-process API, not an HTTP option`, 400);
    }
    const many = targets ? options[targets] : undefined;
    if (Array.isArray(many) && many.length > this.maxTargets) {
      throw new ServiceError(ErrorCode.InvalidOption, `${what}: option "${targets}": ${many.length} given, this server takes at most ${this.maxTargets} per request`, 400);
    }
    let checked = options;
    if (this.timeoutMs > 0) {
      const asked = options.timeoutMs;
      if (asked === undefined || (typeof asked === 'number' && asked > this.timeoutMs)) checked = { ...options, timeoutMs: this.timeoutMs };
    }
    validate(schema, checked, what);
    return checked;
  }

  private overloaded(reason: string): ServiceError {
    return new ServiceError(ErrorCode.Overloaded, reason, 503, { 'retry-after': String(this.retryAfter()) });
  }

  private retryAfter(): number {
    return Math.max(1, Math.ceil(this.recentSeconds));
  }

  /**
   * One compute request: read the input, run it with a signal that fires when the client goes
   * away, and answer as PNG, JSON or an event stream (Accept: text/event-stream).
   */
  private async serve(
    route: ComputeRoute,
    request: FastifyRequest,
    reply: FastifyReply,
    files: readonly ('image' | 'latents')[],
    allowId: boolean,
    run: (input: RequestInput, options: Record<string, unknown>, context: CallContext) => Promise<Answer>,
  ): Promise<void> {
    const controller = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) controller.abort();
    };
    reply.raw.on('close', onClose);
    const started = performance.now();
    const stream = accepts(request, 'text/event-stream');
    let events: EventStream | null = null;
    try {
      const input = await readInput(request, files, allowId);
      // Checked before an event stream starts: a bad option is a plain 400.
      const options = this.options(route, input.options);
      if (stream) events = new EventStream(reply);
      const context: CallContext = { signal: controller.signal, ...(events ? { onProgress: events.progress } : {}) };
      const answer = await run(input, options, context);
      this.observe(route, answer.timings, started);
      if (controller.signal.aborted) throw new ServiceError(ErrorCode.Cancelled, 'the client went away', CLIENT_CLOSED_REQUEST);
      if (events) {
        events.result(answerJson(answer));
      } else {
        await this.sendAnswer(request, reply, answer);
      }
    } catch (error) {
      const cancelled = controller.signal.aborted;
      const described = cancelled ? { code: ErrorCode.Cancelled, status: CLIENT_CLOSED_REQUEST, message: 'the client went away', headers: {} } : describeError(error);
      if (described.code === ErrorCode.Overloaded) Object.assign(described.headers, { 'retry-after': String(this.retryAfter()) });
      if (described.status >= 500 && described.status < 600 && described.status !== 503) request.log.error({ err: error }, 'request failed');
      const state = this.states.get(request);
      if (state) state.code = described.code;
      if (cancelled) {
        // Nobody reads the answer; it is sent (into a closed socket) so fastify's reply completes.
        if (!events) this.sendError(request, reply, described.code, described.status, described.message, {});
      } else if (events) {
        events.error(described.code, described.status, described.message);
      } else {
        this.sendError(request, reply, described.code, described.status, described.message, described.headers);
      }
    } finally {
      reply.raw.off('close', onClose);
    }
  }

  private async sendAnswer(request: FastifyRequest, reply: FastifyReply, answer: Answer): Promise<void> {
    if (answer.timings) reply.header('server-timing', serverTiming(answer.timings));
    if (answer.kind === 'images') {
      if (answer.warnings.length) reply.header('x-edict-warnings', warningsHeader(answer.warnings));
      if (answer.latentsId) reply.header('x-edict-latents-id', answer.latentsId);
      // One PNG answers as the image itself; y's decodes (`both`) need the JSON form.
      if (answer.images.length === 1 && !answer.imagesY && !accepts(request, 'application/json')) {
        return reply.code(200).type('image/png').send(answer.images[0]);
      }
    }
    const json = answerJson(answer);
    return reply
      .code(answer.kind === 'json' ? answer.status : 200)
      .headers(answer.kind === 'json' ? answer.headers : {})
      .send(json);
  }

  private sendError(request: FastifyRequest, reply: FastifyReply, code: string, status: number, message: string, headers: Record<string, string>): void {
    const state = this.states.get(request);
    if (state) state.code = code;
    const body: ErrorBody = { error: { code, message } };
    reply.code(status).headers(headers).type('application/json').send(body);
  }

  private observe(route: string, timings: Timings | undefined, started: number): void {
    this.metrics.timings(route, timings);
    const seconds = (performance.now() - started) / 1000;
    this.recentSeconds = 0.8 * this.recentSeconds + 0.2 * seconds;
  }
}

/** What a route's work returns, before it is encoded for the client. */
type Answer =
  | { kind: 'images'; images: Buffer[]; imagesY?: Buffer[]; latentsId?: string; timings?: Timings; warnings: string[] }
  | { kind: 'json'; status: number; headers: Record<string, string>; body: Record<string, unknown>; timings?: Timings };

function answerJson(answer: Answer): Record<string, unknown> {
  if (answer.kind === 'json') return answer.body;
  return {
    images: answer.images.map((png) => png.toString('base64')),
    ...(answer.imagesY ? { imagesY: answer.imagesY.map((png) => png.toString('base64')) } : {}),
    ...(answer.latentsId ? { latentsId: answer.latentsId } : {}),
    timings: answer.timings,
    warnings: answer.warnings,
  };
}

/** A Server-Sent Events answer: progress events, then one result or error event. */
class EventStream {
  private readonly heartbeat: NodeJS.Timeout;
  private ended = false;

  constructor(private readonly reply: FastifyReply) {
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    reply.raw.write(': edict\n\n');
    this.heartbeat = setInterval(() => this.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
    this.heartbeat.unref();
    reply.raw.on('close', () => clearInterval(this.heartbeat));
  }

  readonly progress = (progress: Progress): void => {
    this.send('progress', { phase: progress.phase, step: progress.step, total: progress.total });
  };

  result(body: Record<string, unknown>): void {
    this.send('result', body);
    this.end();
  }

  error(code: string, status: number, message: string): void {
    this.send('error', { error: { code, message }, status });
    this.end();
  }

  private send(event: string, data: unknown): void {
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(text: string): void {
    if (!this.ended && !this.reply.raw.destroyed) this.reply.raw.write(text);
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    this.reply.raw.end();
  }
}

/**
 * A /v1 route, by the route fastify matched (not by the URL's text, which may be spelled in
 * more than one way): these need the token, are rate limited and counted.
 */
function isWorkRoute(request: FastifyRequest): boolean {
  return request.routeOptions.url?.startsWith('/v1/') ?? false;
}

function accepts(request: FastifyRequest, type: string): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.toLowerCase().split(',').some((part) => part.trim().split(';')[0] === type);
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}

/** Tokens are compared as SHA-256 digests: equal lengths for timingSafeEqual, nothing learnt from timing. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** A header-safe JSON string (non-ASCII escaped). */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The warnings as a JSON list for a header, shortened to stay within what clients accept (4 KiB). */
function warningsHeader(warnings: string[]): string {
  const limit = 4096;
  let text = asciiJson(warnings);
  for (let kept = warnings.length - 1; text.length > limit && kept >= 0; kept--) {
    text = asciiJson([...warnings.slice(0, kept).map((w) => w.slice(0, 1000)), `(${warnings.length - kept} more: ask for application/json)`]);
  }
  return text;
}

function serverTiming(t: Timings): string {
  const ms = (seconds: number) => (seconds * 1000).toFixed(1);
  const compute = t.encodeSeconds + t.invertSeconds + t.generateSeconds + t.decodeSeconds;
  return `queue;dur=${ms(t.queueSeconds)}, compute;dur=${ms(compute)}, unet;dur=${ms(t.unetSeconds)}, total;dur=${ms(t.totalSeconds)}`;
}

/** The code of a response that did not come through sendError (a plugin's own reply). */
function codeOfStatus(status: number): string {
  if (status === 401) return ServiceErrorCode.Unauthorized;
  if (status === 404) return ServiceErrorCode.NotFound;
  if (status === 413) return ServiceErrorCode.BodyTooLarge;
  if (status === 429) return ServiceErrorCode.RateLimited;
  if (status === 503) return ErrorCode.Overloaded;
  if (status >= 500) return ErrorCode.Native;
  return ServiceErrorCode.BadRequest;
}
