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


def save_scripted(module, file, store):
    """Scripts `module` and saves it with its weights stored as `store`; the eager module keeps
    the same rounding (back in float32), so check() compares like with like."""
    module.eval()
    module.to(store).float()
    scripted = torch.jit.script(module)
    scripted.to(store)
    torch.jit.save(scripted, file)


def check_decoder(cfg, decoder, file):
    g = torch.Generator().manual_seed(0)
    c = cfg['vae']['latentChannels']
    return check('vae_decoder', decoder, file,
                 lambda b, big, dt: (torch.randn(b, c, 16 if big else 8, 16 if big else 8, generator=g).to(dt),))


def write_decoder(cfg, decoder, result, store=torch.float16):
    """Replaces only the exported decoder (finetune_decoder.py --export): the encoder, text
    encoder, UNet and tokenizer stay byte for byte; model.json records the fine-tune."""
    out = path(cfg['outDir'])
    file = os.path.join(out, 'vae_decoder.pt')
    save_scripted(decoder, file + '.tmp', store)
    err = check_decoder(cfg, decoder, file + '.tmp')
    os.replace(file + '.tmp', file)
    manifest_file = os.path.join(out, 'model.json')
    with open(manifest_file) as f:
        manifest = json.load(f)
    manifest['source']['decoderFinetune'] = result
    with open(manifest_file + '.tmp', 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    os.replace(manifest_file + '.tmp', manifest_file)
    print(json.dumps({'exported': file, 'maxAbsDiffLoadedVsEager': err, **result}, indent=1))


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
        save_scripted(module, os.path.join(out, file), store)

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
        'vae_decoder': check_decoder(cfg, vae.decoder, os.path.join(out, 'vae_decoder.pt')),
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
    tuned = models.tuned_decoder_result(cfg)
    if tuned is not None:
        manifest['source']['decoderFinetune'] = tuned
    with open(os.path.join(out, 'model.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    size = sum(os.path.getsize(os.path.join(out, f)) for f in list(comps) + ['tokenizer.json', 'model.json'])
    print(json.dumps({'exported': out, 'step': state['step'], 'bytes': size, 'parameters': params,
                      'maxAbsDiffLoadedVsEager': errs}, indent=1))


if __name__ == '__main__':
    main()
