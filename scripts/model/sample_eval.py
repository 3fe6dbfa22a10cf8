"""Quick sample-quality check during or after training: DDIM samples with classifier-free
guidance for the held-out benchmark captions, scored by the TypeScript detector.

Usage: /usr/bin/python3 scripts/model/sample_eval.py [--n 240] [--steps 25] [--guidance 3]
       [--raw] (use the raw weights instead of the EMA copy) [--png out.png]
       [--exported] (sample with the exported TorchScript files of models/scenes instead)"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
from common import load_config, path, run_tsx  # noqa: E402
from diffusion import Schedule, ddim_sample  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=240)
    ap.add_argument('--steps', type=int, default=25)
    ap.add_argument('--guidance', type=float, default=3.0)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--raw', action='store_true')
    ap.add_argument('--threads', type=int, default=None)
    ap.add_argument('--png', default=None)
    ap.add_argument('--exported', action='store_true')
    ap.add_argument('--dir', default='.cache/eval')
    args = ap.parse_args()
    cfg = load_config()
    torch.set_num_threads(args.threads or cfg['threads'])
    d = path(args.dir)
    if not os.path.exists(os.path.join(d, 'prompts.txt')):
        run_tsx('prompts', d)
    with open(os.path.join(d, 'prompts.txt')) as f:
        prompts = f.read().strip().split('\n')[: args.n]

    tok = models.tokenizer(cfg)
    if args.exported:
        out = path(cfg['outDir'])
        with open(os.path.join(out, 'model.json')) as f:
            manifest = json.load(f)
        scale = manifest['latent']['scalingFactor']

        def load(name):
            m = torch.jit.load(os.path.join(out, manifest['components'][name]))
            m.float()  # as the engine does: every floating tensor to the run dtype
            m.eval()
            return m

        text, unet = load('textEncoder'), load('unet')

        class Vae:
            decoder = load('vaeDecoder')
        vae = Vae()
        state = {'step': manifest['source'].get('diffusionSteps')}
    else:
        vae, scale = models.load_frozen_vae(cfg)
        text, unet, state = models.load_trained(cfg, len(tok.vocab), args.raw)
    schedule = Schedule(cfg['scheduler'])
    g = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    images = []
    c = cfg['vae']['latentChannels']
    for i in range(0, len(prompts), 60):
        chunk = prompts[i:i + 60]
        cond = torch.tensor([tok.encode(p) for p in chunk])
        uncond = torch.tensor([tok.encode('')] * len(chunk))
        noise = torch.randn(len(chunk), c, 8, 8, generator=g)
        z = ddim_sample(unet, text, cond, uncond, schedule, args.steps, args.guidance, noise,
                        cfg['diffusion']['predictionType'])
        with torch.no_grad():
            img = vae.decoder(z / scale)
        images.append(((img.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
    images = np.concatenate(images)
    images.tofile(os.path.join(d, 'samples.u8'))
    result = json.loads(run_tsx('score', d))
    result.update(step=state['step'], guidance=args.guidance, steps=args.steps, ema=not args.raw, exported=args.exported,
                  seconds=round(time.time() - t0, 1))
    print(json.dumps(result), flush=True)
    if args.png:
        from PIL import Image
        k = min(len(images), 60)
        cols = 10
        grid = np.zeros(((k + cols - 1) // cols * 34, cols * 34, 3), dtype=np.uint8)
        for j in range(k):
            r, q = divmod(j, cols)
            grid[r * 34 + 1:r * 34 + 33, q * 34 + 1:q * 34 + 33] = images[j]
        Image.fromarray(grid).resize((grid.shape[1] * 3, grid.shape[0] * 3), Image.NEAREST).save(args.png)


if __name__ == '__main__':
    main()
