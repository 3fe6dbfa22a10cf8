"""Quick edit-quality check in Python (the benchmark proper runs the engine): EDICT edits of
held-out scenes, judged by the TypeScript strict judges. The EDICT step order follows
the paper as docs/algorithm.md writes it (x then y, y then x on odd steps with leapfrog; mix x then y), float64 coupling.

Usage: /usr/bin/python3 scripts/model/edit_eval.py [--count 24] [--strength 0.8] [--guidance 3]
       [--steps 50] [--mix 0.93] [--ckpt FILE]"""
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
from diffusion import Schedule  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--count', type=int, default=24, help='held-out scenes (4 edits each)')
    ap.add_argument('--strength', type=float, default=0.8)
    ap.add_argument('--guidance', type=float, default=3.0)
    ap.add_argument('--steps', type=int, default=50)
    ap.add_argument('--mix', type=float, default=0.93)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--dir', default='.cache/eval-edit')
    ap.add_argument('--raw', action='store_true', help='raw weights instead of the EMA copy')
    ap.add_argument('--ckpt', default=None, help='a stage-2 checkpoint (default: .cache/model/diffusion.ckpt)')
    ap.add_argument('--surgical', action='store_true',
                    help='diagnosis: target text states = source states with only the changed tokens replaced')
    ap.add_argument('--roundtrip', action='store_true', help='target prompt := source prompt; report latent error')
    args = ap.parse_args()
    cfg = load_config()
    torch.set_num_threads(args.threads)
    d = path(args.dir)
    run_tsx('edits', d, str(args.count))
    with open(os.path.join(d, 'edits.json')) as f:
        edits = json.load(f)
    n = len(edits)
    src = np.fromfile(os.path.join(d, 'sources.u8'), dtype=np.uint8).reshape(n, 32, 32, 3)

    tok = models.tokenizer(cfg)
    vae, scale = models.load_frozen_vae(cfg)
    text, unet, state = models.load_trained(cfg, len(tok.vocab), args.raw, args.ckpt)
    sch = Schedule(cfg['scheduler'])
    t0 = time.time()
    with torch.no_grad():
        x_img = torch.from_numpy(src).permute(0, 3, 1, 2).float() / 127.5 - 1
        z0 = (vae.encoder(x_img)[:, :4] * scale).double()
        ids = lambda texts: torch.tensor([tok.encode(t) for t in texts])  # noqa: E731
        ctx_u = text(ids([''] * n))
        ctx_src = torch.cat([ctx_u, text(ids([e['source'] for e in edits]))])
        tgt_ids = ids([e['source' if args.roundtrip else 'target'] for e in edits])
        tgt_states = text(tgt_ids)
        if args.surgical:
            src_ids = ids([e['source'] for e in edits])
            keep = (src_ids == tgt_ids)[:, :, None]
            tgt_states = torch.where(keep, ctx_src[n:], tgt_states)
        ctx_tgt = torch.cat([ctx_u, tgt_states])

        def eps(z, t, ctx):
            out = unet(torch.cat([z, z]).float(), torch.full((2 * n,), t, dtype=torch.long), ctx).double()
            return out[:n] + args.guidance * (out[n:] - out[:n])

        ts, ratio = sch.timesteps(args.steps)
        k = int(args.steps * args.strength)
        run = ts[args.steps - k:]

        def coeffs(t):
            at = float(sch.abar[t])
            ap_ = float(sch.abar[t - ratio]) if t - ratio >= 0 else sch.abar_final
            a = (ap_ / at) ** 0.5
            return a, (1 - ap_) ** 0.5 - a * (1 - at) ** 0.5

        p = args.mix
        x, y = z0.clone(), z0.clone()
        for i in reversed(range(k)):  # inversion with the source prompt
            t = run[i]
            a, b = coeffs(t)
            y = (y - (1 - p) * x) / p
            x = (x - (1 - p) * y) / p
            if i % 2 == 1:  # generation did y then x: undo x first
                x = (x - b * eps(y, t, ctx_src)) / a
                y = (y - b * eps(x, t, ctx_src)) / a
            else:
                y = (y - b * eps(x, t, ctx_src)) / a
                x = (x - b * eps(y, t, ctx_src)) / a
        for i in range(k):  # generation with the target prompt
            t = run[i]
            a, b = coeffs(t)
            if i % 2 == 1:
                y = a * y + b * eps(x, t, ctx_tgt)
                x = a * x + b * eps(y, t, ctx_tgt)
            else:
                x = a * x + b * eps(y, t, ctx_tgt)
                y = a * y + b * eps(x, t, ctx_tgt)
            x = p * x + (1 - p) * y
            y = p * y + (1 - p) * x
        roundtrip_error = (x - z0).abs().max().item()
        img = vae.decoder((x / scale).float())
    out = ((img.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    out.tofile(os.path.join(d, 'edited.u8'))
    result = json.loads(run_tsx('judge', d))
    print(json.dumps({'step': state['step'], 'strength': args.strength, 'guidance': args.guidance,
                      'seconds': round(time.time() - t0, 1), 'latentMaxAbsError': roundtrip_error if args.roundtrip else None,
                      'edicts': result}))


if __name__ == '__main__':
    main()
