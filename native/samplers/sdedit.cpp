// SDEdit (Meng et al. 2022): noise the image forward to the first executed timestep,
// z_t = sqrt(abar_t) z0 + sqrt(1 - abar_t) noise with t = t_{N-n}, then DDIM generation.
#include <cmath>

#include "../sampler.h"

namespace edict {

std::unique_ptr<Sampler> MakeDdimGenerate(ItemStart start);  // samplers/ddim.cpp

SamplerKind SdeditKind() {
  return {"sdedit", "generate", false, true, [](ItemStart s) -> std::unique_ptr<Sampler> {
            const double abar = s.schedule->AlphaBar(StepTimestep(*s.schedule, s.executed, 0));
            s.x = std::sqrt(abar) * s.x + std::sqrt(1.0 - abar) * s.noise;
            return MakeDdimGenerate(std::move(s));
          }};
}

}  // namespace edict
