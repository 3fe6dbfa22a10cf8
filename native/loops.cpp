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
      y = c.a * y + c.b * Eps(eps, x, t, conditioning, ctx);
      x = c.a * x + c.b * Eps(eps, y, t, conditioning, ctx);
    } else {
      x = c.a * x + c.b * Eps(eps, y, t, conditioning, ctx);
      y = c.a * y + c.b * Eps(eps, x, t, conditioning, ctx);
    }
    x = p * x + q * y;
    y = p * y + q * x;
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
    y = (y - q * x) / p;
    x = (x - q * y) / p;
    if (settings.leapfrog && i % 2 == 1) {
      // Generation updated y (from x), then x (from the new y): undo x, then y.
      x = (x - c.b * Eps(eps, y, t, conditioning, ctx)) / c.a;
      y = (y - c.b * Eps(eps, x, t, conditioning, ctx)) / c.a;
    } else {
      // Generation updated x (from y), then y (from the new x): undo y, then x.
      y = (y - c.b * Eps(eps, x, t, conditioning, ctx)) / c.a;
      x = (x - c.b * Eps(eps, y, t, conditioning, ctx)) / c.a;
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
    const StepCoefficients c = schedule.Coefficients(t);
    z = c.a * z + c.b * Eps(eps, z, t, conditioning, ctx);
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
    const StepCoefficients c = schedule.Coefficients(t);
    z = (z - c.b * Eps(eps, z, t, conditioning, ctx)) / c.a;
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
