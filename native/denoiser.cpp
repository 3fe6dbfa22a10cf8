#include "denoiser.h"

#include <chrono>
#include <cmath>

#include "device.h"

namespace edict {

at::Tensor Denoiser::operator()(const at::Tensor& z, int64_t t,
                                const Conditioning& conditioning) const {
  const int64_t batch = z.size(0);
  at::Tensor sample = z.to(unet_.dtype());
  if (conditioning.guided) sample = at::cat({sample, sample});
  const at::Tensor& context = conditioning.context;
  at::Tensor timesteps =
      at::full({sample.size(0)}, t, at::TensorOptions().dtype(at::kLong).device(z.device()));

  auto started = std::chrono::steady_clock::now();
  at::Tensor out = unet_.Forward({sample, timesteps, context});
  if (sync_for_timing_) Synchronize(z.device());
  unet_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ++unet_calls_;
  ExpectOutput(unet_, out, sample.sizes());

  // Fresh tensor in the state dtype (or the UNet's own output): updated in place below.
  at::Tensor prediction = out.to(z.scalar_type());
  if (conditioning.guided) {
    at::Tensor uncond = prediction.narrow(0, 0, batch);
    at::Tensor cond = prediction.narrow(0, batch, batch);
    // uncond + g * (cond - uncond)
    prediction = at::addcmul(uncond, conditioning.guidance, cond.sub_(uncond));
  }
  if (v_prediction_) {
    // eps = sqrt(abar_t) * v + sqrt(1 - abar_t) * z
    const double abar = schedule_.AlphaBar(t);
    prediction.mul_(std::sqrt(abar)).add_(z, std::sqrt(1.0 - abar));
  }
  return prediction;
}

}  // namespace edict
