// One list of error codes: every code the addon can raise (native/errors.h) is an ErrorCode and
// documented in the README's error table, and what the addon throws synchronously reaches the
// caller as an EdictError too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { EdictError, ErrorCode, TorchModule } from '../src/index.js';
import { native } from '../src/errors.js';
import { repoRoot, tinyModel } from './helpers/fixtures.js';

const known = new Set<string>(Object.values(ErrorCode));

function nativeCodes(): string[] {
  const header = readFileSync(join(repoRoot, 'native', 'errors.h'), 'utf8');
  return [...header.matchAll(/constexpr const char\* k\w+ = "(ERR_[A-Z_]+)";/g)].map((m) => m[1]);
}

/** The codes in the README's `| code | when |` table. */
function readmeCodes(): string[] {
  const lines = readFileSync(join(repoRoot, 'README.md'), 'utf8').split('\n');
  const start = lines.findIndex((line) => /^\| code \| when \|/.test(line));
  expect(start, 'the README has an error table').toBeGreaterThan(0);
  const rows = [];
  for (let i = start + 2; i < lines.length && lines[i].startsWith('|'); i++) rows.push(lines[i].split('|')[1]);
  return rows.flatMap((cell) => [...cell.matchAll(/`(ERR_[A-Z_]+)`/g)].map((m) => m[1]));
}

describe('error codes', () => {
  it('every code native/errors.h declares is an ErrorCode', () => {
    const codes = nativeCodes();
    expect(codes.length).toBeGreaterThanOrEqual(10);
    expect(codes.filter((c) => !known.has(c))).toEqual([]);
  });

  it("the README's error table lists every ErrorCode, and only those", () => {
    const documented = readmeCodes();
    expect([...known].filter((c) => !documented.includes(c))).toEqual([]);
    expect(documented.filter((c) => !known.has(c))).toEqual([]);
  });

  it('native() turns a synchronous throw into an EdictError with its code', async () => {
    const thrown = Object.assign(new Error('bad shape'), { code: 'ERR_INVALID_ARGUMENT' });
    const error = await native(() => {
      throw thrown;
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EdictError);
    expect((error as EdictError).code).toBe('ERR_INVALID_ARGUMENT');
    expect((error as EdictError).cause).toBe(thrown);
  });

  it("the addon's synchronous argument errors reach the caller as EdictErrors", async () => {
    const module = await TorchModule.load(join(tinyModel, 'unet.pt'));
    const error = await module.forward([{ data: new Float32Array(3), shape: [2, 2] }]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EdictError);
    expect((error as EdictError).code).toBe('ERR_INVALID_ARGUMENT');
    expect((error as EdictError).message).toMatch(/3 elements but shape \[2, 2\] needs 4/);
  });
});
