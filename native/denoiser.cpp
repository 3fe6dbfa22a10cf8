#include "denoiser.h"

#include <cmath>

namespace edict {

at::Tensor GuidedEps(const Component& unet, const DdimSchedule& train, bool v_prediction,
                     const EpsBatch& batch) {
  const at::Tensor& z = batch.z;
  const int64_t n = z.size(0);
  const bool guided = batch.uncond.defined();
  at::Tensor sample = z.to(unet.dtype());
  std::vector<int64_t> t = batch.t;
  at::Tensor context = batch.cond;
  if (guided) {
    sample = at::cat({sample, sample});
    t.insert(t.end(), batch.t.begin(), batch.t.end());
    context = at::cat({batch.uncond, batch.cond});
  }
  at::Tensor timesteps = at::tensor(t, at::TensorOptions().dtype(at::kLong)).to(z.device());

  at::Tensor out = unet.Forward({sample, timesteps, context});
  ExpectOutput(unet, out, sample.sizes());

  // Fresh tensor in the state dtype (or the UNet's own output): updated in place below.
  at::Tensor prediction = out.to(z.scalar_type());
  if (guided) {
    at::Tensor uncond = prediction.narrow(0, 0, n);
    at::Tensor cond = prediction.narrow(0, n, n);
    // uncond + g * (cond - uncond)
    prediction = at::addcmul(uncond, batch.guidance, cond.sub_(uncond));
  }
  if (v_prediction) {
    // eps = sqrt(abar_t) * v + sqrt(1 - abar_t) * z, per item
    std::vector<double> a(n), s(n);
    for (int64_t i = 0; i < n; ++i) {
      const double abar = train.AlphaBar(batch.t[i]);
      a[i] = std::sqrt(abar);
      s[i] = std::sqrt(1.0 - abar);
    }
    const auto options = at::TensorOptions().dtype(at::kDouble);
    const at::Tensor ta = at::tensor(a, options).to(z.device(), z.scalar_type()).view({n, 1, 1, 1});
    const at::Tensor ts = at::tensor(s, options).to(z.device(), z.scalar_type()).view({n, 1, 1, 1});
    prediction.mul_(ta).addcmul_(ts, z);
  }
  return prediction;
}

}  // namespace edict
