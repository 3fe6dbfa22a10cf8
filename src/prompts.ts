/**
 * Prompts to token ids with the model's own tokenizer.json (@huggingface/tokenizers: CLIP BPE
 * and word-level vocabularies alike), then the manifest's rule (docs/model-format.md): a
 * sequence longer than maxLength keeps its first maxLength - 1 ids and ends with eosId, and is
 * reported as truncated; then it is padded with padId. Words the vocabulary does not have (they
 * become the unknown token, so the model cannot read them) are reported by name.
 */
import { readFileSync } from 'node:fs';

import { Tokenizer } from '@huggingface/tokenizers';

import { EdictError, ErrorCode } from './errors.js';
import type { ModelManifest } from './manifest.js';

export interface EncodedPrompts {
  /** [B, maxLength] token ids. */
  ids: BigInt64Array;
  shape: [number, number];
  /** One message per truncated prompt and per prompt with unknown words. */
  warnings: string[];
}

export class PromptTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly text: ModelManifest['text'],
  ) {}

  static fromManifest(manifest: ModelManifest): PromptTokenizer {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(manifest.paths.tokenizer, 'utf8'));
    } catch (error) {
      throw new EdictError(ErrorCode.Tokenizer, `cannot read ${manifest.paths.tokenizer}: ${(error as Error).message}`);
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(json as object, {});
      tokenizer.encode('');
    } catch (error) {
      throw new EdictError(ErrorCode.Tokenizer, `unusable tokenizer ${manifest.paths.tokenizer}: ${(error as Error).message}`);
    }
    return new PromptTokenizer(tokenizer, manifest.text);
  }

  /**
   * The words of a prompt that map to the unknown token, as the tokenizer splits them (after its
   * normalizer: lower-cased for the bundled model), each once. Empty when the tokenizer has no
   * unknown token (CLIP's byte-level BPE reads every character).
   */
  unknownWords(prompt: string): string[] {
    const unkId = this.tokenizer.model?.unk_token_id;
    if (unkId === undefined || unkId === null) return [];
    const normalized = this.tokenizer.normalizer ? this.tokenizer.normalizer.normalize(prompt) : prompt;
    const words = this.tokenizer.pre_tokenizer ? this.tokenizer.pre_tokenizer.pre_tokenize(normalized) : normalized.split(/\s+/);
    const unknown = new Set<string>();
    for (const word of words) {
      if (word.trim() && this.tokenizer.encode(word, { add_special_tokens: false }).ids.includes(unkId)) unknown.add(word.trim());
    }
    return [...unknown];
  }

  /**
   * The vocabulary's size and, for a word-level tokenizer (WordLevel, WordPiece) of at most
   * `limit` entries, its words (special and added tokens left out): such a model's whole
   * language. words is null for sub-word vocabularies (CLIP's BPE: 49,408 pieces).
   */
  vocabulary(limit = 1000): { size: number; words: string[] | null } {
    const vocab = this.tokenizer.get_vocab(false);
    const wordLevel = ['WordLevel', 'WordPiece'].includes(String(this.tokenizer.model?.config.type));
    if (!wordLevel) return { size: vocab.size, words: null };
    const special = new Set(this.tokenizer.get_added_tokens_decoder().keys());
    const words = [...vocab].filter(([, id]) => !special.has(id)).sort((a, b) => a[1] - b[1]).map(([word]) => word);
    return { size: vocab.size, words: words.length <= limit ? words : null };
  }

  /** Token ids of one prompt, before padding (special tokens included, not truncated). */
  tokenize(prompt: string): number[] {
    return this.tokenizer.encode(prompt).ids;
  }

  encode(prompts: readonly string[]): EncodedPrompts {
    const { maxLength, padId, eosId } = this.text;
    const ids = new BigInt64Array(prompts.length * maxLength).fill(BigInt(padId));
    const warnings: string[] = [];
    prompts.forEach((prompt, row) => {
      const unknown = this.unknownWords(prompt);
      if (unknown.length > 0) {
        warnings.push(
          `the model does not know ${unknown.map((w) => JSON.stringify(w)).join(', ')} in the prompt ${JSON.stringify(prompt)}: ` +
            `unknown words are read as one "unknown" token, so they do not steer the image (edict info lists the model's vocabulary)`,
        );
      }
      let tokens = this.tokenize(prompt);
      if (tokens.length > maxLength) {
        warnings.push(
          `prompt truncated to the model's ${maxLength} tokens (it has ${tokens.length}): ${JSON.stringify(prompt)}`,
        );
        tokens = eosId === null ? tokens.slice(0, maxLength) : [...tokens.slice(0, maxLength - 1), eosId];
      }
      tokens.forEach((id, column) => (ids[row * maxLength + column] = BigInt(id)));
    });
    return { ids, shape: [prompts.length, maxLength], warnings };
  }
}
