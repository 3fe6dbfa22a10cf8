"""Stage 2: train the text encoder and the latent UNet on the frozen autoencoder's latents.

DDPM epsilon objective (min-SNR weighted) under the scheduler of config.json, caption
dropout to the empty prompt's ids (so classifier-free guidance works), EMA of the weights
(the EMA copy is what gets exported). Resumable: rerun after a kill and it continues from
.cache/model/diffusion.ckpt with the optimizer, LR schedule and EMA; the noise, timesteps
and dropout of a step are drawn from a generator seeded by (seed, worker, step), and the
data order is a fixed permutation per epoch, so a resumed run draws what an unbroken one would.

Data parallel over `workers` processes of one thread each (gloo all-reduce of the
gradients on 127.0.0.1): on this CPU a model this small runs a batch of 64 faster on one
thread than on two (OpenMP overhead on small tensors), so two one-thread workers with half
a batch each use both cores. With workers = 1 the thread count is tuned by measuring.
Stop it with `kill -- -<process group>` (or kill the parent and the workers by pid).
Usage: /usr/bin/python3 scripts/model/train_diffusion.py [--steps N] [--workers W]  (N extends the run)"""
import argparse
import copy
import os
import sys
import time

import signal
import socket

import numpy as np
import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint  # noqa: E402
import models  # noqa: E402
from common import SceneData, append_log, cosine_lr, load_config, path, setup, truncate_log  # noqa: E402
from diffusion import Schedule, training_loss  # noqa: E402
from threads import ThreadTuner  # noqa: E402


def encode_all(cfg, data, vae, file):
    """Posterior means of every training image, computed once with the frozen autoencoder."""
    if os.path.exists(file):
        return np.load(file, mmap_mode='r')
    c = cfg['vae']['latentChannels']
    out = np.zeros((data.count, c, 8, 8), dtype=np.float32)
    t0 = time.time()
    with torch.no_grad():
        for i in range(0, data.count, 512):
            idx = np.arange(i, min(i + 512, data.count))
            out[idx] = vae.encoder(data.batch_images(idx))[:, :c].numpy()
    np.save(file + '.tmp.npy', out)
    os.replace(file + '.tmp.npy', file)
    print(f'encoded {data.count} latents in {time.time() - t0:.0f}s', flush=True)
    return out


def die_with_parent():
    """Linux: a worker gets SIGTERM when the launching process dies, so killing the launcher stops the run."""
    try:
        import ctypes
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=None, help='total steps (default: config)')
    ap.add_argument('--workers', type=int, default=None, help='data-parallel processes (default: config)')
    args = ap.parse_args()
    cfg = load_config()
    workers = args.workers or cfg['diffusion'].get('workers', 1)
    if workers > 1:
        torch.multiprocessing.spawn(run, args=(workers, free_port(), args.steps), nprocs=workers, join=True)
    else:
        run(0, 1, 0, args.steps)


def run(rank, world, port, steps):
    cfg = load_config()
    setup(cfg)
    if world > 1:
        die_with_parent()
        dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=world)
        torch.set_num_threads(1)
    lead = rank == 0
    dc = cfg['diffusion']
    total = steps or dc['steps']
    cache = path(cfg['cacheDir'])
    ckpt_file = os.path.join(cache, 'diffusion.ckpt')
    log_file = path(os.path.join(cfg['outDir'], 'training-log.csv'))

    data = SceneData(cfg)
    tok = models.tokenizer(cfg)
    vae, scale = models.load_frozen_vae(cfg)
    latents_file = os.path.join(cache, 'latents.npy')
    if lead:
        encode_all(cfg, data, vae, latents_file)
    if world > 1:
        dist.barrier()
    latents = np.load(latents_file, mmap_mode='r')
    ids_of = {}
    all_ids = np.array([ids_of.setdefault(c, tok.encode(c)) for c in data.captions], dtype=np.int64)
    empty = torch.tensor(tok.encode(''), dtype=torch.long)

    text = models.text_encoder(cfg, len(tok.vocab))
    unet = models.unet(cfg)
    params = list(text.parameters()) + list(unet.parameters())
    if lead:
        print(f'text encoder {sum(p.numel() for p in text.parameters())} + unet '
              f'{sum(p.numel() for p in unet.parameters())} parameters; {world} worker(s)', flush=True)
    opt = torch.optim.AdamW(params, lr=dc['lr'], weight_decay=dc['weightDecay'])
    ema_text, ema_unet = copy.deepcopy(text), copy.deepcopy(unet)
    gen = torch.Generator()
    schedule = Schedule(cfg['scheduler'])
    step, elapsed = 0, 0.0
    state = checkpoint.load(ckpt_file)
    if state is not None:
        text.load_state_dict(state['text'])
        unet.load_state_dict(state['unet'])
        ema_text.load_state_dict(state['ema_text'])
        ema_unet.load_state_dict(state['ema_unet'])
        opt.load_state_dict(state['opt'])
        step, elapsed = state['step'], state['elapsed']
        if lead:
            print(f'resumed at step {step} ({elapsed:.0f}s trained)', flush=True)
            truncate_log(log_file, step)
    elif lead and os.path.exists(log_file):
        os.remove(log_file)
    ema_params = list(ema_text.parameters()) + list(ema_unet.parameters())

    def save():
        checkpoint.save(ckpt_file, text=text.state_dict(), unet=unet.state_dict(), ema_text=ema_text.state_dict(),
                        ema_unet=ema_unet.state_dict(), opt=opt.state_dict(), step=step,
                        elapsed=elapsed, scalingFactor=scale, total=total, workers=world)

    text.train()
    unet.train()
    t0 = time.time()
    last_log = elapsed
    run_loss, run_n = 0.0, 0
    bsz = dc['batchSize']
    local = bsz // world
    tuner = ThreadTuner(options=(1, cfg['threads']) if cfg['threads'] > 1 and world == 1 else (1,), period=500, probe=4)
    while step < total:
        if world == 1:
            tuner.before(step)
        # The LR schedule is over the config's step count; extending a run keeps the final LR.
        lr = cosine_lr(step, dc['steps'], dc['lr'], dc['warmupSteps'])
        for g in opt.param_groups:
            g['lr'] = lr
        idx = data.train_indices(cfg['seed'] + 1, step, bsz)[rank * local:(rank + 1) * local]
        gen.manual_seed(cfg['seed'] * 1_000_003 + rank * 7_919 + step * 104_729)
        z0 = torch.from_numpy(np.ascontiguousarray(latents[idx])) * scale
        ids = torch.from_numpy(all_ids[idx])
        drop = torch.rand(local, generator=gen) < dc['captionDropout']
        ids = torch.where(drop[:, None], empty[None, :].expand_as(ids), ids)
        t = torch.randint(0, schedule.T, (local,), generator=gen)
        noise = torch.randn(z0.shape, generator=gen)
        loss, _ = training_loss(unet, z0, t, noise, text(ids), schedule, dc['predictionType'], dc['minSnrGamma'])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if world > 1:
            # One flat all-reduce of every gradient and the loss: the workers stay bit-identical.
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
            flat = torch.cat([g.flatten() for g in grads] + [loss.detach().reshape(1)])
            dist.all_reduce(flat)
            flat /= world
            o = 0
            for p, g in zip(params, grads):
                n = g.numel()
                p.grad = flat[o:o + n].view_as(g)
                o += n
            loss_value = flat[-1].item()
        else:
            loss_value = loss.item()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        decay = min(dc['emaDecay'], (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in zip(ema_params, params):
                e.mul_(decay).add_(p.detach(), alpha=1 - decay)
        if world == 1:
            tuner.after()
        run_loss += loss_value
        run_n += 1
        if step % dc['logEvery'] == 0:
            now = time.time()
            elapsed += now - t0
            t0 = now
            if lead:
                append_log(log_file, 'step,seconds,lr,loss', f'{step},{elapsed:.1f},{lr:.6f},{run_loss / run_n:.5f}')
                print(f'step {step} loss {run_loss / run_n:.4f} lr {lr:.5f} {elapsed:.0f}s '
                      f'({dc["logEvery"] / max(1e-9, elapsed - last_log):.2f} steps/s; '
                      f'{tuner.summary() if world == 1 else f"{world} workers"})', flush=True)
            last_log = elapsed
            run_loss, run_n = 0.0, 0
        if step % dc['checkpointEvery'] == 0 or step == total:
            elapsed += time.time() - t0
            t0 = time.time()
            if lead:
                save()
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    if lead:
        print('done', flush=True)


if __name__ == '__main__':
    main()
