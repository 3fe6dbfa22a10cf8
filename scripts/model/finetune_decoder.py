"""Stage 1b: fine-tune the autoencoder's decoder on the frozen encoder's posterior means.

Why: stage 1 stopped at 1,200 steps while its PSNR was still rising, and the autoencoder's
round trip is the ceiling of every edit's preservation. The encoder (so the latent space, its
scaling factor and the trained UNet) stays exactly as it is; only the decoder learns, on the
posterior means, which is what the engine encodes with and what the UNet was trained to make.

Starts from .cache/model/vae_final.pt when it exists, else from the exported
models/scenes/vae_{encoder,decoder}.pt (their float16-stored weights; after an --export that
decoder is already the tuned one, so a rerun without the cache tunes it further).
Resumable: rerun the same command after a kill and it continues from
.cache/model/decoder.ckpt. Seeded.
Usage: /usr/bin/python3 scripts/model/finetune_decoder.py [--export]
  --export writes the tuned decoder to models/scenes/vae_decoder.pt (checked like export.py)."""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint  # noqa: E402
import models  # noqa: E402
from common import SceneData, append_log, cosine_lr, load_config, path, setup, truncate_log  # noqa: E402
from train_vae import psnr  # noqa: E402


def initial_autoencoder(cfg):
    """The stage-1 autoencoder: its float32 checkpoint if present, else the exported files."""
    if os.path.exists(os.path.join(path(cfg['cacheDir']), 'vae_final.pt')):
        vae, _ = models.load_frozen_vae(cfg, tuned=False)
        return vae, 'vae_final.pt'
    vae = models.autoencoder(cfg)
    out = path(cfg['outDir'])
    for part, file in ((vae.encoder, 'vae_encoder.pt'), (vae.decoder, 'vae_decoder.pt')):
        state = torch.jit.load(os.path.join(out, file)).state_dict()
        part.load_state_dict({k: v.float() for k, v in state.items()})
    return vae, 'exported float16 weights'


def held_out_psnr(cfg, data, vae):
    c = cfg['vae']['latentChannels']
    val = torch.arange(data.train_count, data.count).numpy()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(val), 256):
            x = data.batch_images(val[i:i + 256])
            total += psnr(vae.decoder(vae.encoder(x)[:, :c]), x) * len(x)
    return total / len(val)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--export', action='store_true')
    args = ap.parse_args()
    cfg = load_config()
    setup(cfg)
    fc = cfg['decoderFinetune']
    c = cfg['vae']['latentChannels']
    data = SceneData(cfg)
    cache = path(cfg['cacheDir'])
    os.makedirs(cache, exist_ok=True)
    ckpt_file = os.path.join(cache, 'decoder.ckpt')
    log_file = path(os.path.join(cfg['outDir'], 'decoder-finetune-log.csv'))

    vae, origin = initial_autoencoder(cfg)
    vae.eval()
    for p in vae.encoder.parameters():
        p.requires_grad_(False)
    decoder = vae.decoder
    for p in decoder.parameters():  # load_frozen_vae froze them all
        p.requires_grad_(True)
    opt = torch.optim.Adam(decoder.parameters(), lr=fc['lr'])
    step, elapsed, start_psnr = 0, 0.0, None
    state = checkpoint.load(ckpt_file)
    if state is not None:
        decoder.load_state_dict(state['decoder'])
        opt.load_state_dict(state['opt'])
        step, elapsed, start_psnr = state['step'], state['elapsed'], state['startPsnr']
        print(f'resumed at step {step}', flush=True)
        truncate_log(log_file, step)
    else:
        if os.path.exists(log_file):
            os.remove(log_file)
        start_psnr = held_out_psnr(cfg, data, vae)
    print(f'decoder from {origin}; held-out PSNR before: {start_psnr:.2f} dB', flush=True)

    decoder.train()
    total = fc['steps']
    t0 = time.time()
    while step < total:
        lr = cosine_lr(step, total, fc['lr'], fc['warmupSteps'])
        for g in opt.param_groups:
            g['lr'] = lr
        # A seed offset of its own, so these batches are not stage 1's.
        x = data.batch_images(data.train_indices(cfg['seed'] + 17, step, fc['batchSize']))
        with torch.no_grad():
            mean = vae.encoder(x)[:, :c]
        mse = (decoder(mean) - x).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        mse.backward()
        opt.step()
        step += 1
        if step % fc['logEvery'] == 0:
            now = time.time()
            elapsed += now - t0
            t0 = now
            append_log(log_file, 'step,seconds,lr,mse', f'{step},{elapsed:.1f},{lr:.6f},{mse.item():.6f}')
            print(f'step {step} mse {mse.item():.5f} {elapsed:.0f}s', flush=True)
        if step % fc['checkpointEvery'] == 0 or step == total:
            elapsed += time.time() - t0
            t0 = time.time()
            checkpoint.save(ckpt_file, decoder=decoder.state_dict(), opt=opt.state_dict(), step=step,
                            elapsed=elapsed, startPsnr=start_psnr)

    decoder.eval()
    result = {'from': origin, 'steps': step, 'trainSeconds': round(elapsed, 1),
              'valPsnrDbBefore': round(start_psnr, 3), 'valPsnrDb': round(held_out_psnr(cfg, data, vae), 3)}
    print(json.dumps(result), flush=True)
    torch.save({'decoder': decoder.state_dict(), 'result': result}, os.path.join(cache, models.TUNED_DECODER_FILE))
    if args.export:
        import export  # noqa: E402  (only here: export imports the tokenizer writer)
        export.write_decoder(cfg, decoder, result)


if __name__ == '__main__':
    main()
