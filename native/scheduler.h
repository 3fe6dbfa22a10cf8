// DDIM arithmetic in float64: the noise schedule of the model's scheduler config, the
// inference timesteps, and the coefficients of one deterministic DDIM step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace edict {

struct SchedulerConfig {
  int numTrainTimesteps = 1000;
  double betaStart = 0.00085;
  double betaEnd = 0.012;
  std::string betaSchedule = "scaled_linear";  // or "linear"
  bool setAlphaToOne = false;
  int stepsOffset = 1;
  std::string predictionType = "epsilon";  // or "v_prediction"
};

// z' = a * z + b * eps: one denoising step from t to t - ratio.
struct StepCoefficients {
  double a;
  double b;
};

class DdimSchedule {
 public:
  // Throws ERR_INVALID_ARGUMENT when `steps` does not fit the config (the largest timestep
  // must stay below numTrainTimesteps).
  DdimSchedule(const SchedulerConfig& config, int steps);

  int steps() const { return steps_; }
  int ratio() const { return ratio_; }
  // t_k = (N - 1 - k) * ratio + steps_offset, k = 0..N-1 (descending).
  int64_t Timestep(int k) const;
  // abar at a train timestep; abar_final for t < 0.
  double AlphaBar(int64_t t) const;
  StepCoefficients Coefficients(int64_t t) const;

 private:
  int steps_;
  int ratio_;
  int offset_;
  double alpha_bar_final_;
  std::vector<double> alpha_bar_;
};

}  // namespace edict
