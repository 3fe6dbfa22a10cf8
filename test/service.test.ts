// The HTTP service in-process on a free loopback port, over the bundled model, exercised with
// real HTTP (fetch): edits by JSON and multipart, invert -> generate -> latents download,
// reconstruct, Server-Sent Events, bearer tokens, typed JSON errors, 413, rate limiting,
// concurrent requests sharing UNet calls, /metrics, /readyz and the OpenAPI document.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Latents } from '../src/latents.js';
import { LocalBackend } from '../src/service/local-backend.js';
import { EdictServer } from '../src/service/server.js';
import { repoRoot } from './helpers/fixtures.js';
import { captionOf, metricValue, parseEvents, scenePng, sharing, SOURCE, SQUARE, YELLOW } from './service-helpers.js';

const TOKEN = 'test-token-1';
const STEPS = 10;

let backend: LocalBackend;
let server: EdictServer;
let url: string;

/** fetch with the bearer token. */
function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers as Record<string, string>) } });
}

function json(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return api(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

function form(parts: Record<string, Blob | string>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(parts)) {
    if (typeof value === 'string') data.append(name, value);
    else data.append(name, value, `${name}.bin`);
  }
  return data;
}

async function expectError(response: Response, status: number, code: string): Promise<string> {
  const body = (await response.json()) as { error?: { code: string; message: string } };
  expect({ status: response.status, code: body.error?.code }, body.error?.message).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return body.error!.message;
}

const edit = { source: SOURCE, target: YELLOW, steps: STEPS };

beforeAll(async () => {
  backend = await LocalBackend.create({ maxPixels: 64 * 64, batching: { policy: 'continuous' } });
  server = await EdictServer.create({ backend, tokens: [TOKEN, 'test-token-2'], bodyLimit: 256 * 1024, maxTargets: 4, timeoutMs: 60_000 });
  url = await server.listen({ port: 0 });
});

afterAll(async () => {
  await server?.close();
});

describe('probes and description', () => {
  it('healthz and readyz answer without a token; the server listens on loopback', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
  });

  it('serves the OpenAPI document that docs/openapi.json commits', async () => {
    const served = await (await fetch(`${url}/openapi.json`)).json();
    const committed = JSON.parse(readFileSync(join(repoRoot, 'docs', 'openapi.json'), 'utf8'));
    // Regenerate with: node dist/cli/main.js serve --openapi > docs/openapi.json
    expect(served).toEqual(committed);
    expect(Object.keys((served as { paths: object }).paths)).toEqual(
      expect.arrayContaining(['/v1/edit', '/v1/invert', '/v1/generate', '/v1/reconstruct', '/v1/latents/{id}', '/healthz', '/readyz', '/metrics']),
    );
  });
});

describe('edits', () => {
  it('a JSON body with a base64 image answers a PNG that shows the target', async () => {
    const response = await json('/v1/edit', { image: scenePng.toString('base64'), ...edit });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('server-timing')).toMatch(/queue;dur=[\d.]+, compute;dur=[\d.]+/);
    expect(await captionOf(await response.arrayBuffer())).toBe(YELLOW);
  });

  it('a multipart body with two targets answers JSON: two base64 PNGs, timings, warnings', async () => {
    const response = await api('/v1/edit', {
      method: 'POST',
      body: form({ image: new Blob([scenePng], { type: 'image/png' }), options: JSON.stringify({ ...edit, target: [YELLOW, SQUARE] }) }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { images: string[]; timings: { unetCalls: number; totalSeconds: number }; warnings: string[] };
    expect(body.images).toHaveLength(2);
    expect(await captionOf(Buffer.from(body.images[0], 'base64'))).toBe(YELLOW);
    expect(await captionOf(Buffer.from(body.images[1], 'base64'))).toBe(SQUARE);
    expect(body.timings.unetCalls).toBeGreaterThan(0);
    expect(body.warnings).toEqual([]);
  });

  it('Accept: application/json gets JSON for one target; unknown words come back as warnings', async () => {
    const response = await json('/v1/edit', { image: scenePng.toString('base64'), ...edit, target: 'a yellow dog on a blue striped background' }, { accept: 'application/json' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { images: string[]; warnings: string[] };
    expect(body.images).toHaveLength(1);
    expect(body.warnings.join(' ')).toMatch(/dog/);
    // A PNG answer carries them in a header.
    const png = await json('/v1/edit', { image: scenePng.toString('base64'), ...edit, target: 'a yellow dog on a blue striped background' });
    expect(png.headers.get('content-type')).toBe('image/png');
    expect((JSON.parse(png.headers.get('x-edict-warnings')!) as string[]).join(' ')).toMatch(/dog/);
  });

  it('concurrent requests share UNet calls (continuous policy) and all answer', async () => {
    const before = backend.counters()!;
    const responses = await Promise.all(
      [YELLOW, SQUARE, YELLOW, SQUARE].map((target) => json('/v1/edit', { image: scenePng.toString('base64'), ...edit, target })),
    );
    const captions = await Promise.all(responses.map(async (r) => (expect(r.status).toBe(200), captionOf(await r.arrayBuffer()))));
    expect(captions).toEqual([YELLOW, SQUARE, YELLOW, SQUARE]);
    const after = backend.counters()!;
    const shared = Object.entries(after.batchSizes).some(([size, calls]) => Number(size) > 1 && calls > (before.batchSizes[size] ?? 0));
    expect(shared, JSON.stringify(after.batchSizes)).toBe(true);
  });
});

describe('invert, generate, latents', () => {
  it('invert answers an unguessable id; generate continues from it; the latents download as .safetensors', async () => {
    const inverted = await json('/v1/invert', { image: scenePng.toString('base64'), prompt: SOURCE, steps: STEPS });
    expect(inverted.status).toBe(201);
    const { id, bytes } = (await inverted.json()) as { id: string; bytes: number };
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(inverted.headers.get('location')).toBe(`/v1/latents/${id}`);

    const generated = await json('/v1/generate', { id, prompt: YELLOW });
    expect(generated.status).toBe(200);
    const byId = Buffer.from(await generated.arrayBuffer());
    expect(await captionOf(byId)).toBe(YELLOW);

    const download = await api(`/v1/latents/${id}`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/octet-stream');
    const file = Buffer.from(await download.arrayBuffer());
    expect(file.length).toBe(bytes);
    const latents = Latents.fromSafeTensors(file);
    expect(latents.params).toMatchObject({ stage: 'inverted', prompts: [SOURCE], steps: STEPS, method: 'edict' });

    // The downloaded file, uploaded again, generates the same image.
    const uploaded = await api('/v1/generate', { method: 'POST', body: form({ latents: new Blob([file]), options: JSON.stringify({ prompt: YELLOW }) }) });
    expect(uploaded.status).toBe(200);
    expect(Buffer.from(await uploaded.arrayBuffer()).equals(byId)).toBe(true);

    // Several prompts from one latent: JSON.
    const many = await json('/v1/generate', { id, prompt: [YELLOW, SQUARE] });
    const body = (await many.json()) as { images: string[]; latentsId: string };
    expect(await Promise.all(body.images.map((b) => captionOf(Buffer.from(b, 'base64'))))).toEqual([YELLOW, SQUARE]);

    // The generated latents are kept too: downloadable, with the generation's parameters.
    expect(body.latentsId).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.headers.get('x-edict-latents-id')).toMatch(/^[0-9a-f-]{36}$/);
    const made = Latents.fromSafeTensors(Buffer.from(await (await api(`/v1/latents/${body.latentsId}`)).arrayBuffer()));
    expect(made.params).toMatchObject({ stage: 'generated', prompts: [YELLOW, SQUARE] });
    expect(made.shape[0]).toBe(2);
  });

  it('both (EDICT) answers JSON with the decodes of x and of y', async () => {
    const response = await json('/v1/edit', { image: scenePng.toString('base64'), ...edit, target: YELLOW, both: true });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await response.json()) as { images: string[]; imagesY: string[] };
    expect(body.images).toHaveLength(1);
    expect(body.imagesY).toHaveLength(1);
    // The same PNGs as the API's x and y decodes for the same call.
    const direct = await backend.edit(scenePng, { ...edit, target: YELLOW, both: true }, {});
    expect(Buffer.from(body.images[0], 'base64').equals(direct.images[0])).toBe(true);
    expect(Buffer.from(body.imagesY[0], 'base64').equals(direct.imagesY![0])).toBe(true);
  });

  it('unknown or malformed ids are 404s, never paths', async () => {
    await expectError(await json('/v1/generate', { id: '00000000-0000-4000-8000-000000000000', prompt: YELLOW }), 404, 'ERR_NOT_FOUND');
    await expectError(await json('/v1/generate', { id: '../../etc/passwd', prompt: YELLOW }), 404, 'ERR_NOT_FOUND');
    await expectError(await api('/v1/latents/..%2F..%2Fetc%2Fpasswd'), 404, 'ERR_NOT_FOUND');
    await expectError(await api('/v1/latents/not-an-id'), 404, 'ERR_NOT_FOUND');
  });

  it('reconstruct answers the round trip and its errors (EDICT: exact)', async () => {
    const response = await json('/v1/reconstruct', { image: scenePng.toString('base64'), prompt: SOURCE, steps: STEPS });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { image: string; latentMaxAbsError: number; pixelPsnr: number; roundTripPsnr: number | null };
    expect(body.latentMaxAbsError).toBeLessThan(1e-10);
    expect(body.pixelPsnr).toBeGreaterThan(25);
    expect(body.roundTripPsnr).toBeNull(); // identical to the VAE round trip: infinite PSNR
    expect(await captionOf(Buffer.from(body.image, 'base64'))).toBe(SOURCE);
  });
});

describe('progress as Server-Sent Events', () => {
  it('streams progress events, then the result', async () => {
    const response = await json('/v1/edit', { image: scenePng.toString('base64'), ...edit }, { accept: 'text/event-stream' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseEvents(await response.text());
    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data as { phase: string; step: number; total: number });
    expect(progress.filter((p) => p.phase === 'invert')).toHaveLength(8);
    expect(progress.filter((p) => p.phase === 'generate')).toHaveLength(8);
    expect(progress.at(-1)).toMatchObject({ phase: 'decode' });
    const last = events.at(-1)!;
    expect(last.event).toBe('result');
    const { images } = last.data as { images: string[] };
    expect(await captionOf(Buffer.from(images[0], 'base64'))).toBe(YELLOW);
  });

  it('a failure after the stream began is an error event with the code and status', async () => {
    const response = await json('/v1/edit', { image: scenePng.toString('base64'), ...edit, steps: 500, method: 'ddim', timeoutMs: 300 }, { accept: 'text/event-stream' });
    expect(response.status).toBe(200);
    const events = parseEvents(await response.text());
    expect(events.at(-1)).toEqual({ event: 'error', data: { error: { code: 'ERR_TIMEOUT', message: expect.stringMatching(/timed out/) }, status: 504 } });
  });

  it('a bad option is a plain 400 before any stream starts', async () => {
    const response = await json('/v1/edit', { image: scenePng.toString('base64'), ...edit, steps: -1 }, { accept: 'text/event-stream' });
    await expectError(response, 400, 'ERR_INVALID_OPTION');
  });
});

describe('authentication', () => {
  it('every /v1 route needs one of the tokens; probes and metrics do not', async () => {
    for (const [path, init] of [
      ['/v1/edit', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: scenePng.toString('base64'), ...edit }) }],
      ['/v1/invert', { method: 'POST' }],
      ['/v1/generate', { method: 'POST' }],
      ['/v1/reconstruct', { method: 'POST' }],
      ['/v1/latents/00000000-0000-4000-8000-000000000000', {}],
    ] as const) {
      const none = await fetch(`${url}${path}`, init);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      await expectError(none, 401, 'ERR_UNAUTHORIZED');
      await expectError(await fetch(`${url}${path}`, { ...init, headers: { ...('headers' in init ? init.headers : {}), authorization: 'Bearer wrong' } }), 401, 'ERR_UNAUTHORIZED');
    }
    // Other spellings of a route either reach it (and need the token) or reach nothing.
    for (const path of ['/v1/%65dit', '/v1/edit/', '/v1//edit', '//v1/edit', '/v1/./edit', '/V1/edit', '/v1/edit?x=1', '/v1/edit#x']) {
      const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: scenePng.toString('base64'), ...edit }) });
      expect([401, 404], path).toContain(response.status);
    }
    const second = await fetch(`${url}/v1/latents/00000000-0000-4000-8000-000000000000`, { headers: { authorization: 'Bearer test-token-2' } });
    await expectError(second, 404, 'ERR_NOT_FOUND');
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) expect((await fetch(`${url}${path}`)).status).toBe(200);
  });
});

describe('bad requests are typed JSON errors', () => {
  const image = scenePng.toString('base64');

  it('options: unknown, out of range, empty prompt, too many targets, callbacks', async () => {
    expect(await expectError(await json('/v1/edit', { image, ...edit, stepz: 5 }), 400, 'ERR_INVALID_OPTION')).toMatch(/did you mean "steps"/);
    expect(await expectError(await json('/v1/edit', { image, ...edit, strength: 2 }), 400, 'ERR_INVALID_OPTION')).toMatch(/strength/);
    await expectError(await json('/v1/edit', { image, ...edit, target: '  ' }), 400, 'ERR_PROMPT');
    await expectError(await json('/v1/invert', { image }), 400, 'ERR_PROMPT');
    expect(await expectError(await json('/v1/edit', { image, ...edit, target: [YELLOW, SQUARE, YELLOW, SQUARE, YELLOW] }), 400, 'ERR_INVALID_OPTION')).toMatch(/at most 4/);
    await expectError(await json('/v1/edit', { image, ...edit, signal: {} }), 400, 'ERR_INVALID_OPTION');
    await expectError(await json('/v1/edit', { image, ...edit, both: 'yes' }), 400, 'ERR_INVALID_OPTION');
  });

  it('images: not base64, not an image, over the pixel limit, a path (never read)', async () => {
    await expectError(await json('/v1/edit', { image: 'docs/examples/scene.png', ...edit }), 400, 'ERR_BAD_REQUEST');
    await expectError(await json('/v1/edit', { image: Buffer.from('not an image at all').toString('base64'), ...edit }), 400, 'ERR_IMAGE_DECODE');
    const big = await sharp({ create: { width: 100, height: 100, channels: 3, background: '#ff0000' } }).png().toBuffer();
    await expectError(await json('/v1/edit', { image: big.toString('base64'), ...edit }), 400, 'ERR_IMAGE_TOO_LARGE');
    await expectError(await json('/v1/edit', edit), 400, 'ERR_BAD_REQUEST');
    // Inside the options, a path is an unknown option, not a file to open.
    const multipart = await api('/v1/edit', { method: 'POST', body: form({ options: JSON.stringify({ ...edit, image: 'docs/examples/scene.png' }) }) });
    await expectError(multipart, 400, 'ERR_BAD_REQUEST');
    const extra = await api('/v1/edit', { method: 'POST', body: form({ image: new Blob([scenePng]), options: JSON.stringify({ ...edit, image: '/etc/hostname' }) }) });
    await expectError(extra, 400, 'ERR_INVALID_OPTION');
  });

  it('bodies: invalid JSON, not an object, wrong media type, bad multipart options, bad latents', async () => {
    await expectError(await api('/v1/edit', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"image":' }), 400, 'ERR_BAD_REQUEST');
    await expectError(await json('/v1/edit', [1, 2]), 400, 'ERR_BAD_REQUEST');
    await expectError(await api('/v1/edit', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE');
    await expectError(await api('/v1/edit', { method: 'POST', body: form({ image: new Blob([scenePng]), options: '{not json' }) }), 400, 'ERR_BAD_REQUEST');
    await expectError(await json('/v1/generate', { latents: Buffer.from('garbage!').toString('base64'), prompt: YELLOW }), 400, 'ERR_LATENTS_FILE');
    await expectError(await api('/v1/nowhere'), 404, 'ERR_NOT_FOUND');
  });

  it('a body over --body-limit is a 413, JSON or multipart', async () => {
    const huge = Buffer.alloc(300 * 1024, 7);
    await expectError(await json('/v1/edit', { image: huge.toString('base64'), ...edit }), 413, 'ERR_BODY_TOO_LARGE');
    await expectError(await api('/v1/edit', { method: 'POST', body: form({ image: new Blob([huge]), options: JSON.stringify(edit) }) }), 413, 'ERR_BODY_TOO_LARGE');
  });

  it('a time limit that passes is a 504 ERR_TIMEOUT', async () => {
    await expectError(await json('/v1/edit', { image, ...edit, steps: 500, method: 'ddim', timeoutMs: 200 }), 504, 'ERR_TIMEOUT');
  });
});

describe('rate limiting (@fastify/rate-limit)', () => {
  it('answers 429 with Retry-After past the limit, per token; probes are never limited', async () => {
    // A second server on the same pipeline; its close() must not dispose the shared backend.
    const limited = await EdictServer.create({ backend: sharing(backend), rateLimit: { max: 2, timeWindowMs: 60_000 } });
    const base = await limited.listen({ port: 0 });
    try {
      const get = (token?: string) => fetch(`${base}/v1/latents/00000000-0000-4000-8000-000000000000`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
      expect((await get()).status).toBe(404);
      expect((await get()).status).toBe(404);
      const third = await get();
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
      await expectError(third, 429, 'ERR_RATE_LIMITED');
      expect((await get('someone-else')).status).toBe(404);
      for (let i = 0; i < 4; i++) expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metricValue(metrics, 'edict_http_requests_total', { route: '/v1/latents/:id', outcome: 'rejected' })).toBe(1);
    } finally {
      await limited.close();
    }
  });
});

describe('metrics', () => {
  it('exposes requests by route and outcome, durations, the batch-size histogram, scheduler gauges and process metrics', async () => {
    const response = await fetch(`${url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(metricValue(text, 'edict_http_requests_total', { route: '/v1/edit', outcome: 'ok' })).toBeGreaterThanOrEqual(5);
    expect(metricValue(text, 'edict_http_requests_total', { route: '/v1/edit', outcome: 'bad_request' })).toBeGreaterThan(0);
    expect(metricValue(text, 'edict_http_requests_total', { route: '/v1/edit', outcome: 'timed_out' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'edict_http_requests_total', { route: '/v1/invert', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'edict_http_request_errors_total', { route: '/v1/edit', code: 'ERR_UNAUTHORIZED' })).toBeGreaterThan(0);
    expect(metricValue(text, 'edict_http_request_duration_seconds_count', { route: '/v1/edit', outcome: 'ok' })).toBeGreaterThanOrEqual(5);
    expect(metricValue(text, 'edict_queue_duration_seconds_count', { route: '/v1/edit' })).toBeGreaterThanOrEqual(5);
    expect(metricValue(text, 'edict_compute_duration_seconds_sum', { route: '/v1/edit' })).toBeGreaterThan(0);
    const counters = backend.counters()!;
    expect(metricValue(text, 'edict_unet_batch_size_count')).toBe(counters.unetCalls);
    expect(metricValue(text, 'edict_unet_batch_size_sum')).toBe(counters.unetItems);
    expect(metricValue(text, 'edict_unet_batch_size_bucket', { le: '1' })).toBe(counters.batchSizes['1'] ?? 0);
    expect(metricValue(text, 'edict_pending_calls')).toBe(0);
    expect(metricValue(text, 'edict_scheduler_calls_total', { event: 'timed_out' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'edict_latents_stored', { tier: 'memory' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metricValue(text, 'nodejs_eventloop_lag_seconds')).toBeDefined();
  });
});
