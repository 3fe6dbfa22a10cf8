// Seeded Gaussian noise from libtorch's CPU generator (Mersenne Twister), so that a seed gives
// exactly what `torch.manual_seed(seed); torch.randn(shape)` gives in Python on CPU.
#pragma once

#include <napi.h>

namespace edict {

// randn(shape: number[], seed: number) -> Promise<{data: Float64Array, shape}>: float32
// standard-normal samples (as torch.randn draws them by default), widened to float64. The
// seed is an integer in [0, 2^32 - 1]: torch's CPU generator keeps only 32 bits of a seed.
Napi::Value Randn(const Napi::CallbackInfo& info);

}  // namespace edict
