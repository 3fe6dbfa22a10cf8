"""Stage 1: train the KL autoencoder, then measure its held-out PSNR and latent scaling factor.

Resumable: rerun the same command after a kill and it continues from .cache/model/vae.ckpt.
Usage: /usr/bin/python3 scripts/model/train_vae.py"""
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint  # noqa: E402
from common import SceneData, append_log, cosine_lr, load_config, path, setup  # noqa: E402
from vae import AutoEncoder  # noqa: E402


def psnr(a, b):
    """PSNR in dB of images in [-1, 1] measured on the 8-bit scale, per image then averaged."""
    qa = ((a.clamp(-1, 1) + 1) * 127.5).round()
    qb = ((b.clamp(-1, 1) + 1) * 127.5).round()
    mse = (qa - qb).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return (10 * torch.log10(255.0 ** 2 / mse)).mean().item()


def main():
    cfg = load_config()
    setup(cfg)
    vc = cfg['vae']
    data = SceneData(cfg)
    cache = path(cfg['cacheDir'])
    os.makedirs(cache, exist_ok=True)
    ckpt_file = os.path.join(cache, 'vae.ckpt')
    log_file = path(os.path.join(cfg['outDir'], 'vae-training-log.csv'))
    os.makedirs(os.path.dirname(log_file), exist_ok=True)

    model = AutoEncoder(vc['channels'], vc['latentChannels'])
    opt = torch.optim.Adam(model.parameters(), lr=vc['lr'])
    gen = torch.Generator().manual_seed(cfg['seed'] + 1)
    step, elapsed = 0, 0.0
    state = checkpoint.load(ckpt_file)
    if state is not None:
        model.load_state_dict(state['model'])
        opt.load_state_dict(state['opt'])
        gen.set_state(state['gen'])
        step, elapsed = state['step'], state['elapsed']
        print(f'resumed at step {step}', flush=True)
    elif os.path.exists(log_file):
        os.remove(log_file)
    print(f'autoencoder parameters: {sum(p.numel() for p in model.parameters())}', flush=True)

    model.train()
    total = vc['steps']
    t0 = time.time()
    while step < total:
        lr = cosine_lr(step, total, vc['lr'], vc['warmupSteps'])
        for g in opt.param_groups:
            g['lr'] = lr
        x = data.batch_images(data.train_indices(cfg['seed'], step, vc['batchSize']))
        noise = torch.randn(x.shape[0], vc['latentChannels'], 8, 8, generator=gen)
        rec, kl = model(x, noise)
        mse = (rec - x).pow(2).mean()
        loss = mse + vc['klWeight'] * kl.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % vc['logEvery'] == 0:
            now = time.time()
            elapsed += now - t0
            t0 = now
            append_log(log_file, 'step,seconds,lr,mse,kl,psnr_db',
                       f'{step},{elapsed:.1f},{lr:.6f},{mse.item():.6f},{kl.mean().item():.4f},'
                       f'{10 * math.log10(4 / max(mse.item(), 1e-12)):.2f}')
            print(f'step {step} mse {mse.item():.5f} kl {kl.mean().item():.3f} {elapsed:.0f}s', flush=True)
        if step % vc['checkpointEvery'] == 0 or step == total:
            elapsed += time.time() - t0
            t0 = time.time()
            checkpoint.save(ckpt_file, model=model.state_dict(), opt=opt.state_dict(), gen=gen.get_state(),
                            step=step, elapsed=elapsed)

    # Held-out quality and the latent scale (1 / std of posterior means, like SD's 0.18215).
    model.eval()
    with torch.no_grad():
        val = torch.arange(data.train_count, data.count).numpy()
        psnrs, means = [], []
        for i in range(0, len(val), 256):
            x = data.batch_images(val[i:i + 256])
            m = model.encoder(x)[:, :vc['latentChannels']]
            psnrs.append(psnr(model.decoder(m), x) * len(x))
            means.append(m)
        means = torch.cat(means)
        scale = 1.0 / means.std().item()
    result = {'valPsnrDb': sum(psnrs) / len(val), 'scalingFactor': scale, 'latentMean': means.mean().item(),
              'trainSeconds': elapsed, 'steps': step,
              'parameters': sum(p.numel() for p in model.parameters())}
    print(json.dumps(result), flush=True)
    torch.save({'model': model.state_dict(), 'result': result}, os.path.join(cache, 'vae_final.pt'))
    with open(os.path.join(cache, 'vae_result.json'), 'w') as f:
        json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
