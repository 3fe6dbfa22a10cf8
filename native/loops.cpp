#include "loops.h"

#include <cmath>

namespace edict {

namespace {

int64_t StepTimestep(const DdimSchedule& schedule, int executed, int i) {
  return schedule.Timestep(schedule.steps() - executed + i);
}

// eps with a cancellation check first: cancelling lands between UNet calls.
at::Tensor Eps(const Denoiser& eps, const at::Tensor& z, int64_t t, const Conditioning& c,
               const JobContext& ctx) {
  ctx.ThrowIfCancelled();
  return eps(z, t, c);
}

}  // namespace

// The updates below work in place on x, y and z (the loops own them: RunLoop passes copies)
// to keep the per-UNet-call overhead down to a few tensor operations. eps is always computed
// before the tensor it updates is touched.

// z = a z + b e
static void Step(at::Tensor& z, const StepCoefficients& c, const at::Tensor& e) { z.mul_(c.a).add_(e, c.b); }
// z = (z - b e) / a
static void Unstep(at::Tensor& z, const StepCoefficients& c, const at::Tensor& e) { z.sub_(e, c.b).div_(c.a); }

LatentPair EdictGenerate(const Denoiser& eps, const DdimSchedule& schedule,
                         const Conditioning& conditioning, LatentPair pair,
                         const LoopSettings& settings, const JobContext& ctx) {
  const int n = settings.executed;
  const at::Tensor& p = settings.mix;
  const at::Tensor q = 1.0 - p;
  at::Tensor x = pair.x, y = pair.y;
  for (int i = 0; i < n; ++i) {
    const int64_t t = StepTimestep(schedule, n, i);
    const StepCoefficients c = schedule.Coefficients(t);
    if (settings.leapfrog && i % 2 == 1) {
      Step(y, c, Eps(eps, x, t, conditioning, ctx));
      Step(x, c, Eps(eps, y, t, conditioning, ctx));
    } else {
      Step(x, c, Eps(eps, y, t, conditioning, ctx));
      Step(y, c, Eps(eps, x, t, conditioning, ctx));
    }
    x.mul_(p).addcmul_(q, y);  // x = p x + (1 - p) y
    y.mul_(p).addcmul_(q, x);  // y = p y + (1 - p) x, with the new x
    ctx.Report("generate", i + 1, n);
  }
  return {x, y};
}

LatentPair EdictInvert(const Denoiser& eps, const DdimSchedule& schedule,
                       const Conditioning& conditioning, LatentPair pair,
                       const LoopSettings& settings, const JobContext& ctx) {
  const int n = settings.executed;
  const at::Tensor& p = settings.mix;
  const at::Tensor q = 1.0 - p;
  at::Tensor x = pair.x, y = pair.y;
  for (int i = n - 1; i >= 0; --i) {
    const int64_t t = StepTimestep(schedule, n, i);
    const StepCoefficients c = schedule.Coefficients(t);
    // Un-mix: y was mixed last, so it is undone first.
    y.addcmul_(q, x, -1.0).div_(p);  // y = (y - (1 - p) x) / p
    x.addcmul_(q, y, -1.0).div_(p);  // x = (x - (1 - p) y) / p
    if (settings.leapfrog && i % 2 == 1) {
      // Generation updated y (from x), then x (from the new y): undo x, then y.
      Unstep(x, c, Eps(eps, y, t, conditioning, ctx));
      Unstep(y, c, Eps(eps, x, t, conditioning, ctx));
    } else {
      // Generation updated x (from y), then y (from the new x): undo y, then x.
      Unstep(y, c, Eps(eps, x, t, conditioning, ctx));
      Unstep(x, c, Eps(eps, y, t, conditioning, ctx));
    }
    ctx.Report("invert", n - i, n);
  }
  return {x, y};
}

at::Tensor DdimGenerate(const Denoiser& eps, const DdimSchedule& schedule,
                        const Conditioning& conditioning, at::Tensor z,
                        const LoopSettings& settings, const JobContext& ctx) {
  const int n = settings.executed;
  for (int i = 0; i < n; ++i) {
    const int64_t t = StepTimestep(schedule, n, i);
    const at::Tensor e = Eps(eps, z, t, conditioning, ctx);
    Step(z, schedule.Coefficients(t), e);
    ctx.Report("generate", i + 1, n);
  }
  return z;
}

at::Tensor DdimInvert(const Denoiser& eps, const DdimSchedule& schedule,
                      const Conditioning& conditioning, at::Tensor z,
                      const LoopSettings& settings, const JobContext& ctx) {
  const int n = settings.executed;
  for (int i = n - 1; i >= 0; --i) {
    const int64_t t = StepTimestep(schedule, n, i);
    const at::Tensor e = Eps(eps, z, t, conditioning, ctx);
    Unstep(z, schedule.Coefficients(t), e);
    ctx.Report("invert", n - i, n);
  }
  return z;
}

at::Tensor NoiseToStart(const DdimSchedule& schedule, const at::Tensor& z0,
                        const at::Tensor& noise, int executed) {
  const double abar = schedule.AlphaBar(StepTimestep(schedule, executed, 0));
  return std::sqrt(abar) * z0 + std::sqrt(1.0 - abar) * noise;
}

}  // namespace edict
