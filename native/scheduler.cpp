#include "scheduler.h"

#include <cmath>

#include "errors.h"

namespace edict {

DdimSchedule::DdimSchedule(const SchedulerConfig& config, int steps)
    : steps_(steps), offset_(config.stepsOffset) {
  const int T = config.numTrainTimesteps;
  if (T < 2) throw EdictError(code::kInvalidArgument, "numTrainTimesteps must be at least 2");
  if (steps < 1 || steps > T) {
    throw EdictError(code::kInvalidArgument, "steps must be in [1, " + std::to_string(T) +
                                                 "], got " + std::to_string(steps));
  }
  ratio_ = T / steps;
  if (Timestep(0) >= T) {
    throw EdictError(code::kInvalidArgument,
                     std::to_string(steps) + " steps with steps_offset " +
                         std::to_string(offset_) + " reach timestep " +
                         std::to_string(Timestep(0)) + ", beyond the model's " +
                         std::to_string(T) + " train timesteps");
  }
  alpha_bar_.resize(T);
  double product = 1.0;
  for (int i = 0; i < T; ++i) {
    const double fraction = static_cast<double>(i) / (T - 1);
    double beta;
    if (config.betaSchedule == "scaled_linear") {
      const double root = std::sqrt(config.betaStart) +
                          fraction * (std::sqrt(config.betaEnd) - std::sqrt(config.betaStart));
      beta = root * root;
    } else if (config.betaSchedule == "linear") {
      beta = config.betaStart + fraction * (config.betaEnd - config.betaStart);
    } else {
      throw EdictError(code::kInvalidArgument,
                       "unsupported betaSchedule \"" + config.betaSchedule + "\"");
    }
    product *= 1.0 - beta;
    alpha_bar_[i] = product;
  }
  alpha_bar_final_ = config.setAlphaToOne ? 1.0 : alpha_bar_[0];
}

int64_t DdimSchedule::Timestep(int k) const {
  return static_cast<int64_t>(steps_ - 1 - k) * ratio_ + offset_;
}

double DdimSchedule::AlphaBar(int64_t t) const {
  return t < 0 ? alpha_bar_final_ : alpha_bar_.at(static_cast<size_t>(t));
}

StepCoefficients DdimSchedule::Coefficients(int64_t t) const {
  const double abar_t = AlphaBar(t);
  const double abar_prev = AlphaBar(t - ratio_);
  const double a = std::sqrt(abar_prev / abar_t);
  const double b = std::sqrt(1.0 - abar_prev) - a * std::sqrt(1.0 - abar_t);
  return {a, b};
}

}  // namespace edict
