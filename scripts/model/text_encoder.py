"""The text encoder: token + position embeddings and a small pre-LN transformer (no mask:
padding positions are attended like CLIP's, so the output depends only on the ids)."""
import torch
from torch import nn
import torch.nn.functional as F


class Attention(nn.Module):
    """Multi-head attention of queries x over context c (self-attention when c is x)."""

    def __init__(self, dim, context_dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(context_dim, dim, bias=False)
        self.v = nn.Linear(context_dim, dim, bias=False)
        self.out = nn.Linear(dim, dim)

    def forward(self, x, c):
        b, n, d = x.shape
        m = c.shape[1]
        h = self.heads
        q = self.q(x).reshape(b, n, h, d // h).transpose(1, 2)
        k = self.k(c).reshape(b, m, h, d // h).transpose(1, 2)
        v = self.v(c).reshape(b, m, h, d // h).transpose(1, 2)
        w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * self.scale, dim=-1)
        return self.out(torch.matmul(w, v).transpose(1, 2).reshape(b, n, d))


class TransformerLayer(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h)
        return x + self.ff(self.norm2(x))


class TextEncoder(nn.Module):
    """input_ids int64[B, L] -> last hidden state [B, L, D]."""

    def __init__(self, vocab_size, max_length, dim, layers, heads):
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, dim)
        self.positions = nn.Parameter(torch.randn(max_length, dim) * 0.02)
        self.layers = nn.ModuleList([TransformerLayer(dim, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, input_ids):
        x = self.tokens(input_ids) + self.positions[: input_ids.shape[1]]
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)
