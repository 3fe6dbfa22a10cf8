/**
 * The OpenAPI 3 description of the service, served at GET /openapi.json and committed as
 * docs/openapi.json (test/service.test.ts checks that they are equal; regenerate with
 * `node dist/cli/main.js serve --openapi > docs/openapi.json`). The options of each route are
 * the API's own zod schemas (src/options.ts) converted to JSON Schema, so they cannot drift
 * from what the engine accepts.
 */
import { z } from 'zod';

import { editOptionsSchema, generateOptionsSchema, invertOptionsSchema, reconstructOptionsSchema } from '../options.js';
import { plainSchema } from './plain-options.js';
import { STATUS_OF_CODE } from './status.js';

type Json = Record<string, unknown>;

/** An API schema without its in-process callbacks, as JSON Schema (OpenAPI 3.0 dialect). */
function optionsSchema(schema: z.ZodObject, description: string): Json {
  const plain = plainSchema(schema);
  const json = z.toJSONSchema(plain, { target: 'openapi-3.0', io: 'input' }) as Json;
  delete json.$schema;
  return { ...json, description };
}

/** The JSON body: the options plus the file as base64 (or, for generate, an id). */
function jsonBody(options: Json, files: Record<string, Json>, oneOf: string[][] | null): Json {
  const body: Json = {
    ...options,
    properties: { ...(options.properties as Json), ...files },
    required: [...((options.required as string[]) ?? []), ...(oneOf ? [] : Object.keys(files))],
    description: `${options.description as string} Sent as JSON, the file is a base64 string (a data: URL is accepted too).`,
  };
  if (oneOf) body.oneOf = oneOf.map((required) => ({ required }));
  return body;
}

function multipartBody(file: string, fileDescription: string, optionsRef: string, extra: Json = {}): Json {
  return {
    type: 'object',
    properties: {
      [file]: { type: 'string', format: 'binary', description: fileDescription },
      options: { ...ref(optionsRef), description: 'the options, as JSON' },
      ...extra,
    },
    required: Object.keys(extra).length ? ['options'] : [file, 'options'],
  };
}

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

const base64Image = { type: 'string', format: 'byte', description: 'the image file (PNG, JPEG, WebP, ...) as base64' };

function errors(statuses: number[]): Json {
  const descriptions: Record<number, string> = {
    400: 'a bad option, prompt, image or latents file (ERR_INVALID_OPTION, ERR_PROMPT, ERR_IMAGE_*, ERR_LATENTS_FILE, ERR_BAD_REQUEST)',
    401: 'a bearer token is required (ERR_UNAUTHORIZED)',
    404: 'no such latents id (ERR_NOT_FOUND)',
    409: 'latents made by another model (ERR_MODEL_MISMATCH)',
    413: 'the body is over the limit (ERR_BODY_TOO_LARGE)',
    415: 'neither JSON nor multipart (ERR_UNSUPPORTED_MEDIA_TYPE)',
    422: 'the computation produced NaN or infinity (ERR_NONFINITE)',
    429: 'rate limited (ERR_RATE_LIMITED); see Retry-After',
    503: 'the queue is full (ERR_OVERLOADED) or the server is shutting down (ERR_SHUTTING_DOWN); see Retry-After',
    504: "the request's time limit passed, queued or running (ERR_TIMEOUT)",
    500: 'a failure of the server or its model (every other code)',
  };
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: descriptions[status],
        ...(status === 503 || status === 429 ? { headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds to wait' } } } : {}),
        content: { 'application/json': { schema: ref('Error') } },
      },
    ]),
  );
}

const WORK_ERRORS = [400, 401, 409, 413, 415, 422, 429, 503, 504, 500];

const eventStream = {
  'text/event-stream': {
    schema: { type: 'string' },
    description:
      'With Accept: text/event-stream: `progress` events ({phase, step, total}), then one `result` event (the JSON answer) ' +
      'or one `error` event ({error: {code, message}, status}).',
  },
};

function imagesAnswer(what: string): Json {
  return {
    description: `${what}: one PNG (image/png) for one target unless Accept asks for application/json; JSON with base64 PNGs otherwise`,
    headers: {
      'Server-Timing': { schema: { type: 'string' }, description: 'queue, compute, unet and total milliseconds' },
      'X-Edict-Warnings': { schema: { type: 'string' }, description: 'the warnings as a JSON list (PNG answers; only when there are any)' },
    },
    content: {
      'image/png': { schema: { type: 'string', format: 'binary' } },
      'application/json': { schema: ref('ImagesAnswer') },
      ...eventStream,
    },
  };
}

const sse = {
  name: 'Accept',
  in: 'header',
  required: false,
  schema: { type: 'string' },
  description: 'text/event-stream for progress events; application/json for JSON instead of a PNG',
};

let cached: Json | null = null;

export function openApiDocument(): Json {
  cached ??= build();
  return cached;
}

function build(): Json {
  const edit = optionsSchema(editOptionsSchema, 'Options of POST /v1/edit: the API\'s edit() options (README.md, "API").');
  const invert = optionsSchema(invertOptionsSchema, 'Options of POST /v1/invert: the API\'s invert() options.');
  const generate = optionsSchema(generateOptionsSchema, 'Options of POST /v1/generate: the API\'s generate() options.');
  const reconstruct = optionsSchema(reconstructOptionsSchema, 'Options of POST /v1/reconstruct: the API\'s reconstruct() options.');
  const latentsFile = { type: 'string', format: 'byte', description: 'a .safetensors latents file (GET /v1/latents/{id}) as base64' };
  const idField = { type: 'string', format: 'uuid', description: 'the id POST /v1/invert returned' };
  const work = (summary: string, description: string, json: string, form: Json, ok: Json, okStatus = '200'): Json => ({
    post: {
      summary,
      description,
      security: [{ bearer: [] }, {}],
      parameters: [sse],
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: ref(json) },
          'multipart/form-data': { schema: form, encoding: { options: { contentType: 'application/json' } } },
        },
      },
      responses: { [okStatus]: ok, ...errors(WORK_ERRORS) },
    },
  });
  return {
    openapi: '3.0.3',
    info: {
      title: 'edict',
      version: '1.0.0',
      description:
        'Text-guided image editing by EDICT (exact diffusion inversion) over HTTP: `edict serve`. Every error is ' +
        '{"error": {"code", "message"}} with the engine\'s EdictError code (or the service\'s ERR_BAD_REQUEST, ERR_UNAUTHORIZED, ' +
        'ERR_NOT_FOUND, ERR_BODY_TOO_LARGE, ERR_UNSUPPORTED_MEDIA_TYPE, ERR_RATE_LIMITED, ERR_SHUTTING_DOWN). The /v1 routes ' +
        'need a bearer token when the server was started with --token. Guide: docs/service.md.',
      'x-status-of-code': STATUS_OF_CODE,
    },
    paths: {
      '/v1/edit': work(
        'Edit an image',
        'Inverts the image with `source` and regenerates it with each `target` (one inversion, one batch).',
        'EditBody',
        multipartBody('image', 'the image file', 'EditOptions'),
        imagesAnswer('the edited images'),
      ),
      '/v1/invert': work(
        'Invert an image to latents kept by the server',
        'Answers the id of the latents, kept in a bounded LRU in memory (and in --latents-dir when set) for POST /v1/generate and GET /v1/latents/{id}.',
        'InvertBody',
        multipartBody('image', 'the image file', 'InvertOptions'),
        {
          description: 'the latents id',
          headers: { Location: { schema: { type: 'string' }, description: '/v1/latents/{id}' } },
          content: { 'application/json': { schema: ref('InvertAnswer') }, ...eventStream },
        },
        '201',
      ),
      '/v1/generate': work(
        'Generate from inverted latents with new prompts',
        'Continues from the latents of an earlier /v1/invert (`id`) or from an uploaded latents file; one latent and K prompts run as a batch of K.',
        'GenerateBody',
        multipartBody('latents', 'a .safetensors latents file', 'GenerateOptions', { id: idField }),
        imagesAnswer('the generated images'),
      ),
      '/v1/reconstruct': work(
        'Invert and regenerate with the same prompt, and measure the round trip',
        'Answers the reconstruction (base64 PNG) and its errors; PSNRs that are infinite (identical images) are null.',
        'ReconstructBody',
        multipartBody('image', 'the image file', 'ReconstructOptions'),
        { description: 'the reconstruction and its errors', content: { 'application/json': { schema: ref('ReconstructAnswer') }, ...eventStream } },
      ),
      '/v1/latents/{id}': {
        get: {
          summary: 'Download latents as .safetensors',
          security: [{ bearer: [] }, {}],
          parameters: [{ name: 'id', in: 'path', required: true, schema: idField }],
          responses: {
            '200': { description: 'the .safetensors file (F64 tensors x and y, parameters as metadata)', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
            ...errors([401, 404, 429]),
          },
        },
      },
      '/healthz': { get: { summary: 'Alive', responses: { '200': { description: 'the process serves HTTP', content: { 'application/json': { schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } } } } } } } },
      '/readyz': {
        get: {
          summary: 'Ready for work',
          description: 'The model is loaded (or the workers are reachable) and the queue is not full.',
          responses: {
            '200': { description: 'ready', content: { 'application/json': { schema: ref('Readiness') } } },
            '503': { description: 'not ready: loading, queue full or shutting down', content: { 'application/json': { schema: ref('Readiness') } } },
          },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'the text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3', content: { 'application/json': { schema: { type: 'object' } } } } } } },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'one of the --token values (only when the server has any)' } },
      schemas: {
        EditOptions: edit,
        InvertOptions: invert,
        GenerateOptions: generate,
        ReconstructOptions: reconstruct,
        EditBody: jsonBody(edit, { image: base64Image }, null),
        InvertBody: jsonBody(invert, { image: base64Image }, null),
        GenerateBody: jsonBody(generate, { id: idField, latents: latentsFile }, [['id'], ['latents']]),
        ReconstructBody: jsonBody(reconstruct, { image: base64Image }, null),
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string', enum: Object.keys(STATUS_OF_CODE) }, message: { type: 'string' } },
            },
          },
        },
        Timings: {
          type: 'object',
          description: 'seconds, as the API reports them (README.md, "Concurrency")',
          properties: Object.fromEntries(
            ['totalSeconds', 'queueSeconds', 'unetSeconds', 'unetCalls', 'threads', 'encodeSeconds', 'invertSeconds', 'generateSeconds', 'decodeSeconds'].map((k) => [k, { type: 'number' }]),
          ),
        },
        ImagesAnswer: {
          type: 'object',
          required: ['images', 'warnings'],
          properties: {
            images: { type: 'array', items: { type: 'string', format: 'byte' }, description: 'one base64 PNG per target' },
            imagesY: { type: 'array', items: { type: 'string', format: 'byte' }, description: 'with both (EDICT): the decodes of y, one base64 PNG per target' },
            latentsId: { ...idField, description: 'generate: the id of the generated latents (GET /v1/latents/{id}, or the id of another generate)' },
            timings: ref('Timings'),
            warnings: { type: 'array', items: { type: 'string' } },
          },
        },
        InvertAnswer: {
          type: 'object',
          required: ['id', 'bytes', 'warnings'],
          properties: { id: idField, bytes: { type: 'integer', description: 'size of the .safetensors file' }, timings: ref('Timings'), warnings: { type: 'array', items: { type: 'string' } } },
        },
        ReconstructAnswer: {
          type: 'object',
          properties: {
            image: { type: 'string', format: 'byte', description: 'the reconstruction, base64 PNG' },
            latentMaxAbsError: { type: 'number' },
            latentRmsError: { type: 'number' },
            pixelPsnr: { type: 'number', nullable: true },
            vaePsnr: { type: 'number', nullable: true },
            roundTripPsnr: { type: 'number', nullable: true, description: 'null when the reconstruction equals the VAE round trip' },
            timings: ref('Timings'),
            warnings: { type: 'array', items: { type: 'string' } },
          },
        },
        Readiness: { type: 'object', required: ['ready'], properties: { ready: { type: 'boolean' }, reason: { type: 'string' } } },
      },
    },
  };
}
