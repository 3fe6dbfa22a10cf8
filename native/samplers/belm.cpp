// BELM / O-BELM (Wang et al., NeurIPS 2024): the optimal second-order bidirectional explicit
// linear multistep sampler. In xbar = x / a and lambda = s / a (dxbar / dlambda = eps), with
// h_k = lambda_k - lambda_{k-1} > 0:
//   xbar_{k-1} = (h_k^2 / h_{k+1}^2) xbar_{k+1} + ((h_{k+1}^2 - h_k^2) / h_{k+1}^2) xbar_k
//                - (h_k (h_k + h_{k+1}) / h_{k+1}) eps_k
// (exact when xbar is linear in lambda). Multiplied by a_{k-1}:
//   generation  x_{k-1} = A x_{k+1} + B x_k - C eps_k,
//     A = (h_k^2 / h_{k+1}^2) (a_{k-1} / a_{k+1}),  B = ((h_{k+1}^2 - h_k^2) / h_{k+1}^2) (a_{k-1} / a_k),
//     C = (h_k (h_k + h_{k+1}) / h_{k+1}) a_{k-1}
//   inversion   x_{k+1} = (x_{k-1} - B x_k + C eps_k) / A   (the same relation solved for x_{k+1}).
// Level 0 takes the schedule's final alpha, as DDIM and EDICT do here (the reference code puts
// abar = 1 there; SD's set_alpha_to_one=false makes ours abar_0, a lambda_0 of 0.03 instead of 0).
#include "two_step.h"

namespace edict {

namespace {

struct BelmCoefficients {
  double A, B, C;
};

BelmCoefficients Coefficients(const LevelTriple& l) {
  const double lambda_below = l.below.s / l.below.a, lambda_at = l.at.s / l.at.a, lambda_above = l.above.s / l.above.a;
  const double h = lambda_at - lambda_below, h_next = lambda_above - lambda_at;
  const double h2 = h * h, h_next2 = h_next * h_next;
  return {(h2 / h_next2) * (l.below.a / l.above.a), ((h_next2 - h2) / h_next2) * (l.below.a / l.at.a),
          (h * (h + h_next) / h_next) * l.below.a};
}

struct BelmRule {
  at::Tensor Down(const at::Tensor& upper, const at::Tensor& x, const at::Tensor& eps, const LevelTriple& l) const {
    const BelmCoefficients c = Coefficients(l);
    return upper * c.A + x * c.B - eps * c.C;
  }
  at::Tensor Up(const at::Tensor& lower, const at::Tensor& x, const at::Tensor& eps, const LevelTriple& l) const {
    const BelmCoefficients c = Coefficients(l);
    return (lower - x * c.B + eps * c.C) / c.A;
  }
};

}  // namespace

SamplerKind BelmGenerateKind() {
  return {"belm-generate", "generate", true, false, [](ItemStart s) -> std::unique_ptr<Sampler> {
            return std::make_unique<TwoStepGenerate<BelmRule>>(std::move(s), BelmRule{});
          }};
}

SamplerKind BelmInvertKind() {
  return {"belm-invert", "invert", false, false, [](ItemStart s) -> std::unique_ptr<Sampler> {
            return std::make_unique<TwoStepInvert<BelmRule>>(std::move(s), BelmRule{});
          }};
}

}  // namespace edict
