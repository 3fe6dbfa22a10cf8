"""Resumable checkpoints: model, optimizer, EMA, step and every RNG state, written atomically."""
import os
import random

import numpy as np
import torch


def save(file, **state):
    state['rng'] = {
        'torch': torch.get_rng_state(),
        'numpy': np.random.get_state(),
        'python': random.getstate(),
    }
    tmp = file + '.tmp'
    torch.save(state, tmp)
    os.replace(tmp, file)  # a kill mid-write leaves the previous checkpoint intact


def load(file):
    if not os.path.exists(file):
        return None
    state = torch.load(file, map_location='cpu')
    rng = state.pop('rng')
    torch.set_rng_state(rng['torch'])
    np.random.set_state(rng['numpy'])
    random.setstate(rng['python'])
    return state
