"""The word-level tokenizer: Python ids for training, and the tokenizer.json the engine loads.

Python tokenizes exactly like the TypeScript side (docs/model-format.md): Lowercase
normalizer, BERT pre-tokenizer (split on whitespace, and every punctuation character is a
word of its own), WordPiece over whole words only (no '##' pieces, so any word outside the
vocabulary is [UNK]), then [BOS] ... [EOS], truncation to maxLength - 1 + [EOS], padding
with [PAD] to maxLength. test/scenes-tokenizer.test.ts checks the parity."""
import unicodedata

SPECIALS = ['[PAD]', '[UNK]', '[BOS]', '[EOS]']
PAD, UNK, BOS, EOS = 0, 1, 2, 3


def _is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith('P')


def pre_tokenize(text):
    words, cur = [], []
    for ch in text.lower():
        if ch.isspace():
            if cur:
                words.append(''.join(cur))
                cur = []
        elif _is_punctuation(ch):
            if cur:
                words.append(''.join(cur))
                cur = []
            words.append(ch)
        else:
            cur.append(ch)
    if cur:
        words.append(''.join(cur))
    return words


class WordTokenizer:
    def __init__(self, words, max_length):
        self.vocab = {w: i for i, w in enumerate(SPECIALS + list(words))}
        self.max_length = max_length

    def encode(self, text):
        ids = [BOS] + [self.vocab.get(w, UNK) for w in pre_tokenize(text)] + [EOS]
        if len(ids) > self.max_length:
            ids = ids[: self.max_length - 1] + [EOS]
        return ids + [PAD] * (self.max_length - len(ids))

    def to_json(self):
        """tokenizer.json in the Hugging Face `tokenizers` format (loads in @huggingface/tokenizers 0.2)."""
        def special(i, t):
            return {'id': i, 'content': t, 'single_word': False, 'lstrip': False, 'rstrip': False,
                    'normalized': False, 'special': True}

        def tok(name):
            return {'SpecialToken': {'id': name, 'type_id': 0}}

        return {
            'version': '1.0',
            'truncation': None,
            'padding': None,
            'added_tokens': [special(i, t) for i, t in enumerate(SPECIALS)],
            'normalizer': {'type': 'Lowercase'},
            'pre_tokenizer': {'type': 'BertPreTokenizer'},
            'post_processor': {
                'type': 'TemplateProcessing',
                'single': [tok('[BOS]'), {'Sequence': {'id': 'A', 'type_id': 0}}, tok('[EOS]')],
                'pair': [tok('[BOS]'), {'Sequence': {'id': 'A', 'type_id': 0}}, tok('[EOS]'),
                         {'Sequence': {'id': 'B', 'type_id': 1}}, {'SpecialToken': {'id': '[EOS]', 'type_id': 1}}],
                'special_tokens': {
                    '[BOS]': {'id': '[BOS]', 'ids': [BOS], 'tokens': ['[BOS]']},
                    '[EOS]': {'id': '[EOS]', 'ids': [EOS], 'tokens': ['[EOS]']},
                },
            },
            'decoder': {'type': 'WordPiece', 'prefix': '##', 'cleanup': True},
            'model': {
                'type': 'WordPiece',
                'unk_token': '[UNK]',
                'continuing_subword_prefix': '##',
                'max_input_chars_per_word': 100,
                'vocab': self.vocab,
            },
        }
