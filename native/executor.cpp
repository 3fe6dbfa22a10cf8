#include "executor.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include "addon.h"
#include "pipeline.h"
#include "tensors.h"
#include "threads.h"

namespace edict {

struct Executor::Task {
  std::unique_ptr<Job> job;
  Napi::Promise::Deferred deferred;
  Napi::ThreadSafeFunction tsfn;
  JobOptions options;  // without onProgress: the callback lives on in tsfn
  bool reportsProgress = false;
  bool failed = false;
  ErrorInfo error;
  JobTiming timing;
  const PipelineState* pipeline() const { return static_cast<const PipelineState*>(options.loopPipeline); }
};

namespace {

struct ProgressEvent {
  std::string phase;
  int step;
  int total;
  int64_t t;
  at::Tensor x, y;  // host float64, or undefined
};

void NoOp(const Napi::CallbackInfo&) {}

double Seconds(std::chrono::steady_clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

// Lets ReadJobOptions tell a real CancelToken from any other object before unwrapping it.
constexpr napi_type_tag kCancelTokenTag = {0x6564696374636e6cULL, 0x746f6b656e000001ULL};

}  // namespace

ErrorInfo CancellationError(const CancelFlag& cancel, const std::string& where) {
  const std::string suffix = where.empty() ? "" : " " + where;
  if (cancel && cancel->timedOut.load()) return {code::kTimeout, "the operation timed out" + suffix};
  return {code::kCancelled, "the operation was cancelled" + suffix};
}

void JobContext::ThrowIfCancelled() const {
  if (Cancelled()) {
    const ErrorInfo error = CancellationError(cancel_, "");
    throw EdictError(error.code, error.message);
  }
}

void JobContext::Report(const std::string& phase, int step, int total, int64_t t, at::Tensor x,
                        at::Tensor y) const {
  if (progress_ == nullptr) return;
  auto* event = new ProgressEvent{phase, step, total, t, std::move(x), std::move(y)};
  napi_status status = progress_->NonBlockingCall(
      event, [](Napi::Env env, Napi::Function callback, ProgressEvent* e) {
        std::unique_ptr<ProgressEvent> owned(e);
        if (env == nullptr) return;
        Napi::Object payload = Napi::Object::New(env);
        payload.Set("phase", e->phase);
        payload.Set("step", e->step);
        payload.Set("total", e->total);
        if (e->t >= 0) payload.Set("t", static_cast<double>(e->t));
        if (e->x.defined()) payload.Set("x", TensorToJs(env, e->x));
        if (e->y.defined()) payload.Set("y", TensorToJs(env, e->y));
        try {
          callback.Call({payload});
        } catch (const Napi::Error&) {
          // A throwing progress callback must not take the process down; the TS layer
          // already guards user callbacks, this is the last line.
        }
      });
  if (status != napi_ok) delete event;
}

void JobContext::Defer(std::unique_ptr<LoopCall> call) {
  if (!deferred_) deferred_ = std::make_shared<std::unique_ptr<LoopCall>>();
  *deferred_ = std::move(call);
}

std::unique_ptr<LoopCall> JobContext::TakeDeferred() {
  return deferred_ ? std::move(*deferred_) : nullptr;
}

Executor::Executor() : thread_([this] { Run(); }) {}

Executor::~Executor() { Shutdown(); }

Napi::Promise Executor::Submit(Napi::Env env, std::unique_ptr<Job> job, const JobOptions& options) {
  auto* task = new Task{std::move(job), Napi::Promise::Deferred::New(env), {}, options, !options.onProgress.IsEmpty(), false, {}, {}};
  task->options.onProgress = Napi::Function();  // a handle must not outlive this call
  task->timing.submitted = std::chrono::steady_clock::now();
  Napi::Function callback =
      options.onProgress.IsEmpty() ? Napi::Function::New(env, NoOp) : options.onProgress;
  // The thread-safe function also keeps the event loop alive while the job is pending.
  task->tsfn = Napi::ThreadSafeFunction::New(env, callback, "edict-job", 0, 1);
  Napi::Promise promise = task->deferred.Promise();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      task->tsfn.Release();
      auto error = MakeJsError(env, {code::kDisposed, "the compute thread has shut down"});
      task->deferred.Reject(error.Value());
      delete task;
      return promise;
    }
    // Before the first queued task of lower priority: priorities first, then submission order.
    auto at = std::find_if(queue_.begin(), queue_.end(),
                           [&](const Task* queued) { return queued->options.priority < options.priority; });
    queue_.insert(at, task);
  }
  wake_.notify_one();
  return promise;
}

int Executor::QueuedLoops(const void* pipeline) {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(std::count_if(queue_.begin(), queue_.end(),
                                        [&](const Task* task) { return task->options.loopPipeline == pipeline; }));
}

void Executor::CancelQueued(Napi::Env env, const CancelFlag& flag) {
  std::deque<Task*> cancelled;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if ((*it)->options.cancel == flag) {
        cancelled.push_back(*it);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
  }
  wake_.notify_one();  // a held `request` batch may now form without it
  for (Task* task : cancelled) {
    std::unique_ptr<Task> owned(task);
    const ErrorInfo error = CancellationError(flag, "while queued");
    if (const PipelineState* pipeline = task->pipeline()) {
      pipeline->counters().Update([&](PipelineCounters& c) {
        if (error.code == code::kTimeout) ++c.timedOut;
        else ++c.cancelled;
      });
    }
    task->deferred.Reject(MakeJsError(env, error).Value());
    task->tsfn.Release();
  }
}

void Executor::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    for (Task* task : queue_) {
      if (task->options.cancel) task->options.cancel->cancelled.store(true);
    }
    if (running_ && running_->options.cancel) running_->options.cancel->cancelled.store(true);
  }
  wake_.notify_all();
  JoinThread();
}

void Executor::PrepareExit() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    exiting_ = true;
    if (running_ && running_->options.cancel) running_->options.cancel->cancelled.store(true);
  }
  wake_.notify_all();
  // The running job ends at its next cancellation check, a round at most one UNet call long.
  JoinThread();
}

void Executor::JoinThread() {
  std::lock_guard<std::mutex> lock(join_mutex_);
  if (thread_.joinable()) thread_.join();
}

Executor::Task* Executor::TakeAdmissible(std::chrono::steady_clock::time_point& wake) {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    Task* task = *it;
    const PipelineState* pipeline = task->pipeline();
    bool admit = true;
    if (pipeline != nullptr) {
      const BatchingConfig& batching = pipeline->config().batching;
      const int active = scheduler_.ActiveCalls(pipeline);
      if (batching.policy == "serial") {
        admit = active == 0;
      } else if (batching.policy == "request") {
        if (active > 0) {
          // A batch is still forming until its first round; then it runs to completion.
          admit = !scheduler_.Started(pipeline) &&
                  scheduler_.ActiveItems(pipeline) + task->options.loopItems <= batching.maxBatch;
        } else {
          int queued_items = 0;
          for (const Task* other : queue_) {
            if (other->pipeline() == pipeline) queued_items += other->options.loopItems;
          }
          const auto ready = task->timing.submitted + std::chrono::milliseconds(batching.maxQueueDelayMs);
          admit = queued_items >= batching.maxBatch || now >= ready;
          if (!admit && (wake == std::chrono::steady_clock::time_point::max() || ready < wake)) wake = ready;
        }
      }
    }
    if (admit) {
      queue_.erase(it);
      return task;
    }
  }
  return nullptr;
}

void Executor::Run() {
  // Every libtorch call of this addon happens here; no autograd is ever needed.
  c10::InferenceMode inference_mode;
  for (;;) {
    Task* task = nullptr;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      for (;;) {
        if (exiting_) return;  // the JS environment is going away: leave everything unsettled
        auto wake = std::chrono::steady_clock::time_point::max();
        task = TakeAdmissible(wake);
        if (task != nullptr || scheduler_.HasWork()) break;
        if (stopping_ && queue_.empty()) return;
        if (wake == std::chrono::steady_clock::time_point::max()) wake_.wait(lock);
        else wake_.wait_until(lock, wake);
      }
      running_ = task;
      stopping = stopping_;
    }
    if (task != nullptr) {
      if (stopping) {
        task->failed = true;
        task->error = {code::kCancelled, "the compute thread is shutting down"};
        Finish(task);
      } else {
        Execute(task);
      }
      continue;
    }
    // No job to start: one round of the step scheduler.
    std::vector<EndedCall> ended = stopping ? scheduler_.EndAll({code::kCancelled, "the compute thread is shutting down"})
                                            : scheduler_.Round();
    for (EndedCall& end : ended) {
      Task* owner = static_cast<Task*>(end.call->owner);
      owner->failed = end.failed;
      owner->error = end.error;
      owner->timing.loopComputeSeconds = end.call->computeSeconds;
      end.call.reset();  // free the items' tensors on this thread
      Finish(owner);
    }
  }
}

void Executor::Execute(Task* task) {
  task->timing.started = std::chrono::steady_clock::now();
  std::unique_ptr<LoopCall> call;
  try {
    task->timing.threads = ConfigureThreads(task->options.threads);
    // Without an onProgress callback there is nobody to tell: skip the per-step wake-up of
    // the JS thread (it would take a core from the compute thread on a small machine).
    JobContext context(task->options.cancel, task->reportsProgress ? &task->tsfn : nullptr);
    context.ThrowIfCancelled();
    task->job->Execute(context);
    call = context.TakeDeferred();
  } catch (...) {
    task->failed = true;
    task->error = CurrentExceptionInfo();
  }
  if (call) {
    // A loop: its items join the scheduler; the task ends with the call.
    call->owner = task;
    call->threads = task->options.threads;
    const double waited = Seconds(task->timing.started - task->timing.submitted);
    call->pipeline->counters().Update([&](PipelineCounters& c) {
      ++c.admitted;
      c.queueWaitSeconds += waited;
    });
    scheduler_.Admit(std::move(call));
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = nullptr;
    return;
  }
  Finish(task);
}

void Executor::Finish(Task* task) {
  task->timing.finished = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (running_ == task) running_ = nullptr;
    // Nobody is left to settle the promise, and the environment may be half torn down:
    // leave the task as it is.
    if (exiting_) return;
  }
  Napi::ThreadSafeFunction tsfn = task->tsfn;
  napi_status status = tsfn.BlockingCall(task, [](Napi::Env env, Napi::Function, Task* t) { Settle(env, t); });
  if (status != napi_ok) delete task;  // the environment is gone: nobody to tell
  tsfn.Release();
}

void Executor::Settle(Napi::Env env, Task* task) {
  std::unique_ptr<Task> owned(task);
  if (env == nullptr) return;
  Napi::HandleScope scope(env);
  if (task->failed) {
    task->deferred.Reject(MakeJsError(env, task->error).Value());
    return;
  }
  try {
    Napi::Value value = task->job->Resolve(env);
    if (value.IsObject()) {
      Napi::Object timing = Napi::Object::New(env);
      timing.Set("queueSeconds", Seconds(task->timing.started - task->timing.submitted));
      timing.Set("computeSeconds", task->timing.loopComputeSeconds >= 0 ? task->timing.loopComputeSeconds
                                                                         : Seconds(task->timing.finished - task->timing.started));
      timing.Set("threads", task->timing.threads);
      value.As<Napi::Object>().Set("jobTiming", timing);
    }
    task->deferred.Resolve(value);
  } catch (const Napi::Error& e) {
    task->deferred.Reject(e.Value());
  } catch (...) {
    task->deferred.Reject(MakeJsError(env, CurrentExceptionInfo()).Value());
  }
}

Napi::Function CancelToken::Define(Napi::Env env) {
  return DefineClass(env, "CancelToken",
                     {InstanceMethod<&CancelToken::Cancel>("cancel"),
                      InstanceAccessor<&CancelToken::IsCancelled>("cancelled")});
}

CancelToken::CancelToken(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<CancelToken>(info), flag_(std::make_shared<CancelState>()) {
  info.This().As<Napi::Object>().TypeTag(&kCancelTokenTag);
}

Napi::Value CancelToken::Cancel(const Napi::CallbackInfo& info) {
  if (flag_->cancelled.load()) return info.Env().Undefined();
  if (info.Length() > 0 && info[0].IsString() && info[0].As<Napi::String>().Utf8Value() == "timeout") {
    flag_->timedOut.store(true);
  }
  flag_->cancelled.store(true);
  // A queued job is rejected now, not when it reaches the compute thread.
  Addon::From(info.Env()).executor().CancelQueued(info.Env(), flag_);
  return info.Env().Undefined();
}

Napi::Value CancelToken::IsCancelled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), flag_->cancelled.load());
}

JobOptions ReadJobOptions(const Napi::Value& value) {
  JobOptions options;
  if (!value.IsObject()) return options;
  Napi::Object object = value.As<Napi::Object>();
  Napi::Value progress = object.Get("onProgress");
  if (progress.IsFunction()) options.onProgress = progress.As<Napi::Function>();
  Napi::Value token = object.Get("cancelToken");
  if (token.IsObject() && token.As<Napi::Object>().CheckTypeTag(&kCancelTokenTag)) {
    options.cancel = CancelToken::Unwrap(token.As<Napi::Object>())->flag();
  }
  Napi::Value threads = object.Get("threads");
  if (threads.IsNumber()) options.threads = threads.As<Napi::Number>().Int32Value();
  Napi::Value priority = object.Get("priority");
  if (priority.IsNumber()) options.priority = priority.As<Napi::Number>().Int32Value();
  return options;
}

}  // namespace edict
