#!/usr/bin/env python3
"""Writes a model folder whose UNet has Stable Diffusion 1.5's architecture and size
(860M parameters at --width 320) with random weights, built with torch alone (no diffusers,
no download), for scripts/gpu-check.sh. The text encoder, VAE and tokenizer are the SD-shaped
test fixture's (test/fixtures/sd-shaped: 77x768 text states, 8x VAE), so the folder runs at
512x512 like SD 1.5; only the UNet is the real size, which is where the time and the precision
questions are.

The UNet follows diffusers' UNet2DConditionModel with SD 1.5's config: block channels
(w, 2w, 4w, 4w), two ResNet blocks per level, a transformer (self-attention, cross-attention to
the 768-wide states, GEGLU feed-forward) after each ResNet of the first three levels and in the
middle, 8 heads, GroupNorm(32), time embedding 4w, three ResNets per up level on the skips.
Attention is written out (softmax(QK^T / sqrt(d)) V) so the same code runs on torch 1.13 and 2.x
in every dtype. Weights are rounded to float16 values, so the float16 and float64 UNets the check
compares hold the same numbers; conv_out is scaled so eps has unit variance on a N(0, 1) input.

  python3 scripts/gpu-check/make_sd15_model.py --out DIR [--width 320] [--seed 1]
"""
import argparse
import json
import math
import os
import shutil
import time
from typing import List

import torch
from torch import Tensor, nn
from torch.nn import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "test", "fixtures", "sd-shaped")
CONTEXT = 768
HEADS = 8


def timestep_embedding(timestep: Tensor, dim: int, like: Tensor) -> Tensor:
    """diffusers' Timesteps(flip_sin_to_cos=True, downscale_freq_shift=0), in float64 for a
    float64 UNet and float32 otherwise (float16 would lose the angles), then cast."""
    compute = torch.float64 if like.dtype == torch.float64 else torch.float32
    half = dim // 2
    exponent = torch.arange(half, device=like.device, dtype=compute) * (-math.log(10000.0) / half)
    angles = timestep.to(compute)[:, None] * torch.exp(exponent)[None, :]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1).to(like.dtype)


class ResnetBlock(nn.Module):
    def __init__(self, cin: int, cout: int, temb: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(32, cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(32, cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.shortcut(x) + h


class Attention(nn.Module):
    def __init__(self, dim: int, context_dim: int):
        super().__init__()
        self.heads = HEADS
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context_dim, dim, bias=False)
        self.to_v = nn.Linear(context_dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x: Tensor, context: Tensor) -> Tensor:
        b, n, c = x.shape
        d = c // self.heads
        q = self.to_q(x).reshape(b, n, self.heads, d).transpose(1, 2)
        k = self.to_k(context).reshape(b, context.shape[1], self.heads, d).transpose(1, 2)
        v = self.to_v(context).reshape(b, context.shape[1], self.heads, d).transpose(1, 2)
        weights = torch.softmax(q @ k.transpose(-1, -2) * (1.0 / math.sqrt(d)), dim=-1)
        return self.to_out((weights @ v).transpose(1, 2).reshape(b, n, c))


class TransformerBlock(nn.Module):
    """Transformer2DModel with one BasicTransformerBlock (SD 1.5: conv projections)."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.GroupNorm(32, dim, eps=1e-6)
        self.proj_in = nn.Conv2d(dim, dim, 1)
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, CONTEXT)
        self.norm3 = nn.LayerNorm(dim)
        self.ff_in = nn.Linear(dim, 8 * dim)  # GEGLU: value and gate, 4x wide each
        self.ff_out = nn.Linear(4 * dim, dim)
        self.proj_out = nn.Conv2d(dim, dim, 1)

    def forward(self, x: Tensor, context: Tensor) -> Tensor:
        b, c, h, w = x.shape
        tokens = self.proj_in(self.norm(x)).flatten(2).transpose(1, 2)
        n1 = self.norm1(tokens)
        tokens = tokens + self.attn1(n1, n1)
        tokens = tokens + self.attn2(self.norm2(tokens), context)
        value, gate = self.ff_in(self.norm3(tokens)).chunk(2, dim=-1)
        tokens = tokens + self.ff_out(value * F.gelu(gate))
        return x + self.proj_out(tokens.transpose(1, 2).reshape(b, c, h, w))


class NoAttention(nn.Module):
    def forward(self, x: Tensor, context: Tensor) -> Tensor:
        return x


class Level(nn.Module):
    """One level: ResNets, each followed by a transformer where the level has attention."""

    def __init__(self, ins: List[int], cout: int, temb: int, attention: bool):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock(cin, cout, temb) for cin in ins])
        self.attentions = nn.ModuleList([TransformerBlock(cout) if attention else NoAttention() for _ in ins])


class DownLevel(Level):
    def __init__(self, cin: int, cout: int, temb: int, attention: bool, downsample: bool):
        super().__init__([cin, cout], cout, temb, attention)
        self.downsampler = nn.Conv2d(cout, cout, 3, stride=2, padding=1) if downsample else nn.Identity()
        self.has_downsampler = downsample

    def forward(self, h: Tensor, emb: Tensor, context: Tensor, skips: List[Tensor]) -> Tensor:
        for resnet, attention in zip(self.resnets, self.attentions):
            h = attention(resnet(h, emb), context)
            skips.append(h)
        if self.has_downsampler:
            h = self.downsampler(h)
            skips.append(h)
        return h


class UpLevel(Level):
    def __init__(self, ins: List[int], cout: int, temb: int, attention: bool, upsample: bool):
        super().__init__(ins, cout, temb, attention)
        self.upsampler = nn.Conv2d(cout, cout, 3, padding=1) if upsample else nn.Identity()
        self.has_upsampler = upsample

    def forward(self, h: Tensor, emb: Tensor, context: Tensor, skips: List[Tensor]) -> Tensor:
        for resnet, attention in zip(self.resnets, self.attentions):
            h = attention(resnet(torch.cat([h, skips.pop()], dim=1), emb), context)
        if self.has_upsampler:
            h = self.upsampler(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return h


class Sd15UNet(nn.Module):
    def __init__(self, width: int = 320):
        super().__init__()
        channels = [width, 2 * width, 4 * width, 4 * width]
        temb = 4 * width
        self.width = width
        self.time_1 = nn.Linear(width, temb)
        self.time_2 = nn.Linear(temb, temb)
        self.conv_in = nn.Conv2d(4, width, 3, padding=1)
        downs = []
        skip_channels = [width]
        cin = width
        for i, cout in enumerate(channels):
            last = i == len(channels) - 1
            downs.append(DownLevel(cin, cout, temb, attention=not last, downsample=not last))
            skip_channels += [cout, cout] + ([] if last else [cout])
            cin = cout
        self.down = nn.ModuleList(downs)
        self.mid_1 = ResnetBlock(cin, cin, temb)
        self.mid_attention = TransformerBlock(cin)
        self.mid_2 = ResnetBlock(cin, cin, temb)
        ups = []
        reversed_channels = list(reversed(channels))
        prev = cin
        for i, cout in enumerate(reversed_channels):
            ins = []
            for _ in range(3):
                ins.append(prev + skip_channels.pop())
                prev = cout
            last = i == len(channels) - 1
            ups.append(UpLevel(ins, cout, temb, attention=i > 0, upsample=not last))
        self.up = nn.ModuleList(ups)
        self.norm_out = nn.GroupNorm(32, width, eps=1e-5)
        self.conv_out = nn.Conv2d(width, 4, 3, padding=1)

    def forward(self, sample: Tensor, timestep: Tensor, encoder_hidden_states: Tensor) -> Tensor:
        emb = self.time_2(F.silu(self.time_1(timestep_embedding(timestep, self.width, sample))))
        h = self.conv_in(sample)
        skips: List[Tensor] = [h]
        for level in self.down:
            h = level(h, emb, encoder_hidden_states, skips)
        h = self.mid_2(self.mid_attention(self.mid_1(h, emb), encoder_hidden_states), emb)
        for level in self.up:
            h = level(h, emb, encoder_hidden_states, skips)
        return self.conv_out(F.silu(self.norm_out(h)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--width", type=int, default=320, help="base channels (SD 1.5: 320; a multiple of 32)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.width % 32:
        raise SystemExit(f"--width must be a multiple of 32 (GroupNorm(32) at every level), got {args.width}")
    started = time.time()
    torch.manual_seed(args.seed)
    unet = Sd15UNet(args.width).eval()
    with torch.no_grad():
        for p in unet.parameters():
            p.copy_(p.half().float())
        # Unit-variance eps on a unit-variance input (random weights give any scale).
        sample = torch.randn(1, 4, 16, 16)
        states = torch.randn(1, 77, CONTEXT)
        std = unet(sample, torch.tensor([500]), states).std().item()
        unet.conv_out.weight.copy_((unet.conv_out.weight / std).half().float())
        unet.conv_out.bias.copy_((unet.conv_out.bias / std).half().float())
    parameters = sum(p.numel() for p in unet.parameters())

    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    for name in os.listdir(FIXTURE):
        if name not in ("unet.pt", "model.json"):
            shutil.copy(os.path.join(FIXTURE, name), os.path.join(args.out, name))
    torch.jit.script(unet).save(os.path.join(args.out, "unet.pt"))
    with open(os.path.join(FIXTURE, "model.json")) as f:
        model = json.load(f)
    model["name"] = f"sd15-shaped-random-w{args.width}"
    model["description"] = (f"random weights, Stable Diffusion 1.5's UNet architecture at width {args.width} "
                            f"({parameters / 1e6:.0f}M parameters); the SD-shaped fixture's text encoder and VAE")
    model["source"] = {"script": "scripts/gpu-check/make_sd15_model.py", "torch": torch.__version__,
                       "seed": args.seed, "width": args.width}
    with open(os.path.join(args.out, "model.json"), "w") as f:
        json.dump(model, f, indent=2)
    print(json.dumps({"dir": args.out, "parameters": parameters, "width": args.width,
                      "unetBytes": os.path.getsize(os.path.join(args.out, "unet.pt")),
                      "seconds": round(time.time() - started, 1)}))


if __name__ == "__main__":
    main()
