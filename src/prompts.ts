/**
 * Prompts to token ids with the model's own tokenizer.json (@huggingface/tokenizers: CLIP BPE
 * and word-level vocabularies alike), then the manifest's rule (docs/model-format.md): a
 * sequence longer than maxLength keeps its first maxLength - 1 ids and ends with eosId, and is
 * reported as truncated; then it is padded with padId.
 */
import { readFileSync } from 'node:fs';

import { Tokenizer } from '@huggingface/tokenizers';

import { EdictError, ErrorCode } from './errors.js';
import type { ModelManifest } from './manifest.js';

export interface EncodedPrompts {
  /** [B, maxLength] token ids. */
  ids: BigInt64Array;
  shape: [number, number];
  /** One message per truncated prompt. */
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

  /** Token ids of one prompt, before padding (special tokens included, not truncated). */
  tokenize(prompt: string): number[] {
    return this.tokenizer.encode(prompt).ids;
  }

  encode(prompts: readonly string[]): EncodedPrompts {
    const { maxLength, padId, eosId } = this.text;
    const ids = new BigInt64Array(prompts.length * maxLength).fill(BigInt(padId));
    const warnings: string[] = [];
    prompts.forEach((prompt, row) => {
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
