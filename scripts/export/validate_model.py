#!/usr/bin/env python3
"""Validate an edict model folder against docs/model-format.md.

    python3 scripts/export/validate_model.py DIR [DIR ...]

Checks model.json (every field, types, ranges, sizes consistent with each other), that every
component file is present and not empty, and that tokenizer.json is readable and knows the
manifest's pad and eos ids. Does not load the TorchScript files (no torch needed): the export
scripts check those. Exit status 0 when every folder is valid, 1 otherwise (2 for bad usage).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from manifest import validate_model_dir  # noqa: E402


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or any(a in ("-h", "--help") for a in args):
        print(__doc__.strip())
        return 0 if args else 2
    status = 0
    for path in args:
        problems = validate_model_dir(path)
        if problems:
            status = 1
            print(f"{path}: INVALID model folder ({len(problems)} problem(s)):", file=sys.stderr)
            for p in problems:
                print(f"  - {p}", file=sys.stderr)
        else:
            print(f"{path}: valid model folder")
    return status


if __name__ == "__main__":
    sys.exit(main())
