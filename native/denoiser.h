// The guided noise prediction for a gathered batch of items: ONE UNet call on [uncond; cond]
// (or cond alone for items whose guidance is 1), each item at its own timestep with its own
// text states; classifier-free guidance and the v-prediction conversion are done in the state
// dtype (float64 by default) on the device.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "component.h"
#include "scheduler.h"

namespace edict {

struct EpsBatch {
  at::Tensor z;               // [N, C, h, w], state dtype
  std::vector<int64_t> t;     // N timesteps
  at::Tensor cond;            // [N, L, D], UNet dtype
  at::Tensor uncond;          // [N, L, D] when guided, else undefined
  at::Tensor guidance;        // [N, 1, 1, 1], state dtype, when guided
};

// Returns eps [N, C, h, w] in the state dtype. `train` supplies abar(t) for v-prediction.
at::Tensor GuidedEps(const Component& unet, const DdimSchedule& train, bool v_prediction,
                     const EpsBatch& batch);

}  // namespace edict
