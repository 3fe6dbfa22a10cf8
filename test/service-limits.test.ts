// The service under pressure, with the serial policy and --max-queue 2 (queued or running) so that long calls fill
// the queue: the next request is shed with 503 + Retry-After before its body is used and
// /readyz says so; a client that disconnects cancels its work (queued or running) in the
// engine; the server's --timeout-ms caps what a request may ask.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { LocalBackend } from '../src/service/local-backend.js';
import { EdictServer } from '../src/service/server.js';
import { metricValue, scenePng, sharing, SOURCE, waitFor, YELLOW } from './service-helpers.js';

let backend: LocalBackend;
let server: EdictServer;
let url: string;

beforeAll(async () => {
  backend = await LocalBackend.create({ batching: { policy: 'serial', maxQueue: 2 } });
  server = await EdictServer.create({ backend });
  url = await server.listen({ port: 0 });
});

afterAll(async () => {
  await server?.close();
});

/**
 * An edit long enough to hold the pipeline (DDIM inversion at 500 steps: ~10 s alone; EDICT's
 * inversion at 400 steps overflows, dividing by the mix weight every step), cancelled by `signal`.
 */
function longEdit(signal: AbortSignal, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/v1/edit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ image: scenePng.toString('base64'), source: SOURCE, target: YELLOW, steps: 500, method: 'ddim', timeoutMs: 120_000 }),
    signal,
  });
}

/**
 * With the serial policy a call that never left would hold the pipeline: the next short edit
 * must run at once. (A cancelled or timed-out call's promise rejects at once; the engine takes
 * its items out at the next round, so counters().activeCalls still counts it until other work
 * wakes the scheduler: the gauge edict_active_calls shows the same.)
 */
async function expectNextCallRuns(): Promise<void> {
  const started = performance.now();
  const before = backend.counters()!.unetCalls;
  const response = await fetch(`${url}/v1/edit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image: scenePng.toString('base64'), source: SOURCE, target: YELLOW, steps: 10 }),
  });
  expect(response.status).toBe(200);
  // Its own UNet calls only (8 executed steps x 2 (x and y) x 2 (inversion, generation)), none
  // of the dropped call's; the time bound is loose for a loaded machine, the long call took 10 s alone.
  expect(backend.counters()!.unetCalls - before).toBe(32);
  expect(performance.now() - started).toBeLessThan(20_000);
  expect(backend.counters()!.activeCalls).toBe(0);
}

describe('a full queue', () => {
  it('sheds with 503 ERR_OVERLOADED and Retry-After, /readyz is 503; disconnecting clients cancel their calls', async () => {
    const first = new AbortController();
    const second = new AbortController();
    const running = longEdit(first.signal).catch((error: Error) => error);
    await waitFor(() => backend.counters()!.activeCalls === 1, 20_000, 'the first call to run');
    const queued = longEdit(second.signal).catch((error: Error) => error);
    await waitFor(() => backend.counters()!.queued === 1, 20_000, 'the second call to queue');

    const started = performance.now();
    const shed = await fetch(`${url}/v1/edit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: scenePng.toString('base64'), source: SOURCE, target: YELLOW, steps: 10 }),
    });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(shed.status).toBe(503);
    expect(Number(shed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await shed.json()).toEqual({ error: { code: 'ERR_OVERLOADED', message: expect.stringMatching(/queue is full/) } });

    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, reason: expect.stringMatching(/queue is full/) });

    // Both clients go away: the queued call leaves at once, the running one at its next round.
    const before = backend.counters()!;
    second.abort();
    first.abort();
    expect(await queued).toBeInstanceOf(Error);
    expect(await running).toBeInstanceOf(Error);
    await waitFor(() => backend.counters()!.cancelled === before.cancelled + 2, 10_000, 'both calls to be cancelled');
    const after = backend.counters()!;
    expect(after).toMatchObject({ queued: 0, completed: before.completed });
    // Far fewer than the 2 x 800 UNet calls the two edits would have made; and none since.
    expect(after.unetCalls - before.unetCalls).toBeLessThan(400);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(backend.counters()!.unetCalls).toBe(after.unetCalls);
    await expectNextCallRuns();

    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    await waitFor(
      async () => metricValue(await (await fetch(`${url}/metrics`)).text(), 'edict_http_requests_total', { route: '/v1/edit', outcome: 'cancelled' }) === 2,
      5_000,
      'the metrics to count both cancellations',
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(metrics, 'edict_http_requests_total', { route: '/v1/edit', outcome: 'rejected' })).toBe(1);
    expect(metricValue(metrics, 'edict_http_request_errors_total', { route: '/v1/edit', code: 'ERR_OVERLOADED' })).toBe(1);
    expect(metricValue(metrics, 'edict_scheduler_calls_total', { event: 'cancelled' })).toBe(after.cancelled);
    expect(metricValue(metrics, 'edict_http_requests_in_flight', { route: '/v1/edit' })).toBe(0);
  });

  it('a client that disconnects from an event stream cancels its call too', async () => {
    const client = new AbortController();
    const before = backend.counters()!;
    const response = await longEdit(client.signal, { accept: 'text/event-stream' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    // The stream is open: read progress events until the inversion runs, then leave.
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('"phase":"invert"')) text += new TextDecoder().decode((await reader.read()).value);
    await waitFor(() => backend.counters()!.activeCalls === 1, 10_000, 'the call to be counted active');
    client.abort();
    await waitFor(() => backend.counters()!.cancelled === before.cancelled + 1, 10_000, 'the call to be cancelled');
    await expectNextCallRuns();
  }, 60_000);
});

describe('the in-flight bound (--max-inflight)', () => {
  it('refuses one request beyond it with 503 before reading the body, and /readyz says so', async () => {
    const bounded = await EdictServer.create({ backend: sharing(backend), maxInflight: 1 });
    const base = await bounded.listen({ port: 0 });
    const client = new AbortController();
    const before = backend.counters()!;
    try {
      const running = fetch(`${base}/v1/edit`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: scenePng.toString('base64'), source: SOURCE, target: YELLOW, steps: 500, method: 'ddim' }),
        signal: client.signal,
      }).catch((error: Error) => error);
      await waitFor(() => backend.counters()!.activeCalls === 1, 20_000, 'the call to run');
      const refused = await fetch(`${base}/v1/edit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await refused.json()).toEqual({ error: { code: 'ERR_OVERLOADED', message: expect.stringMatching(/max-inflight 1/) } });
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      client.abort();
      expect(await running).toBeInstanceOf(Error);
      await waitFor(() => backend.counters()!.cancelled === before.cancelled + 1, 10_000, 'the call to be cancelled');
      // The slot is free again once the abandoned request is done.
      await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 10_000, 'the slot to be released');
    } finally {
      await bounded.close();
    }
    await expectNextCallRuns();
  });
});

describe("the server's time limit", () => {
  it('caps what a request asks: 504 ERR_TIMEOUT after --timeout-ms, not the 120 s asked', async () => {
    const capped = await EdictServer.create({ backend: sharing(backend), timeoutMs: 1_500 });
    const base = await capped.listen({ port: 0 });
    const started = performance.now();
    const response = await fetch(`${base}/v1/edit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: scenePng.toString('base64'), source: SOURCE, target: YELLOW, steps: 500, method: 'ddim', timeoutMs: 120_000 }),
    });
    const seconds = (performance.now() - started) / 1000;
    await capped.close();
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({ error: { code: 'ERR_TIMEOUT', message: expect.stringMatching(/timed out/) } });
    expect(seconds).toBeGreaterThan(1.4);
    expect(seconds).toBeLessThan(10);
    expect(backend.counters()!.timedOut).toBeGreaterThanOrEqual(1);
    await expectNextCallRuns();
  });
});
