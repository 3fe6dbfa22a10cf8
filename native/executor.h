// The compute thread: one long-lived native thread per addon instance that runs every
// libtorch call, in submission order. Results reach JS through a promise settled on the JS
// thread; progress goes through a thread-safe function.
//
// Why not libuv's pool (Napi::AsyncWorker): successive calls land on different pool threads,
// each grows its own OpenMP pool, and the pools fight over the cores (a UNet call went from
// 6.3 ms to 19 ms here). One thread keeps one warm OpenMP pool.
#pragma once

#include <napi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "errors.h"

namespace edict {

using CancelFlag = std::shared_ptr<std::atomic<bool>>;

// Handed to a running job: cancellation checks and progress reports.
class JobContext {
 public:
  JobContext(const CancelFlag& cancel, const Napi::ThreadSafeFunction* progress)
      : cancel_(cancel), progress_(progress) {}

  bool Cancelled() const { return cancel_ && cancel_->load(); }
  // Throws ERR_CANCELLED when the job was cancelled; call between UNet evaluations.
  void ThrowIfCancelled() const;
  // Sends {phase, step, total} to the job's onProgress callback, if any; never blocks.
  void Report(const std::string& phase, int step, int total) const;

 private:
  CancelFlag cancel_;
  const Napi::ThreadSafeFunction* progress_;
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
};

// Where a job's time went: waiting in the queue, then running on the compute thread. Object
// results carry it as `jobTiming: {queueSeconds, computeSeconds, threads}`.
struct JobTiming {
  std::chrono::steady_clock::time_point submitted, started, finished;
  int threads = 0;  // the intra-op threads the job ran with
};

class Executor {
 public:
  Executor();
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues a job and returns the promise it settles.
  Napi::Promise Submit(Napi::Env env, std::unique_ptr<Job> job, const JobOptions& options);
  // Rejects at once (ERR_CANCELLED) every queued job that carries `flag`; a running job sees
  // the flag between UNet calls. Call on the JS thread.
  void CancelQueued(Napi::Env env, const CancelFlag& flag);
  // Cancels everything queued or running and joins the thread (env teardown).
  void Shutdown();
  // The process is exiting (process.exit, an uncaught exception...): cancels everything and
  // waits until the thread has left libtorch and ended, without settling any promise, so that
  // no libtorch call runs while static destructors do. Called from the 'exit' event.
  void PrepareExit();

 private:
  struct Task;
  void Run();
  void JoinThread();
  static void Settle(Napi::Env env, Task* task);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task*> queue_;
  Task* running_ = nullptr;
  bool stopping_ = false;
  bool exiting_ = false;
  std::mutex join_mutex_;  // Shutdown and PrepareExit may both try to join
  std::thread thread_;
};

// A JS-visible cancellation token: JS calls cancel(); jobs poll the shared flag.
class CancelToken : public Napi::ObjectWrap<CancelToken> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit CancelToken(const Napi::CallbackInfo& info);
  const CancelFlag& flag() const { return flag_; }

 private:
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value IsCancelled(const Napi::CallbackInfo& info);
  CancelFlag flag_;
};

// Reads the optional {onProgress, cancelToken, threads} fields of a JS options object.
JobOptions ReadJobOptions(const Napi::Value& value);

}  // namespace edict
