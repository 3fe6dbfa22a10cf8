// What a unit of work on the compute thread sees: its cancellation state, progress reports,
// and (for sampling loops) the hand-over of its items to the step scheduler.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "errors.h"

namespace edict {

// Set from JS (CancelToken.cancel), read by the compute thread between UNet calls.
struct CancelState {
  std::atomic<bool> cancelled{false};
  std::atomic<bool> timedOut{false};  // cancelled because the call's deadline passed
};
using CancelFlag = std::shared_ptr<CancelState>;

// The error a cancelled job ends with: ERR_TIMEOUT when its deadline fired, else ERR_CANCELLED.
ErrorInfo CancellationError(const CancelFlag& cancel, const std::string& where);

struct LoopCall;  // step_scheduler.h

// Handed to a running job: cancellation checks and progress reports.
class JobContext {
 public:
  JobContext(const CancelFlag& cancel, const Napi::ThreadSafeFunction* progress)
      : cancel_(cancel), progress_(progress) {}

  bool Cancelled() const { return cancel_ && cancel_->cancelled.load(); }
  // Throws ERR_CANCELLED (or ERR_TIMEOUT) when the job was cancelled.
  void ThrowIfCancelled() const;
  // Sends {phase, step, total} to the job's onProgress callback, if any; never blocks. A
  // sampling loop adds the step's timestep t and, when asked for, host copies of the current
  // latents x and y (float64).
  void Report(const std::string& phase, int step, int total, int64_t t = -1, at::Tensor x = {},
              at::Tensor y = {}) const;
  bool ReportsProgress() const { return progress_ != nullptr; }
  const CancelFlag& cancel() const { return cancel_; }

  // A sampling-loop job hands its items to the step scheduler instead of running them: the
  // job's promise settles when the call ends there.
  void Defer(std::unique_ptr<LoopCall> call);
  std::unique_ptr<LoopCall> TakeDeferred();

 private:
  CancelFlag cancel_;
  const Napi::ThreadSafeFunction* progress_;
  std::shared_ptr<std::unique_ptr<LoopCall>> deferred_;
};

// A unit of work: Execute runs on the compute thread, Resolve builds the JS result on the
// JS thread afterwards. A job must not hold N-API handles.
class Job {
 public:
  virtual ~Job() = default;
  virtual void Execute(JobContext& ctx) = 0;
  virtual Napi::Value Resolve(Napi::Env env) = 0;
};

// A job written as a lambda: `execute` runs on the compute thread and returns the resolver
// that builds the JS value on the JS thread (capturing host tensors, never N-API handles).
class FunctionJob : public Job {
 public:
  using Resolver = std::function<Napi::Value(Napi::Env)>;
  using Execution = std::function<Resolver(JobContext&)>;

  explicit FunctionJob(Execution execute) : execute_(std::move(execute)) {}
  void Execute(JobContext& ctx) override {
    resolver_ = execute_(ctx);
    execute_ = nullptr;  // drop captured inputs as soon as they are used
  }
  Napi::Value Resolve(Napi::Env env) override { return resolver_(env); }

 private:
  Execution execute_;
  Resolver resolver_;
};

struct JobOptions {
  Napi::Function onProgress;  // may be empty
  CancelFlag cancel;          // may be null
  int threads = 0;            // intra-op threads for this job; 0 = leave as is
  int priority = 0;           // higher runs first; equal priorities keep submission order
  // A sampling loop: its pipeline (for admission policy and queue limits) and item count.
  const void* loopPipeline = nullptr;
  int loopItems = 0;
};

// Where a job's time went: waiting in the queue, then running on the compute thread (for a
// loop: from admission to its end in the step scheduler). Object results carry it as
// `jobTiming: {queueSeconds, computeSeconds, threads}`.
struct JobTiming {
  std::chrono::steady_clock::time_point submitted, started, finished;
  int threads = 0;  // the intra-op threads the job ran with
  // A loop: the time of the scheduler rounds it took part in (other jobs run between rounds
  // and are not its compute); < 0 for other jobs (finished - started).
  double loopComputeSeconds = -1;
};

}  // namespace edict
