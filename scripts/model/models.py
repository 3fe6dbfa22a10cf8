"""Builds the three networks from config.json, so training, evaluation and export agree."""
import json
import os

import torch

from common import path
from text_encoder import TextEncoder
from tokenizer import WordTokenizer
from unet import UNet
from vae import AutoEncoder


def tokenizer(cfg):
    with open(os.path.join(path(cfg['data']['dir']), 'meta.json')) as f:
        words = json.load(f)['words']
    return WordTokenizer(words, cfg['text']['maxLength'])


def autoencoder(cfg):
    v = cfg['vae']
    return AutoEncoder(v['channels'], v['latentChannels'])


def text_encoder(cfg, vocab_size, layers=None):
    d = cfg['diffusion']
    layers = d['textLayers'] if layers is None else layers
    return TextEncoder(vocab_size, cfg['text']['maxLength'], d['textDim'], layers, d['textHeads'])


def unet(cfg):
    d = cfg['diffusion']
    return UNet(cfg['vae']['latentChannels'], d['unetChannels'], d['textDim'], d['unetHeads'], d['timeDim'],
                d.get('blocks', 2), d.get('ffMult', 2))


def load_frozen_vae(cfg, tuned=True):
    """The stage-1 autoencoder and its measured scaling factor; with `tuned`, its decoder is the
    fine-tuned one of finetune_decoder.py when that has run (the encoder is stage 1's either way)."""
    cache = path(cfg['cacheDir'])
    state = torch.load(os.path.join(cache, 'vae_final.pt'), map_location='cpu')
    vae = autoencoder(cfg)
    vae.load_state_dict(state['model'])
    tuned_state = _tuned_decoder(cfg) if tuned else None
    if tuned_state is not None:
        vae.decoder.load_state_dict(tuned_state['decoder'])
    vae.eval()
    for p in vae.parameters():
        p.requires_grad_(False)
    return vae, state['result']['scalingFactor']


TUNED_DECODER_FILE = 'vae_decoder_tuned.pt'  # finetune_decoder.py's output, in the cache dir


def _tuned_decoder(cfg):
    file = os.path.join(path(cfg['cacheDir']), TUNED_DECODER_FILE)
    return torch.load(file, map_location='cpu') if os.path.exists(file) else None


def tuned_decoder_result(cfg):
    """What finetune_decoder.py measured, or None when the decoder is stage 1's."""
    state = _tuned_decoder(cfg)
    return None if state is None else state['result']


def load_trained(cfg, vocab_size, raw=False, file=None):
    """The stage-2 checkpoint's text encoder and UNet (EMA weights unless raw), in eval mode,
    and the checkpoint itself (for its step count). The text encoder's depth is read from the
    checkpoint, so an older model (2 transformer layers) still loads for comparison."""
    state = torch.load(file or os.path.join(path(cfg['cacheDir']), 'diffusion.ckpt'), map_location='cpu')
    prefix = '' if raw else 'ema_'
    layers = len({k.split('.')[1] for k in state[prefix + 'text'] if k.startswith('layers.')})
    text, net = text_encoder(cfg, vocab_size, layers), unet(cfg)
    text.load_state_dict(state[prefix + 'text'])
    net.load_state_dict(state[prefix + 'unet'])
    return text.eval(), net.eval(), state
