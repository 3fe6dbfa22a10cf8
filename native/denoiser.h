// The guided noise prediction eps(z, t): one batched UNet call on [uncond; cond] (or cond
// alone when every item's guidance is 1), classifier-free guidance and the v-prediction
// conversion done in the state dtype (float64 by default) on the device.
#pragma once

#include <ATen/ATen.h>

#include "component.h"
#include "scheduler.h"

namespace edict {

struct Conditioning {
  // The UNet's encoder_hidden_states for the whole loop, UNet dtype, on the device:
  // [uncond; cond] ([2B, L, D]) when guided, cond alone ([B, L, D]) when not.
  at::Tensor context;
  at::Tensor guidance;  // [B, 1, 1, 1], state dtype, on the device
  bool guided = false;  // false when every guidance is exactly 1
};

class Denoiser {
 public:
  Denoiser(const Component& unet, const DdimSchedule& schedule, bool v_prediction)
      : unet_(unet), schedule_(schedule), v_prediction_(v_prediction) {}

  // z: [B, C, h, w] in the state dtype. Returns eps in the state dtype.
  at::Tensor operator()(const at::Tensor& z, int64_t t, const Conditioning& conditioning) const;

  // Time spent inside UNet forward calls (seconds), for benchmarks. Exact on CPU; on CUDA
  // kernels run asynchronously, so the time is only right with SyncForTiming(true), which
  // adds a synchronisation per call and is off by default.
  void SyncForTiming(bool on) { sync_for_timing_ = on; }
  double unet_seconds() const { return unet_seconds_; }
  int unet_calls() const { return unet_calls_; }

 private:
  const Component& unet_;
  const DdimSchedule& schedule_;
  bool v_prediction_;
  bool sync_for_timing_ = false;
  mutable double unet_seconds_ = 0;
  mutable int unet_calls_ = 0;
};

}  // namespace edict
