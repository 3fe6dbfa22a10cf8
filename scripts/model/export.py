"""Exports the trained model to models/scenes/ in the model folder format (docs/model-format.md):
model.json, tokenizer.json and four TorchScript files (torch.jit.script, so no shape is frozen),
then proves it: each reloaded file is run against the eager module at batch 1 and 3, at two
spatial sizes, in float32 and float64.

Weights are stored as float16 by default (half the size: the engine casts every floating
parameter to the run dtype on load, see native/component.cpp, and docs/model-format.md asks
every component to run in any dtype). The rounding is part of the model: the eager module is
rounded the same way before the comparison, and sample_eval.py --exported measures the files.
Usage: /usr/bin/python3 scripts/model/export.py [--raw] (raw weights instead of the EMA copy)
       [--weights-dtype float32]"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import write_tokenizer  # noqa: E402
from common import load_config, path  # noqa: E402


def check(name, eager, file, make_inputs):
    loaded = torch.jit.load(file)
    loaded.eval()
    worst = 0.0
    for dtype in (torch.float32, torch.float64):
        e = eager.to(dtype)
        l_ = loaded.to(dtype)
        for batch in (1, 3):
            for big in (False, True):
                args = make_inputs(batch, big, dtype)
                with torch.no_grad():
                    a, b = e(*args), l_(*args)
                assert a.dtype == dtype and b.dtype == dtype, (name, a.dtype, b.dtype)
                assert a.shape == b.shape, (name, a.shape, b.shape)
                worst = max(worst, (a - b).abs().max().item())
    eager.float()
    assert worst < 1e-5, f'{name}: loaded TorchScript differs from eager by {worst}'
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--raw', action='store_true')
    ap.add_argument('--weights-dtype', default='float16', choices=['float16', 'float32'])
    args = ap.parse_args()
    store = getattr(torch, args.weights_dtype)
    cfg = load_config()
    torch.set_num_threads(cfg['threads'])
    out = path(cfg['outDir'])
    os.makedirs(out, exist_ok=True)
    tok = write_tokenizer.write(cfg, out)

    vae, scale = models.load_frozen_vae(cfg)
    text, unet, state = models.load_trained(cfg, len(tok.vocab), args.raw)
    comps = {'text_encoder.pt': text, 'unet.pt': unet, 'vae_encoder.pt': vae.encoder, 'vae_decoder.pt': vae.decoder}
    for file, module in comps.items():
        module.eval()
        module.to(store).float()  # the eager reference carries the stored rounding
        scripted = torch.jit.script(module)
        scripted.to(store)
        torch.jit.save(scripted, os.path.join(out, file))

    c = cfg['vae']['latentChannels']
    L, D = cfg['text']['maxLength'], cfg['diffusion']['textDim']
    g = torch.Generator().manual_seed(0)

    def rnd(*shape, dtype):
        return torch.randn(*shape, generator=g).to(dtype)

    errs = {
        'text_encoder': check('text_encoder', text, os.path.join(out, 'text_encoder.pt'),
                              lambda b, big, dt: (torch.randint(0, len(tok.vocab), (b, L if big else 7), generator=g),)),
        'unet': check('unet', unet, os.path.join(out, 'unet.pt'),
                      lambda b, big, dt: (rnd(b, c, 16 if big else 8, 16 if big else 8, dtype=dt),
                                          torch.randint(0, 1000, (b,), generator=g), rnd(b, L, D, dtype=dt))),
        'vae_encoder': check('vae_encoder', vae.encoder, os.path.join(out, 'vae_encoder.pt'),
                             lambda b, big, dt: (rnd(b, 3, 64 if big else 32, 64 if big else 32, dtype=dt).clamp(-1, 1),)),
        'vae_decoder': check('vae_decoder', vae.decoder, os.path.join(out, 'vae_decoder.pt'),
                             lambda b, big, dt: (rnd(b, c, 16 if big else 8, 16 if big else 8, dtype=dt),)),
    }
    params = {k: sum(p.numel() for p in m.parameters()) for k, m in comps.items()}
    dc = cfg['diffusion']
    manifest = {
        'format': 'edict-model',
        'version': 1,
        'name': 'edict-scenes',
        'description': 'Small latent diffusion model of 32x32 scenes (one circle, square or triangle in one of six '
                       'colours on a plain, striped or checkered background), trained on this CPU by scripts/model.',
        'components': {'textEncoder': 'text_encoder.pt', 'unet': 'unet.pt', 'vaeEncoder': 'vae_encoder.pt',
                       'vaeDecoder': 'vae_decoder.pt', 'tokenizer': 'tokenizer.json'},
        'image': {'width': 32, 'height': 32, 'multipleOf': 8},
        'latent': {'channels': c, 'downsample': 4, 'scalingFactor': round(scale, 6)},
        'text': {'maxLength': L, 'hiddenSize': D, 'padId': cfg['text']['padId'], 'eosId': cfg['text']['eosId']},
        'scheduler': {**cfg['scheduler'], 'predictionType': dc['predictionType']},
        'dtypes': {'cpu': 'float32', 'cuda': 'float16'},
        'source': {
            'training': 'scripts/model (train_vae.py, train_diffusion.py, config.json); see scripts/model/README.md',
            'torch': torch.__version__,
            'diffusionSteps': state['step'],
            'diffusionSeconds': round(state['elapsed']),
            'weights': 'raw' if args.raw else 'ema',
            'weightsStoredAs': args.weights_dtype,
            'parameters': params,
        },
    }
    with open(os.path.join(out, 'model.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    size = sum(os.path.getsize(os.path.join(out, f)) for f in list(comps) + ['tokenizer.json', 'model.json'])
    print(json.dumps({'exported': out, 'step': state['step'], 'bytes': size, 'parameters': params,
                      'maxAbsDiffLoadedVsEager': errs}, indent=1))


if __name__ == '__main__':
    main()
