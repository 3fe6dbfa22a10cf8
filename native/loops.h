// The sampling loops, entirely on the device in the state dtype (float64 by default):
// EDICT's coupled x/y generation and its exact inversion, and the two baselines users compare
// against, DDIM inversion/generation and SDEdit.
//
// Executed step i (i = 0 for the first) runs timestep t_{N-n+i} of the DDIM schedule, from t
// to t - ratio, with z' = a z + b eps(., t).
#pragma once

#include <ATen/ATen.h>

#include "denoiser.h"
#include "executor.h"
#include "scheduler.h"

namespace edict {

struct LatentPair {
  at::Tensor x;
  at::Tensor y;
};

struct LoopSettings {
  int executed = 0;       // n: how many of the schedule's last steps run (from strength)
  bool leapfrog = true;   // EDICT: alternate which sequence updates first on odd steps
  at::Tensor mix;         // EDICT: p per item, [B, 1, 1, 1] in the state dtype
};

// Generation: n denoising steps of the coupled pair (x, y).
//   leapfrog and i odd: y = a y + b eps(x), then x = a x + b eps(y)
//   otherwise:          x = a x + b eps(y), then y = a y + b eps(x)
//   then mixing:        x = p x + (1-p) y,  then y = p y + (1-p) x
LatentPair EdictGenerate(const Denoiser& eps, const DdimSchedule& schedule,
                         const Conditioning& conditioning, LatentPair pair,
                         const LoopSettings& settings, const JobContext& ctx);

// The exact inverse of EdictGenerate: steps i = n-1 .. 0, each un-mixing and then undoing the
// two updates in the opposite order to the one generation used at that i.
LatentPair EdictInvert(const Denoiser& eps, const DdimSchedule& schedule,
                       const Conditioning& conditioning, LatentPair pair,
                       const LoopSettings& settings, const JobContext& ctx);

// DDIM: z = a z + b eps(z) for i = 0 .. n-1.
at::Tensor DdimGenerate(const Denoiser& eps, const DdimSchedule& schedule,
                        const Conditioning& conditioning, at::Tensor z,
                        const LoopSettings& settings, const JobContext& ctx);

// DDIM inversion (approximate): z = (z - b eps(z)) / a for i = n-1 .. 0, eps taken at the
// current (less noisy) point because the one it should be taken at is unknown.
at::Tensor DdimInvert(const Denoiser& eps, const DdimSchedule& schedule,
                      const Conditioning& conditioning, at::Tensor z,
                      const LoopSettings& settings, const JobContext& ctx);

// SDEdit's forward noising to the first executed timestep:
// z_t = sqrt(abar_t) z0 + sqrt(1 - abar_t) noise, t = t_{N-n}.
at::Tensor NoiseToStart(const DdimSchedule& schedule, const at::Tensor& z0,
                        const at::Tensor& noise, int executed);

}  // namespace edict
