import { COLOURS } from './palette.js';
import { SHAPES, TEXTURES, type Scene } from './scene.js';

/**
 * "a red circle on a blue striped background". The texture word is always present
 * ("plain" included), so every attribute has its own word for the edit prompts to swap.
 */
export function caption(s: Scene): string {
  return `a ${s.colour} ${s.shape} on a ${s.background} ${s.texture} background`;
}

/** Every word a caption can contain, in a fixed order (the tokenizer's vocabulary). */
export const CAPTION_WORDS: readonly string[] = ['a', 'on', 'background', ...COLOURS, ...SHAPES, ...TEXTURES];
