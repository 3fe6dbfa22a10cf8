// The step scheduler: on the compute thread, between queued jobs, each round gathers the
// pending noise queries of the active items of one pipeline, runs ONE UNet call on them (one
// per isolated call, and one per guidance kind: items with guidance 1 skip the unconditional
// half), and hands each item its eps. Items of different calls, at different steps, in
// inversion or in generation, share UNet calls; a call admitted between rounds joins at the
// next one (continuous batching). Which calls are admitted when is the executor's admission
// policy (executor.cpp).
#pragma once

#include <ATen/ATen.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "errors.h"
#include "job.h"
#include "sampler.h"

namespace edict {

class PipelineState;

struct LoopItem {
  std::unique_ptr<Sampler> sampler;
  at::Tensor cond;    // [1, L, D], UNet dtype
  at::Tensor uncond;  // [1, L, D], UNet dtype; undefined when guidance is 1
  double guidance = 1;
};

// An admitted loop request.
struct LoopCall {
  std::shared_ptr<const PipelineState> pipeline;
  const SamplerKind* kind = nullptr;
  std::vector<LoopItem> items;
  bool isolate = false;  // share UNet calls only among its own items (same layout both ways)
  int threads = 0;
  c10::ScalarType stateDtype = at::kDouble;
  JobContext ctx{nullptr, nullptr};
  int reported = 0;       // progress steps reported
  int unetCalls = 0;      // UNet calls that included its items
  double unetSeconds = 0; // their wall time
  double computeSeconds = 0;  // the rounds it took part in
  int rounds = 0;
  int64_t lastT = -1;        // the timestep its first item last evaluated at (progress)
  bool stepLatents = false;  // send host copies of x and y with each step's progress
  void* owner = nullptr;  // the executor's task
  // Builds the call's result once every item is done (may throw: the call then fails).
  std::function<void(LoopCall&)> finish;

  bool Done() const;
  int StepsDone() const;  // the slowest item's
};

struct EndedCall {
  std::unique_ptr<LoopCall> call;
  bool failed = false;
  ErrorInfo error;
};

class StepScheduler {
 public:
  void Admit(std::unique_ptr<LoopCall> call);
  bool HasWork() const { return !active_.empty(); }
  int ActiveCalls(const PipelineState* pipeline) const;
  int ActiveItems(const PipelineState* pipeline) const;
  // True once any active call of the pipeline has run a round (a `request` batch is formed).
  bool Started(const PipelineState* pipeline) const;
  // One round for the next pipeline (round-robin) that has work. Returns the calls that ended:
  // finished, failed (with the others of their UNet call), cancelled or timed out.
  std::vector<EndedCall> Round();
  // Every active call, ended with `why` (shutdown).
  std::vector<EndedCall> EndAll(const ErrorInfo& why);
  // Publishes the pipeline's active calls and items to its counters.
  void UpdateActive(const PipelineState* pipeline) const;

 private:
  void RunBatch(const PipelineState& pipeline, const std::vector<std::pair<LoopCall*, size_t>>& members,
                std::vector<LoopCall*>& failed, std::vector<ErrorInfo>& errors);

  std::vector<std::unique_ptr<LoopCall>> active_;  // admission order
  size_t next_pipeline_ = 0;
  std::map<const PipelineState*, size_t> cursor_;  // round-robin start beyond maxBatch
};

}  // namespace edict
