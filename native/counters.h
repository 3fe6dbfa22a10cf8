// What a pipeline's scheduler has done, for counters() (sharp's counters() is the model):
// the compute thread and the JS thread update them, under the mutex; JS reads a copy.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

namespace edict {

struct PipelineCounters {
  int64_t admitted = 0;    // loop calls that reached the scheduler
  int64_t completed = 0;
  int64_t failed = 0;      // a component error, NaN...
  int64_t cancelled = 0;   // queued or running
  int64_t timedOut = 0;    // queued or running
  int64_t rejected = 0;    // refused at submission: the queue was full (ERR_OVERLOADED)
  int64_t rounds = 0;      // scheduler rounds that ran UNet calls for this pipeline
  int64_t unetCalls = 0;
  int64_t unetItems = 0;   // items over all UNet calls (each guided item counted once)
  double unetSeconds = 0;
  double roundSeconds = 0;      // whole rounds: UNet calls plus gathering, splitting, updates
  double queueWaitSeconds = 0;  // summed over admitted loop calls
  int64_t activeCalls = 0, activeItems = 0;
  std::map<int64_t, int64_t> batchSizes;  // items per UNet call -> how many calls
};

class CountersBox {
 public:
  template <typename F>
  void Update(F&& change) {
    std::lock_guard<std::mutex> lock(mutex_);
    change(counters_);
  }
  PipelineCounters Read() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return counters_;
  }

 private:
  mutable std::mutex mutex_;
  PipelineCounters counters_;
};

}  // namespace edict
