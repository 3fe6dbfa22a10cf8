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
  at::Tensor x, y, noise; // y: EDICT's second sequence; noise: SDEdit's
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

}  // namespace edict
