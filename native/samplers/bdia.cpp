// BDIA (Zhang, Lewis, Kleijn, ECCV 2024): bidirectional integration approximation. With the
// DDIM map D_{k->j} (sampler.h) and eps_k = eps(x_k, t_k):
//   generation  x_{k-1} = gamma x_{k+1} - gamma D_{k->k+1}(x_k) + D_{k->k-1}(x_k)
//   inversion   x_{k+1} = (x_{k-1} - D_{k->k-1}(x_k)) / gamma + D_{k->k+1}(x_k)
// gamma in (0, 1]; inversion divides by it every step, so its rounding error grows like
// gamma^-(n-1) (the API warns when that passes 1e4).
#include "two_step.h"

namespace edict {

namespace {

struct BdiaRule {
  double gamma;
  at::Tensor Down(const at::Tensor& upper, const at::Tensor& x, const at::Tensor& eps, const LevelTriple& l) const {
    return upper * gamma - DdimMap(x, l.at, l.above, eps) * gamma + DdimMap(x, l.at, l.below, eps);
  }
  at::Tensor Up(const at::Tensor& lower, const at::Tensor& x, const at::Tensor& eps, const LevelTriple& l) const {
    return (lower - DdimMap(x, l.at, l.below, eps)) / gamma + DdimMap(x, l.at, l.above, eps);
  }
};

}  // namespace

SamplerKind BdiaGenerateKind() {
  return {"bdia-generate", "generate", true, false, [](ItemStart s) -> std::unique_ptr<Sampler> {
            const double gamma = s.gamma;
            return std::make_unique<TwoStepGenerate<BdiaRule>>(std::move(s), BdiaRule{gamma});
          }};
}

SamplerKind BdiaInvertKind() {
  return {"bdia-invert", "invert", false, false, [](ItemStart s) -> std::unique_ptr<Sampler> {
            const double gamma = s.gamma;
            return std::make_unique<TwoStepInvert<BdiaRule>>(std::move(s), BdiaRule{gamma});
          }};
}

}  // namespace edict
