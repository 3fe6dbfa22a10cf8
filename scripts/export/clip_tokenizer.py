"""A CLIP tokenizer.json (Hugging Face `tokenizers` format) from vocab.json + merges.txt.

For machines without the `tokenizers` library (so without ``CLIPTokenizerFast``): writes the
same layout that transformers' ``CLIPConverter`` (convert_slow_tokenizer.py) builds and that
``tokenizers`` serializes with ``Tokenizer.to_str()`` (serialization format "1.0"):

- normalizer: Sequence[NFC, Replace(Regex ``\\s+`` -> " "), Lowercase]
- pre_tokenizer: Sequence[Split(Regex CLIP pattern, behavior Removed, invert true),
  ByteLevel(add_prefix_space false)]
- model: BPE with ``end_of_word_suffix: "</w>"``, ``continuing_subword_prefix: ""``,
  unk = the tokenizer's unk token (``<|endoftext|>``)
- post_processor: RobertaProcessing(cls = bos, sep = eos), which adds ``<|startoftext|>`` and
  ``<|endoftext|>`` around one sequence
- decoder: ByteLevel
- added_tokens: the special tokens (bos, eos, unk, pad) with their ids, as transformers registers
  them. SD 2.x tokenizers use ``!`` as pad token: it is a special added token there, so a ``!``
  in a prompt encodes to id 0 instead of 256, in transformers as here.

No torch, no transformers: plain functions on dicts and files.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

CLIP_SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""

# transformers' CLIPTokenizer defaults
DEFAULT_SPECIALS = {
    "bos_token": "<|startoftext|>",
    "eos_token": "<|endoftext|>",
    "unk_token": "<|endoftext|>",
    "pad_token": "<|endoftext|>",
}
SPECIAL_KEYS = ("bos_token", "eos_token", "unk_token", "pad_token")


def read_vocab_json(path: str) -> Dict[str, int]:
    with open(path, encoding="utf-8") as f:
        vocab = json.load(f)
    if not isinstance(vocab, dict):
        raise ValueError(f"{path}: not a JSON object of token -> id")
    return {str(k): int(v) for k, v in vocab.items()}


def parse_merges(text: str) -> List[Tuple[str, str]]:
    """merges.txt -> [(left, right), ...] in rank order (the ``#version`` header is skipped)."""
    merges = []
    for n, line in enumerate(text.split("\n")):
        line = line.rstrip("\r")
        if not line or (n == 0 and line.startswith("#version")):
            continue
        parts = line.split(" ")
        if len(parts) != 2:
            raise ValueError(f"merges.txt line {n + 1}: expected two tokens, got {line!r}")
        merges.append((parts[0], parts[1]))
    return merges


def read_merges_txt(path: str) -> List[Tuple[str, str]]:
    with open(path, encoding="utf-8") as f:
        return parse_merges(f.read())


def _token_entry(value: Any) -> Optional[Dict[str, Any]]:
    """A special token as written in tokenizer_config.json / special_tokens_map.json: a string,
    or an AddedToken dict ({"content": ..., "lstrip": ..., "normalized": ...})."""
    if value is None:
        return None
    if isinstance(value, str):
        # transformers wraps a plain string special token as AddedToken(special=True), which
        # defaults to normalized = not special = False
        return {"content": value, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True}
    if isinstance(value, Mapping) and isinstance(value.get("content"), str):
        return {"content": value["content"],
                "single_word": bool(value.get("single_word", False)),
                "lstrip": bool(value.get("lstrip", False)),
                "rstrip": bool(value.get("rstrip", False)),
                "normalized": bool(value.get("normalized", False)),
                "special": True}
    raise ValueError(f"unrecognised special token entry {value!r}")


def special_tokens(tokenizer_config: Optional[Mapping[str, Any]],
                   special_tokens_map: Optional[Mapping[str, Any]] = None) -> Dict[str, Dict[str, Any]]:
    """bos/eos/unk/pad entries from a tokenizer folder's configs (special_tokens_map.json wins,
    as in transformers), with CLIPTokenizer's defaults for the ones not given."""
    out: Dict[str, Dict[str, Any]] = {}
    for key in SPECIAL_KEYS:
        value = None
        for src in (special_tokens_map, tokenizer_config):
            if src and src.get(key) is not None:
                value = src[key]
                break
        if value is None:
            value = DEFAULT_SPECIALS[key]
        out[key] = _token_entry(value)
    return out


def added_tokens(vocab: Mapping[str, int], specials: Mapping[str, Mapping[str, Any]],
                 tokenizer_config: Optional[Mapping[str, Any]] = None) -> List[Dict[str, Any]]:
    """The tokenizer.json ``added_tokens`` list: the special tokens with their vocabulary ids
    (or the ids of tokenizer_config.json's ``added_tokens_decoder`` when it has one), ascending."""
    by_id: Dict[int, Dict[str, Any]] = {}
    decoder = (tokenizer_config or {}).get("added_tokens_decoder")
    if isinstance(decoder, Mapping):
        for sid, entry in decoder.items():
            e = _token_entry(entry)
            e["special"] = bool(entry.get("special", True)) if isinstance(entry, Mapping) else True
            by_id[int(sid)] = e
    for key in SPECIAL_KEYS:
        e = specials.get(key)
        if e is None:
            continue
        tid = vocab.get(e["content"])
        if tid is None:
            found = [i for i, t in by_id.items() if t["content"] == e["content"]]
            if not found:
                raise ValueError(f"{key} {e['content']!r} is not in the vocabulary")
            continue
        if tid not in by_id:
            by_id[tid] = dict(e)
    return [dict({"id": i}, **by_id[i]) for i in sorted(by_id)]


def token_id(vocab: Mapping[str, int], added: Sequence[Mapping[str, Any]], content: str) -> int:
    for t in added:
        if t["content"] == content:
            return int(t["id"])
    if content in vocab:
        return int(vocab[content])
    raise ValueError(f"token {content!r} is in neither the vocabulary nor the added tokens")


def clip_tokenizer_json(vocab: Mapping[str, int], merges: Sequence[Tuple[str, str]],
                        specials: Mapping[str, Mapping[str, Any]],
                        added: Optional[Sequence[Mapping[str, Any]]] = None) -> Dict[str, Any]:
    """The tokenizer.json dict (key order as ``tokenizers`` writes it)."""
    if added is None:
        added = added_tokens(vocab, specials)
    bos, eos, unk = (specials[k]["content"] for k in ("bos_token", "eos_token", "unk_token"))
    known = set(vocab)
    for left, right in merges:
        for part in (left, right, left + right):
            if part not in known:
                raise ValueError(f"merge {left!r} {right!r}: {part!r} is not in the vocabulary")
    ordered_vocab = dict(sorted(vocab.items(), key=lambda kv: kv[1]))
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [dict(t) for t in added],
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "NFC"},
                {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
                {"type": "Lowercase"},
            ],
        },
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": CLIP_SPLIT_PATTERN},
                 "behavior": "Removed", "invert": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            ],
        },
        "post_processor": {
            "type": "RobertaProcessing",
            "sep": [eos, token_id(vocab, added, eos)],
            "cls": [bos, token_id(vocab, added, bos)],
            "trim_offsets": False,
            "add_prefix_space": False,
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": unk,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "</w>",
            "fuse_unk": False,
            "byte_fallback": False,
            "vocab": ordered_vocab,
            "merges": [f"{a} {b}" for a, b in merges],
        },
    }


def _read_json(path: str) -> Optional[Dict[str, Any]]:
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def clip_tokenizer_from_folder(folder: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(tokenizer.json dict, settings) from a diffusers checkpoint's ``tokenizer/`` folder
    (vocab.json, merges.txt, and tokenizer_config.json / special_tokens_map.json if present).
    settings: ``padId``, ``eosId``, ``bosId``, ``modelMaxLength`` (None when not configured)."""
    vocab = read_vocab_json(os.path.join(folder, "vocab.json"))
    merges = read_merges_txt(os.path.join(folder, "merges.txt"))
    config = _read_json(os.path.join(folder, "tokenizer_config.json")) or {}
    smap = _read_json(os.path.join(folder, "special_tokens_map.json")) or {}
    specials = special_tokens(config, smap)
    added = added_tokens(vocab, specials, config)
    tok = clip_tokenizer_json(vocab, merges, specials, added)
    max_len = config.get("model_max_length")
    settings = {
        "padId": token_id(vocab, added, specials["pad_token"]["content"]),
        "eosId": token_id(vocab, added, specials["eos_token"]["content"]),
        "bosId": token_id(vocab, added, specials["bos_token"]["content"]),
        "modelMaxLength": int(max_len) if isinstance(max_len, (int, float)) and max_len < 1e6 else None,
    }
    return tok, settings


def normalize_for_compare(tok: Mapping[str, Any]) -> Dict[str, Any]:
    """The parts of a tokenizer.json that decide the ids, with merges in one spelling
    (``tokenizers`` >= 0.20 writes [["a", "b"], ...], older ones ["a b", ...])."""
    model = dict(tok.get("model") or {})
    merges = [" ".join(m) if isinstance(m, (list, tuple)) else m for m in model.get("merges", [])]
    return {
        "added": sorted((t["id"], t["content"], bool(t.get("special"))) for t in tok.get("added_tokens") or []),
        "normalizer": tok.get("normalizer"),
        "pre_tokenizer": tok.get("pre_tokenizer"),
        "post_processor": tok.get("post_processor"),
        "model": {k: v for k, v in model.items() if k not in ("merges", "ignore_merges")},
        "merges": merges,
    }


def compare_tokenizer_json(a: Mapping[str, Any], b: Mapping[str, Any]) -> List[str]:
    """Differences that could change the ids between two CLIP tokenizer.json dicts."""
    na, nb = normalize_for_compare(a), normalize_for_compare(b)
    diffs = []
    for key in ("added", "normalizer", "pre_tokenizer", "post_processor", "merges"):
        if na[key] != nb[key]:
            diffs.append(key)
    ma, mb = na["model"], nb["model"]
    for key in sorted(set(ma) | set(mb)):
        if ma.get(key) != mb.get(key):
            diffs.append(f"model.{key}")
    return diffs
