"""The KL autoencoder: 32x32x3 in [-1, 1] <-> 8x8xC latents (downsample 4), like SD's VAE in miniature."""
import torch
from torch import nn
import torch.nn.functional as F

from blocks import Downsample, ResBlock, Upsample, norm


class Encoder(nn.Module):
    """image [B, 3, H, W] -> [B, 2C, H/4, W/4]: posterior mean and log-variance (unscaled)."""

    def __init__(self, channels, latent_channels):
        super().__init__()
        c0, c1, c2 = channels
        self.conv_in = nn.Conv2d(3, c0, 3, padding=1)
        self.res0 = ResBlock(c0, c0)
        self.down0 = Downsample(c0, c1)
        self.res1 = ResBlock(c1, c1)
        self.down1 = Downsample(c1, c2)
        self.res2 = ResBlock(c2, c2)
        self.res3 = ResBlock(c2, c2)
        self.norm_out = norm(c2)
        self.conv_out = nn.Conv2d(c2, 2 * latent_channels, 3, padding=1)

    def forward(self, image):
        h = self.res0(self.conv_in(image))
        h = self.res1(self.down0(h))
        h = self.down1(h)
        h = self.res3(self.res2(h))
        moments = self.conv_out(F.silu(self.norm_out(h)))
        c = moments.shape[1] // 2
        # Bound the log-variance like SD does, so exp() cannot overflow in float16.
        return torch.cat([moments[:, :c], moments[:, c:].clamp(-30.0, 20.0)], dim=1)


class Decoder(nn.Module):
    """latent [B, C, h, w] (unscaled) -> image [B, 3, 4h, 4w] in [-1, 1]."""

    def __init__(self, channels, latent_channels):
        super().__init__()
        c0, c1, c2 = channels
        self.conv_in = nn.Conv2d(latent_channels, c2, 3, padding=1)
        self.res0 = ResBlock(c2, c2)
        self.res1 = ResBlock(c2, c2)
        self.up0 = Upsample(c2, c1)
        self.res2 = ResBlock(c1, c1)
        self.up1 = Upsample(c1, c0)
        self.res3 = ResBlock(c0, c0)
        self.norm_out = norm(c0)
        self.conv_out = nn.Conv2d(c0, 3, 3, padding=1)

    def forward(self, latent):
        h = self.res1(self.res0(self.conv_in(latent)))
        h = self.res2(self.up0(h))
        h = self.res3(self.up1(h))
        return torch.tanh(self.conv_out(F.silu(self.norm_out(h))))


class AutoEncoder(nn.Module):
    def __init__(self, channels, latent_channels):
        super().__init__()
        self.encoder = Encoder(channels, latent_channels)
        self.decoder = Decoder(channels, latent_channels)
        self.latent_channels = latent_channels

    def forward(self, image, noise):
        moments = self.encoder(image)
        c = self.latent_channels
        mean, logvar = moments[:, :c], moments[:, c:]
        z = mean + torch.exp(0.5 * logvar) * noise
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar)
        return self.decoder(z), kl
