// `edict serve` as a real child process (the built CLI): it binds to loopback, prints where
// it listens, answers work; on SIGTERM it refuses new requests, lets the running one finish
// and answer, disposes the pipeline and exits 0.
import { beforeAll, describe, expect, it } from 'vitest';

import { collect, ensureBuilt, jsonLines, startCli } from './cli-helpers.js';
import { captionOf, metricValue, scenePng, SOURCE, waitFor, YELLOW } from './service-helpers.js';

beforeAll(() => ensureBuilt(), 240_000);

describe('edict serve', () => {
  it('finishes the running request on SIGTERM, then exits 0', async () => {
    const child = startCli(['serve', '--port', '0', '--json', '--policy', 'serial', '--threads', '1']);
    const done = collect(child);
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await waitFor(() => stdout.includes('"type":"ready"'), 60_000, 'the server to be ready');
    const { url } = jsonLines(stdout).find((r) => r.type === 'listening')!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // A request long enough (DDIM, 160 steps: ~2 s) to be running when SIGTERM comes.
    const inFlight = fetch(`${url}/v1/edit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: scenePng.toString('base64'), source: SOURCE, target: YELLOW, steps: 160, method: 'ddim' }),
    });
    await waitFor(
      async () => metricValue(await (await fetch(`${url}/metrics`)).text(), 'edict_active_calls') === 1,
      20_000,
      'the edit to run',
    );
    child.kill('SIGTERM');
    await waitFor(() => stdout.includes('"type":"stopping"'), 10_000, 'the server to stop accepting');

    // New work is refused (503 on a kept-alive connection, or no connection at all).
    const late = await fetch(`${url}/v1/edit`, { method: 'POST' }).then(
      async (r) => ({ status: r.status, body: (await r.json()) as unknown }),
      () => ({ status: 'refused', body: null }),
    );
    if (late.status !== 'refused') expect(late).toEqual({ status: 503, body: { error: { code: 'ERR_SHUTTING_DOWN', message: expect.any(String) } } });

    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await captionOf(await response.arrayBuffer())).toBe(YELLOW);

    const result = await done;
    expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(jsonLines(result.stdout).map((r) => r.type)).toEqual(['listening', 'ready', 'stopping', 'stopped']);
  }, 120_000);

  it('--openapi prints the document without loading a model; a bad flag is a usage error', async () => {
    const printed = await collect(startCli(['serve', '--openapi']));
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout)).toMatchObject({ openapi: '3.0.3', info: { title: 'edict' } });
    const bad = await collect(startCli(['serve', '--policy', 'fastest']));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--policy.*fastest/s);
    const model = await collect(startCli(['serve', '--model', '/nonexistent/model']));
    expect(model.code).toBe(2);
    expect(model.stderr).toMatch(/--model/);
  });
});
