"""Building blocks shared by the autoencoder and the UNet.

Everything here works in any floating dtype: nothing builds a float32 tensor on its own."""
from typing import Optional

import torch
from torch import nn
import torch.nn.functional as F


def norm(channels):
    return nn.GroupNorm(min(8, channels // 4), channels, eps=1e-5)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice with a skip; an optional per-channel embedding (the timestep) is added in between."""

    def __init__(self, cin, cout, emb_dim=0):
        super().__init__()
        self.norm1 = norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, cout) if emb_dim > 0 else None
        self.norm2 = norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb: Optional[torch.Tensor] = None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.emb is not None and emb is not None:
            h = h + self.emb(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class Downsample(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode='nearest'))
