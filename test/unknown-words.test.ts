// Words the model's vocabulary does not have become one unknown token, so they cannot steer the
// image: every call names them in a warning (once per call), and `edict info` lists a word-level
// model's vocabulary. (The README's old 'a dog' -> 'a cat' examples edited nothing, silently.)
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Edict, bundledModelDir, loadManifest } from '../src/index.js';
import { PromptTokenizer } from '../src/prompts.js';
import { CAPTION_WORDS } from '../src/scenes/index.js';
import { ensureBuilt, runCli } from './cli-helpers.js';
import { fixturesDir } from './helpers/fixtures.js';

const bundled = () => PromptTokenizer.fromManifest(loadManifest(bundledModelDir));

describe('unknown words', () => {
  it('are named as the tokenizer splits them (lower-cased, punctuation included), each once', () => {
    expect(bundled().unknownWords('A Dog, surfing on a red square! a dog')).toEqual(['dog', ',', 'surfing', '!']);
    expect(bundled().unknownWords('a red circle on a blue striped background')).toEqual([]);
    expect(bundled().unknownWords('')).toEqual([]);
  });

  it('are none for a byte-level BPE tokenizer (CLIP reads every character)', () => {
    const clipLike = PromptTokenizer.fromManifest(loadManifest(join(fixturesDir, 'sd-shaped')));
    expect(clipLike.unknownWords('a dog surfing ☃ 你好')).toEqual([]);
    expect(clipLike.vocabulary().words).toBeNull();
  });

  it("reach the call's warnings and onWarning once per call, naming the words", async () => {
    const edict = await Edict.load();
    try {
      const seen: string[] = [];
      const grey = { data: new Uint8Array(32 * 32 * 3).fill(128), width: 32, height: 32, channels: 3 as const };
      const result = await edict.edit(grey, {
        source: 'a dog surfing',
        target: ['a cat surfing', 'a red square on a plain blue background'],
        steps: 4,
        onWarning: (message) => seen.push(message),
      });
      expect(result.warnings).toEqual(seen);
      expect(result.warnings).toHaveLength(2);
      expect(result.warnings[0]).toMatch(/^the model does not know "dog", "surfing" in the prompt "a dog surfing"/);
      expect(result.warnings[1]).toMatch(/^the model does not know "cat", "surfing" in the prompt "a cat surfing"/);
    } finally {
      await edict.dispose();
    }
  });

  it('make no warning when every word is known', async () => {
    const edict = await Edict.load();
    try {
      const result = await edict.sample({ prompt: 'a red circle on a plain blue background', steps: 2, onWarning: () => {} });
      expect(result.warnings).toEqual([]);
    } finally {
      await edict.dispose();
    }
  });
});

describe('edict info', () => {
  it("lists the bundled model's vocabulary: the caption words", async () => {
    ensureBuilt();
    const run = await runCli(['info', '--json']);
    expect(run.code).toBe(0);
    const record = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(record.model.text.vocabulary).toEqual({ size: CAPTION_WORDS.length, words: [...CAPTION_WORDS] });
    const text = await runCli(['info']);
    expect(text.stdout).toContain(`words     ${CAPTION_WORDS.join(' ')}`);
  });
});
