"""The noise schedule (SD's, as written to model.json), the training objective and a DDIM sampler.

All schedule arithmetic is float64, like the engine's."""
import numpy as np
import torch


class Schedule:
    def __init__(self, sc):
        t = sc['numTrainTimesteps']
        if sc['betaSchedule'] == 'scaled_linear':
            betas = np.linspace(sc['betaStart'] ** 0.5, sc['betaEnd'] ** 0.5, t, dtype=np.float64) ** 2
        elif sc['betaSchedule'] == 'linear':
            betas = np.linspace(sc['betaStart'], sc['betaEnd'], t, dtype=np.float64)
        else:
            raise ValueError(sc['betaSchedule'])
        self.T = t
        self.abar = torch.from_numpy(np.cumprod(1.0 - betas))
        self.abar_final = 1.0 if sc['setAlphaToOne'] else float(self.abar[0])
        self.steps_offset = sc['stepsOffset']

    def timesteps(self, n):
        ratio = self.T // n
        return [(n - 1 - k) * ratio + self.steps_offset for k in range(n)], ratio


def training_loss(unet, z0, t, noise, context, schedule, prediction_type, min_snr_gamma):
    """Noise z0 to step t and regress the model output on epsilon (or v), min-SNR weighted.

    Min-SNR-gamma (Hang et al. 2023) caps the weight of the easy low-noise steps, which
    speeds up convergence a lot for the same number of steps."""
    abar = schedule.abar[t].to(z0.dtype)[:, None, None, None]
    zt = abar.sqrt() * z0 + (1 - abar).sqrt() * noise
    out = unet(zt, t, context)
    snr = (abar / (1 - abar)).flatten()
    if prediction_type == 'epsilon':
        target = noise
        weight = snr.clamp(max=min_snr_gamma) / snr
    else:  # v_prediction
        target = abar.sqrt() * noise - (1 - abar).sqrt() * z0
        weight = snr.clamp(max=min_snr_gamma) / (snr + 1)
    per_sample = (out - target).pow(2).flatten(1).mean(1)
    return (weight * per_sample).mean(), per_sample


@torch.no_grad()
def ddim_sample(unet, text_encoder, cond_ids, uncond_ids, schedule, steps, guidance, noise, prediction_type):
    """Plain DDIM (eta 0) with classifier-free guidance; returns scaled latents."""
    ctx = text_encoder(torch.cat([uncond_ids, cond_ids]))
    z = noise.double()
    ts, ratio = schedule.timesteps(steps)
    n = z.shape[0]
    for t in ts:
        abar_t = float(schedule.abar[t])
        abar_prev = float(schedule.abar[t - ratio]) if t - ratio >= 0 else schedule.abar_final
        zin = torch.cat([z, z]).float()
        out = unet(zin, torch.full((2 * n,), t, dtype=torch.long), ctx).double()
        if prediction_type == 'v_prediction':
            zz = torch.cat([z, z])
            out = abar_t ** 0.5 * out + (1 - abar_t) ** 0.5 * zz
        eps = out[:n] + guidance * (out[n:] - out[:n])
        a = (abar_prev / abar_t) ** 0.5
        b = (1 - abar_prev) ** 0.5 - a * (1 - abar_t) ** 0.5
        z = a * z + b * eps
    return z.float()
