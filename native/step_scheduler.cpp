#include "step_scheduler.h"

#include <c10/core/DeviceGuard.h>

#include <algorithm>
#include <chrono>

#include "denoiser.h"
#include "device.h"
#include "pipeline.h"
#include "threads.h"

namespace edict {

namespace {

using Member = std::pair<LoopCall*, size_t>;  // a call and one of its items

// Host float64 copies of a call's current latents, [B, C, h, w] each (onStep's latents).
void CopyLatents(const LoopCall& call, at::Tensor& x, at::Tensor& y) {
  std::vector<at::Tensor> xs, ys;
  for (const LoopItem& item : call.items) {
    xs.push_back(item.sampler->X());
    ys.push_back(item.sampler->Y());
  }
  x = at::cat(xs).to(at::kCPU, at::kDouble).contiguous();
  y = at::cat(ys).to(at::kCPU, at::kDouble).contiguous();
}

void CountEnd(const EndedCall& end) {
  const std::string code = end.failed ? end.error.code : "";
  end.call->pipeline->counters().Update([&](PipelineCounters& c) {
    if (!end.failed) ++c.completed;
    else if (code == code::kCancelled) ++c.cancelled;
    else if (code == code::kTimeout) ++c.timedOut;
    else ++c.failed;
  });
}

}  // namespace

bool LoopCall::Done() const {
  return std::all_of(items.begin(), items.end(), [](const LoopItem& item) { return item.sampler->Done(); });
}

int LoopCall::StepsDone() const {
  int steps = items.front().sampler->Steps();
  for (const LoopItem& item : items) steps = std::min(steps, item.sampler->StepsDone());
  return steps;
}

void StepScheduler::Admit(std::unique_ptr<LoopCall> call) {
  const PipelineState* pipeline = call->pipeline.get();
  active_.push_back(std::move(call));
  UpdateActive(pipeline);
}

int StepScheduler::ActiveCalls(const PipelineState* pipeline) const {
  return static_cast<int>(std::count_if(active_.begin(), active_.end(),
                                        [&](const auto& call) { return call->pipeline.get() == pipeline; }));
}

int StepScheduler::ActiveItems(const PipelineState* pipeline) const {
  int items = 0;
  for (const auto& call : active_) {
    if (call->pipeline.get() == pipeline) items += static_cast<int>(call->items.size());
  }
  return items;
}

bool StepScheduler::Started(const PipelineState* pipeline) const {
  return std::any_of(active_.begin(), active_.end(), [&](const auto& call) {
    return call->pipeline.get() == pipeline && call->rounds > 0;
  });
}

std::vector<EndedCall> StepScheduler::EndAll(const ErrorInfo& why) {
  std::vector<EndedCall> ended;
  for (auto& call : active_) ended.push_back({std::move(call), true, why});
  active_.clear();
  for (const EndedCall& end : ended) CountEnd(end);
  return ended;
}

void StepScheduler::RunBatch(const PipelineState& pipeline, const std::vector<Member>& members,
                             std::vector<LoopCall*>& failed, std::vector<ErrorInfo>& errors) {
  const int64_t n = static_cast<int64_t>(members.size());
  const bool guided = members.front().first->items[members.front().second].guidance != 1.0;
  const c10::ScalarType state = members.front().first->stateDtype;
  try {
    std::vector<at::Tensor> points, cond, uncond;
    std::vector<double> guidance;
    EpsBatch batch;
    for (const auto& [call, index] : members) {
      const LoopItem& item = call->items[index];
      const EpsQuery query = item.sampler->Query();
      points.push_back(query.z);
      batch.t.push_back(query.t);
      cond.push_back(item.cond);
      if (guided) {
        uncond.push_back(item.uncond);
        guidance.push_back(item.guidance);
      }
    }
    batch.z = n == 1 ? points.front() : at::cat(points);
    batch.cond = n == 1 ? cond.front() : at::cat(cond);
    if (guided) {
      batch.uncond = n == 1 ? uncond.front() : at::cat(uncond);
      batch.guidance = at::tensor(guidance, at::TensorOptions().dtype(at::kDouble))
                           .to(batch.z.device(), state)
                           .view({n, 1, 1, 1});
    }
    const auto started = std::chrono::steady_clock::now();
    at::Tensor eps = GuidedEps(pipeline.unet(), pipeline.trainSchedule(), pipeline.vPrediction(), batch);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    for (int64_t k = 0; k < n; ++k) {
      const auto& [call, index] = members[k];
      if (index == 0) call->lastT = batch.t[k];
      call->items[index].sampler->Consume(eps.narrow(0, k, 1));
    }
    std::vector<LoopCall*> seen;
    for (const auto& [call, index] : members) {
      if (std::find(seen.begin(), seen.end(), call) != seen.end()) continue;
      seen.push_back(call);
      ++call->unetCalls;
      call->unetSeconds += seconds;
    }
    pipeline.counters().Update([&](PipelineCounters& c) {
      ++c.unetCalls;
      c.unetItems += n;
      c.unetSeconds += seconds;
      ++c.batchSizes[n];
    });
  } catch (...) {
    // A failing UNet call fails every call with items in it; the others go on.
    const ErrorInfo error = CurrentExceptionInfo();
    for (const auto& [call, index] : members) {
      if (std::find(failed.begin(), failed.end(), call) == failed.end()) {
        failed.push_back(call);
        errors.push_back(error);
      }
    }
  }
}

std::vector<EndedCall> StepScheduler::Round() {
  const auto entered = std::chrono::steady_clock::now();
  std::vector<EndedCall> ended;
  // Cancelled (or timed-out) calls leave before the round; the others go on without them.
  for (auto it = active_.begin(); it != active_.end();) {
    if ((*it)->ctx.Cancelled()) {
      const CancelFlag& cancel = (*it)->ctx.cancel();
      ended.push_back({std::move(*it), true, CancellationError(cancel, "while running")});
      CountEnd(ended.back());
      it = active_.erase(it);
    } else {
      ++it;
    }
  }
  for (const EndedCall& end : ended) UpdateActive(end.call->pipeline.get());
  if (active_.empty()) return ended;

  // The pipeline whose turn it is (round-robin over pipelines with work).
  std::vector<const PipelineState*> pipelines;
  for (const auto& call : active_) {
    if (std::find(pipelines.begin(), pipelines.end(), call->pipeline.get()) == pipelines.end()) {
      pipelines.push_back(call->pipeline.get());
    }
  }
  const PipelineState& pipeline = *pipelines[next_pipeline_++ % pipelines.size()];
  c10::DeviceGuard device_guard(pipeline.device());

  // Groups: each isolated call alone; every other call's items together, at most maxBatch
  // per round, taken round-robin so that none waits for long.
  std::vector<std::vector<Member>> groups;
  std::vector<Member> shared;
  std::vector<LoopCall*> members;
  for (const auto& call : active_) {
    if (call->pipeline.get() != &pipeline) continue;
    members.push_back(call.get());
    std::vector<Member> own;
    for (size_t i = 0; i < call->items.size(); ++i) {
      if (!call->items[i].sampler->Done()) (call->isolate ? own : shared).emplace_back(call.get(), i);
    }
    if (!own.empty()) groups.push_back(std::move(own));
  }
  const size_t max_batch = static_cast<size_t>(std::max(1, pipeline.config().batching.maxBatch));
  if (shared.size() > max_batch) {
    size_t& cursor = cursor_[&pipeline];
    std::vector<Member> window;
    for (size_t k = 0; k < max_batch; ++k) window.push_back(shared[(cursor + k) % shared.size()]);
    cursor = (cursor + max_batch) % shared.size();
    shared = std::move(window);
  }
  if (!shared.empty()) groups.push_back(std::move(shared));

  ConfigureThreads(members.front()->threads);
  const auto round_started = std::chrono::steady_clock::now();
  std::vector<LoopCall*> failed;
  std::vector<ErrorInfo> errors;
  for (const auto& group : groups) {
    // One UNet call per guidance kind and state dtype within the group.
    for (const bool guided : {true, false}) {
      for (const c10::ScalarType state : {at::kDouble, at::kFloat}) {
        std::vector<Member> batch;
        for (const Member& m : group) {
          const LoopCall* call = m.first;
          if ((call->items[m.second].guidance != 1.0) == guided && call->stateDtype == state &&
              std::find(failed.begin(), failed.end(), call) == failed.end()) {
            batch.push_back(m);
          }
        }
        if (!batch.empty()) RunBatch(pipeline, batch, failed, errors);
      }
    }
  }
  pipeline.counters().Update([](PipelineCounters& c) { ++c.rounds; });
  const double round_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - round_started).count();
  for (LoopCall* call : members) call->computeSeconds += round_seconds;

  // Calls that failed, finished or moved on.
  for (auto it = active_.begin(); it != active_.end();) {
    LoopCall* call = it->get();
    if (call->pipeline.get() != &pipeline) {
      ++it;
      continue;
    }
    ++call->rounds;
    const auto failure = std::find(failed.begin(), failed.end(), call);
    EndedCall end;
    if (failure != failed.end()) {
      end = {std::move(*it), true, errors[failure - failed.begin()]};
    } else if (call->Done()) {
      try {
        call->finish(*call);
        end = {std::move(*it), false, {}};
      } catch (...) {
        end = {std::move(*it), true, CurrentExceptionInfo()};
      }
    } else {
      const int steps = call->StepsDone();
      if (steps > call->reported && call->ctx.ReportsProgress()) {
        call->reported = steps;
        at::Tensor x, y;
        if (call->stepLatents) CopyLatents(*call, x, y);
        call->ctx.Report(call->kind->phase, steps, call->items.front().sampler->Steps(), call->lastT, x, y);
      }
      ++it;
      continue;
    }
    if (!end.failed && end.call->ctx.ReportsProgress()) {
      at::Tensor x, y;
      if (end.call->stepLatents) CopyLatents(*end.call, x, y);
      const int total = end.call->items.front().sampler->Steps();
      end.call->ctx.Report(end.call->kind->phase, total, total, end.call->lastT, x, y);
    }
    CountEnd(end);
    ended.push_back(std::move(end));
    it = active_.erase(it);
  }
  UpdateActive(&pipeline);
  const double whole = std::chrono::duration<double>(std::chrono::steady_clock::now() - entered).count();
  pipeline.counters().Update([&](PipelineCounters& c) { c.roundSeconds += whole; });
  return ended;
}

void StepScheduler::UpdateActive(const PipelineState* pipeline) const {
  const int calls = ActiveCalls(pipeline), items = ActiveItems(pipeline);
  pipeline->counters().Update([&](PipelineCounters& c) {
    c.activeCalls = calls;
    c.activeItems = items;
  });
}

}  // namespace edict
