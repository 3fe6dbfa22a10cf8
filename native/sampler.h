// A sampling loop for ONE batch item, as a state machine the step scheduler drives: it asks
// for the guided noise prediction at a point (Query), then applies the update that value
// completes (Consume), until Done. Items of any calls, at any step, in inversion or in
// generation, can then share one UNet call. Each method is one small file in samplers/ and
// one line in sampler_registry.cpp; the TypeScript side reads the list from the addon.
//
// Executed step i (i = 0 for the first) runs timestep t_{N-n+i} of the DDIM schedule, from t
// to t - ratio, with z' = a z + b eps(., t).
#pragma once

#include <ATen/ATen.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "scheduler.h"

namespace edict {

// Where one item starts: tensors are [1, C, h, w] on the device in the state dtype, owned by
// the sampler (updated in place).
struct ItemStart {
  std::shared_ptr<const DdimSchedule> schedule;
  int executed = 0;       // n: how many of the schedule's last steps run
  bool leapfrog = true;   // EDICT: alternate which sequence updates first on odd steps
  double mix = 0.93;      // EDICT: p
  double gamma = 1.0;     // BDIA: the weight of the previous latent
  bool pairStart = true;  // BDIA/BELM generation: continue an inverted pair (x_n, x_{n-1}), not one x_n
  at::Tensor x, y, noise; // y: EDICT's second sequence, BDIA/BELM's x_{n-1}; noise: SDEdit's
};

// The point and timestep of the next noise prediction.
struct EpsQuery {
  at::Tensor z;
  int64_t t;
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual bool Done() const = 0;
  // Valid while !Done(). The point is a view of the state: read it before Consume.
  virtual EpsQuery Query() const = 0;
  // eps: [1, C, h, w], state dtype, the guided prediction at Query().
  virtual void Consume(const at::Tensor& eps) = 0;
  // Whole steps finished (progress), out of Steps().
  virtual int StepsDone() const = 0;
  virtual int Steps() const = 0;
  virtual at::Tensor X() const = 0;
  virtual at::Tensor Y() const { return X(); }
};

struct SamplerKind {
  const char* name;   // the loop kind the API sends ("edict-generate", ...)
  const char* phase;  // progress phase: "invert" or "generate"
  bool pair;          // needs y (EDICT)
  bool noise;         // needs noise (SDEdit)
  std::unique_ptr<Sampler> (*make)(ItemStart start);
};

// The registry (sampler_registry.cpp). Find returns null for an unknown name.
const std::vector<SamplerKind>& SamplerKinds();
const SamplerKind* FindSamplerKind(const std::string& name);

// The timestep of executed step i of n.
inline int64_t StepTimestep(const DdimSchedule& schedule, int executed, int i) {
  return schedule.Timestep(schedule.steps() - executed + i);
}

// Level k of the executed schedule (0 = clean, n = noisiest) for the two-step methods (BDIA,
// BELM): executed step i runs from level n - i to n - i - 1, so level k >= 1 sits at the
// timestep t of step n - k, and level 0 one stride below level 1, where the DDIM coefficients
// take the schedule's final alpha (as DDIM and EDICT do here).
struct Level {
  int64_t t;  // the UNet's timestep at this level (level 0: unused)
  double a;   // sqrt(abar)
  double s;   // sqrt(1 - abar)
};

inline Level LevelOf(const DdimSchedule& schedule, int executed, int k) {
  const int64_t t = k >= 1 ? StepTimestep(schedule, executed, executed - k)
                           : StepTimestep(schedule, executed, executed - 1) - schedule.ratio();
  const double abar = schedule.AlphaBar(t);
  return {t, std::sqrt(abar), std::sqrt(1.0 - abar)};
}

// The DDIM map from level k to level j with eps taken at level k:
// D_{k->j}(x) = (a_j / a_k) x + (s_j - s_k a_j / a_k) eps.
inline at::Tensor DdimMap(const at::Tensor& x, const Level& k, const Level& j, const at::Tensor& eps) {
  const double ratio = j.a / k.a;
  return x * ratio + eps * (j.s - k.s * ratio);
}

// z = a z + b eps
inline void DdimStep(at::Tensor& z, const StepCoefficients& c, const at::Tensor& eps) { z.mul_(c.a).add_(eps, c.b); }
// z = (z - b eps) / a
inline void DdimUnstep(at::Tensor& z, const StepCoefficients& c, const at::Tensor& eps) { z.sub_(eps, c.b).div_(c.a); }

// Each samplers/*.cpp file defines its kinds.
SamplerKind EdictGenerateKind();
SamplerKind EdictInvertKind();
SamplerKind DdimGenerateKind();
SamplerKind DdimInvertKind();
SamplerKind SdeditKind();
SamplerKind BdiaGenerateKind();
SamplerKind BdiaInvertKind();
SamplerKind BelmGenerateKind();
SamplerKind BelmInvertKind();

}  // namespace edict
