import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';

// Parity between the Python training tokenizer (scripts/model/tokenizer.py, which wrote the
// fixture) and the bundled tokenizer.json as the JS library reads it, with the pad/truncate
// rule of docs/model-format.md applied on top.
const root = join(import.meta.dirname, '..');
const fixture = JSON.parse(readFileSync(join(root, 'test/fixtures/scenes-tokens.json'), 'utf8')) as {
  maxLength: number;
  padId: number;
  eosId: number | null;
  cases: { text: string; ids: number[] }[];
};
const tokenizer = new Tokenizer(JSON.parse(readFileSync(join(root, 'models/scenes/tokenizer.json'), 'utf8')), {});

function encode(text: string): number[] {
  let ids = [...tokenizer.encode(text).ids];
  if (ids.length > fixture.maxLength) {
    ids = fixture.eosId === null ? ids.slice(0, fixture.maxLength) : [...ids.slice(0, fixture.maxLength - 1), fixture.eosId];
  }
  return [...ids, ...new Array<number>(fixture.maxLength - ids.length).fill(fixture.padId)];
}

describe('scenes tokenizer parity (Python fixture vs @huggingface/tokenizers)', () => {
  it('has cases covering the empty prompt, unknown words and truncation', () => {
    const texts = fixture.cases.map((c) => c.text);
    expect(texts).toContain('');
    expect(fixture.cases.some((c) => c.ids.includes(1))).toBe(true);
    expect(fixture.cases.some((c) => c.ids[fixture.maxLength - 1] === fixture.eosId)).toBe(true);
    expect(fixture.cases.length).toBeGreaterThanOrEqual(40);
  });

  for (const c of fixture.cases) {
    it(`encodes ${JSON.stringify(c.text)}`, () => {
      expect(encode(c.text)).toEqual(c.ids);
    });
  }
});
