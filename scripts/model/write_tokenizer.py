"""Writes models/scenes/tokenizer.json and the parity fixture test/fixtures/scenes-tokens.json
(Python's ids for ~50 prompts, checked against @huggingface/tokenizers by
test/scenes-tokenizer.test.ts). Usage: /usr/bin/python3 scripts/model/write_tokenizer.py"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
from common import ROOT, load_config, path  # noqa: E402

EXTRA = [
    '',
    ' ',
    'a dog surfing',
    'A RED Circle On A Blue Striped Background',
    'a red circle, on a blue background!',
    'red',
    'background background background background background background background background background',
    'a  red\tcircle\non a green plain background',
    'a reddish circle',
    'purple-white square',
    "a white triangle on a yellow checkered background.",
    'a red circle on a blue striped background with a very long tail of extra words here',
    '[unk] words',
    'a green cat',
    'circle square triangle plain striped checkered',
]


def write(cfg, out_dir):
    tok = models.tokenizer(cfg)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'tokenizer.json'), 'w') as f:
        json.dump(tok.to_json(), f, indent=1)
    return tok


def main():
    cfg = load_config()
    tok = write(cfg, path(cfg['outDir']))
    with open(os.path.join(path(cfg['data']['dir']), 'captions.txt')) as f:
        captions = f.read().split('\n')
    seen = []
    for c in captions:
        if c and c not in seen:
            seen.append(c)
        if len(seen) == 35:
            break
    cases = [{'text': t, 'ids': tok.encode(t)} for t in EXTRA + seen]
    fixture = {'maxLength': cfg['text']['maxLength'], 'padId': cfg['text']['padId'], 'eosId': cfg['text']['eosId'],
               'cases': cases}
    with open(os.path.join(ROOT, 'test/fixtures/scenes-tokens.json'), 'w') as f:
        head = {k: v for k, v in fixture.items() if k != 'cases'}
        f.write(json.dumps(head)[:-1] + ', "cases": [\n')
        f.write(',\n'.join('  ' + json.dumps(c) for c in cases) + '\n]}\n')
    print(f'wrote tokenizer ({len(tok.vocab)} tokens) and {len(cases)} parity cases')


if __name__ == '__main__':
    main()
