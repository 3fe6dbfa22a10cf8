"""The latent UNet: timestep embedding, ResBlocks, cross-attention to the text states at both
levels, self-attention only at the coarsest (4x4) level, feed-forward as 1x1 convolutions.

On this CPU the attention and feed-forward matmuls on the 8x8 grid cost most of a step
(measured while planning the model), so the 8x8 level gets cross-attention only (16 text keys, cheap) and every
feed-forward works on the NCHW layout directly with 1x1 convolutions (no transposes)."""
import math
from typing import List, Optional

import torch
from torch import nn
import torch.nn.functional as F

from blocks import Downsample, ResBlock, Upsample, norm
from text_encoder import Attention


def timestep_embedding(timestep, dim: int, like):
    """Sinusoidal embedding [B, dim] (cos first, like SD), built in the dtype of `like`:
    never .float(), so the module runs in float16, float32 and float64 alike."""
    half = dim // 2
    exponent = torch.arange(half, dtype=like.dtype, device=like.device) * (-math.log(10000.0) / half)
    args = timestep.to(like.dtype)[:, None] * torch.exp(exponent)[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class AttnBlock(nn.Module):
    """Optional self-attention, cross-attention to the text, then a 1x1-conv feed-forward."""

    def __init__(self, channels, text_dim, heads, self_attention: bool, ff_mult: int):
        super().__init__()
        self.norm_self = nn.LayerNorm(channels) if self_attention else None
        self.self_attn = Attention(channels, channels, heads) if self_attention else None
        self.norm_cross = nn.LayerNorm(channels)
        self.cross_attn = Attention(channels, text_dim, heads)
        self.norm_ff = norm(channels)
        self.ff_in = nn.Conv2d(channels, ff_mult * channels, 1)
        self.ff_out = nn.Conv2d(ff_mult * channels, channels, 1)

    def forward(self, x, context):
        b, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)
        if self.self_attn is not None and self.norm_self is not None:
            n = self.norm_self(t)
            t = t + self.self_attn(n, n)
        t = t + self.cross_attn(self.norm_cross(t), context)
        x = t.transpose(1, 2).reshape(b, c, h, w)
        return x + self.ff_out(F.gelu(self.ff_in(self.norm_ff(x))))


class Stage(nn.Module):
    def __init__(self, cin, cout, emb_dim, text_dim, heads, self_attention: bool, ff_mult: int):
        super().__init__()
        self.res = ResBlock(cin, cout, emb_dim)
        self.attn = AttnBlock(cout, text_dim, heads, self_attention, ff_mult)

    def forward(self, x, emb, context):
        return self.attn(self.res(x, emb), context)


class UNet(nn.Module):
    """forward(sample [B, C, h, w], timestep int64[B], encoder_hidden_states [B, L, D]) -> [B, C, h, w]."""

    def __init__(self, latent_channels, channels, text_dim, heads, time_dim, blocks=2, ff_mult=2):
        super().__init__()
        c0, c1 = channels
        self.c0 = c0
        self.time_mlp = nn.Sequential(nn.Linear(c0, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.conv_in = nn.Conv2d(latent_channels, c0, 3, padding=1)
        self.down0 = nn.ModuleList([Stage(c0, c0, time_dim, text_dim, heads, False, ff_mult) for _ in range(blocks)])
        self.downsample = Downsample(c0, c1)
        self.down1 = nn.ModuleList([Stage(c1, c1, time_dim, text_dim, heads, True, ff_mult) for _ in range(blocks)])
        self.mid = Stage(c1, c1, time_dim, text_dim, heads, True, ff_mult)
        self.up1 = nn.ModuleList([Stage(2 * c1, c1, time_dim, text_dim, heads, True, ff_mult) for _ in range(blocks)])
        self.upsample = Upsample(c1, c1)
        self.up0 = nn.ModuleList([Stage((c1 if i == 0 else c0) + c0, c0, time_dim, text_dim, heads, False, ff_mult)
                                  for i in range(blocks)])
        self.norm_out = norm(c0)
        self.conv_out = nn.Conv2d(c0, latent_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, sample, timestep, encoder_hidden_states):
        if timestep.dim() == 0:
            timestep = timestep.expand(sample.shape[0])
        emb = self.time_mlp(timestep_embedding(timestep, self.c0, sample))
        ctx = encoder_hidden_states
        x = self.conv_in(sample)
        skips0: List[torch.Tensor] = []
        for stage in self.down0:
            x = stage(x, emb, ctx)
            skips0.append(x)
        x = self.downsample(x)
        skips1: List[torch.Tensor] = []
        for stage in self.down1:
            x = stage(x, emb, ctx)
            skips1.append(x)
        x = self.mid(x, emb, ctx)
        for stage in self.up1:
            x = stage(torch.cat([x, skips1.pop()], dim=1), emb, ctx)
        x = self.upsample(x)
        for stage in self.up0:
            x = stage(torch.cat([x, skips0.pop()], dim=1), emb, ctx)
        return self.conv_out(F.silu(self.norm_out(x)))
