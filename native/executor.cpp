#include "executor.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include "addon.h"
#include "threads.h"

namespace edict {

struct Executor::Task {
  std::unique_ptr<Job> job;
  Napi::Promise::Deferred deferred;
  Napi::ThreadSafeFunction tsfn;
  CancelFlag cancel;
  int threads = 0;
  bool failed = false;
  ErrorInfo error;
  bool reportsProgress = false;
  JobTiming timing;
};

namespace {

struct ProgressEvent {
  std::string phase;
  int step;
  int total;
};

void NoOp(const Napi::CallbackInfo&) {}

double Seconds(std::chrono::steady_clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

// Lets ReadJobOptions tell a real CancelToken from any other object before unwrapping it.
constexpr napi_type_tag kCancelTokenTag = {0x6564696374636e6cULL, 0x746f6b656e000001ULL};

}  // namespace

void JobContext::ThrowIfCancelled() const {
  if (Cancelled()) throw EdictError(code::kCancelled, "the operation was cancelled");
}

void JobContext::Report(const std::string& phase, int step, int total) const {
  if (progress_ == nullptr) return;
  auto* event = new ProgressEvent{phase, step, total};
  napi_status status = progress_->NonBlockingCall(
      event, [](Napi::Env env, Napi::Function callback, ProgressEvent* e) {
        std::unique_ptr<ProgressEvent> owned(e);
        if (env == nullptr) return;
        Napi::Object payload = Napi::Object::New(env);
        payload.Set("phase", e->phase);
        payload.Set("step", e->step);
        payload.Set("total", e->total);
        try {
          callback.Call({payload});
        } catch (const Napi::Error&) {
          // A throwing progress callback must not take the process down; the TS layer
          // already guards user callbacks, this is the last line.
        }
      });
  if (status != napi_ok) delete event;
}

Executor::Executor() : thread_([this] { Run(); }) {}

Executor::~Executor() { Shutdown(); }

Napi::Promise Executor::Submit(Napi::Env env, std::unique_ptr<Job> job,
                               const JobOptions& options) {
  auto* task = new Task{std::move(job), Napi::Promise::Deferred::New(env), {}, options.cancel,
                        options.threads, false, ErrorInfo{}, !options.onProgress.IsEmpty(), {}};
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
    queue_.push_back(task);
  }
  wake_.notify_one();
  return promise;
}

void Executor::CancelQueued(Napi::Env env, const CancelFlag& flag) {
  std::deque<Task*> cancelled;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if ((*it)->cancel == flag) {
        cancelled.push_back(*it);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Task* task : cancelled) {
    std::unique_ptr<Task> owned(task);
    task->deferred.Reject(
        MakeJsError(env, {code::kCancelled, "the operation was cancelled while queued"}).Value());
    task->tsfn.Release();
  }
}

void Executor::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    for (Task* task : queue_) {
      if (task->cancel) task->cancel->store(true);
    }
    if (running_ && running_->cancel) running_->cancel->store(true);
  }
  wake_.notify_all();
  JoinThread();
}

void Executor::PrepareExit() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    exiting_ = true;
    if (running_ && running_->cancel) running_->cancel->store(true);
  }
  wake_.notify_all();
  // The running job ends at its next cancellation check (at most one component call away).
  JoinThread();
}

void Executor::JoinThread() {
  std::lock_guard<std::mutex> lock(join_mutex_);
  if (thread_.joinable()) thread_.join();
}

void Executor::Run() {
  // Every libtorch call of this addon happens here; no autograd is ever needed.
  c10::InferenceMode inference_mode;
  for (;;) {
    Task* task = nullptr;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // Exiting: the JS environment is going away; queued tasks are left unsettled.
      if (exiting_ || queue_.empty()) return;
      task = queue_.front();
      queue_.pop_front();
      running_ = task;
      stopping = stopping_;
    }
    task->timing.started = std::chrono::steady_clock::now();
    try {
      if (stopping) throw EdictError(code::kCancelled, "the compute thread is shutting down");
      task->timing.threads = ConfigureThreads(task->threads);
      // Without an onProgress callback there is nobody to tell: skip the per-step wake-up of
      // the JS thread (it would take a core from the compute thread on a small machine).
      JobContext ctx(task->cancel, task->reportsProgress ? &task->tsfn : nullptr);
      ctx.ThrowIfCancelled();
      task->job->Execute(ctx);
    } catch (...) {
      task->failed = true;
      task->error = CurrentExceptionInfo();
    }
    task->timing.finished = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      running_ = nullptr;
      // Nobody is left to settle the promise, and the environment may be half torn down:
      // leave the task as it is and end the thread.
      if (exiting_) return;
    }
    Napi::ThreadSafeFunction tsfn = task->tsfn;
    napi_status status = tsfn.BlockingCall(
        task, [](Napi::Env env, Napi::Function, Task* t) { Settle(env, t); });
    if (status != napi_ok) delete task;  // the environment is gone: nobody to tell
    tsfn.Release();
  }
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
      timing.Set("computeSeconds", Seconds(task->timing.finished - task->timing.started));
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
    : Napi::ObjectWrap<CancelToken>(info), flag_(std::make_shared<std::atomic<bool>>(false)) {
  info.This().As<Napi::Object>().TypeTag(&kCancelTokenTag);
}

Napi::Value CancelToken::Cancel(const Napi::CallbackInfo& info) {
  flag_->store(true);
  // A queued job is rejected now, not when it reaches the compute thread.
  Addon::From(info.Env()).executor().CancelQueued(info.Env(), flag_);
  return info.Env().Undefined();
}

Napi::Value CancelToken::IsCancelled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), flag_->load());
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
  return options;
}

}  // namespace edict
