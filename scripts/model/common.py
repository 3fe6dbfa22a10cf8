"""Shared helpers for the training scripts: settings, paths, seeding, the training data."""
import json
import os
import random
import subprocess

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))


def load_config():
    with open(os.path.join(HERE, 'config.json')) as f:
        return json.load(f)


def path(rel):
    """A repository-relative path (the config's paths are relative to the repo root)."""
    return os.path.join(ROOT, rel)


def run_tsx(*args):
    """Runs eval_samples.ts (the TS scene domain: prompts, detector, judges) and returns its stdout."""
    out = subprocess.run(['npx', 'tsx', os.path.join(ROOT, 'scripts/model/eval_samples.ts'), *args], cwd=ROOT,
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def setup(cfg):
    # Debian's torch starts with one intra-op thread: ask for the cores explicitly.
    torch.set_num_threads(cfg['threads'])
    random.seed(cfg['seed'])
    np.random.seed(cfg['seed'])
    torch.manual_seed(cfg['seed'])


class SceneData:
    """The scenes written by dump_scenes.ts, memory-mapped: images as float in [-1, 1].

    The last `heldOutValidation` rows are kept for validation (they are ordinary training
    draws, not the benchmark's held-out scenes, which dump_scenes.ts never writes)."""

    def __init__(self, cfg):
        d = path(cfg['data']['dir'])
        with open(os.path.join(d, 'meta.json')) as f:
            meta = json.load(f)
        self.count = meta['count']
        self.size = meta['size']
        self.images = np.memmap(os.path.join(d, 'images.u8'), dtype=np.uint8, mode='r',
                                shape=(self.count, self.size, self.size, 3))
        self.labels = np.fromfile(os.path.join(d, 'labels.u8'), dtype=np.uint8).reshape(self.count, 4)
        with open(os.path.join(d, 'captions.txt')) as f:
            self.captions = f.read().split('\n')[: self.count]
        self.val = cfg['data']['heldOutValidation']
        self.train_count = self.count - self.val

    def batch_images(self, idx):
        x = torch.from_numpy(np.ascontiguousarray(self.images[idx]))
        return x.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)

    def train_indices(self, seed, step, batch):
        """The batch for a step: a fixed permutation per epoch, so a resumed run sees the same data."""
        per_epoch = self.train_count // batch
        epoch, k = divmod(step, per_epoch)
        if getattr(self, '_perm_key', None) != (seed, epoch):
            self._perm = np.random.default_rng(seed + 7919 * epoch).permutation(self.train_count)
            self._perm_key = (seed, epoch)
        return self._perm[k * batch:(k + 1) * batch]


def append_log(file, header, row):
    """Appends one row to a loss-curve CSV, writing the header first if the file is new."""
    new = not os.path.exists(file)
    with open(file, 'a') as f:
        if new:
            f.write(header + '\n')
        f.write(row + '\n')


def truncate_log(file, step):
    """Drops loss-curve rows written after the checkpoint a resumed run restarts from."""
    if not os.path.exists(file):
        return
    with open(file) as f:
        lines = f.read().splitlines()
    keep = lines[:1] + [ln for ln in lines[1:] if ln and int(ln.split(',')[0]) <= step]
    with open(file, 'w') as f:
        f.write('\n'.join(keep) + '\n')


def cosine_lr(step, total, base, warmup):
    if step < warmup:
        return base * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * p)))
