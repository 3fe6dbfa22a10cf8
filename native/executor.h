// The compute thread: one long-lived native thread per addon instance (per JS environment)
// that runs every libtorch call. Results reach JS through a promise settled on the JS thread;
// progress goes through a thread-safe function.
//
// Between queued jobs it runs rounds of the step scheduler (step_scheduler.h): sampling loops
// are not run to completion one after another but admitted as items that share UNet calls.
// Which queued loop is admitted when is the pipeline's admission policy:
//   continuous  at any round (the default: a request joins the running batch at its next UNet call)
//   request     a batch forms from what is queued (waiting at most maxQueueDelayMs for up to
//               maxBatch items) and runs to completion before the next one is formed
//   serial      one loop at a time, in submission order
// Other jobs (text, VAE, modules) run as they come, between rounds. Queue order is by
// priority, then submission.
//
// Why not libuv's pool (Napi::AsyncWorker): successive calls land on different pool threads,
// each grows its own OpenMP pool, and the pools fight over the cores (a UNet call went from
// 6.3 ms to 19 ms here). One thread keeps one warm OpenMP pool.
#pragma once

#include <napi.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "job.h"
#include "step_scheduler.h"

namespace edict {

class Executor {
 public:
  Executor();
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues a job and returns the promise it settles.
  Napi::Promise Submit(Napi::Env env, std::unique_ptr<Job> job, const JobOptions& options);
  // Rejects at once (ERR_CANCELLED or ERR_TIMEOUT) every queued job that carries `flag`; a
  // running loop leaves the scheduler at its next round. Call on the JS thread.
  void CancelQueued(Napi::Env env, const CancelFlag& flag);
  // Loop jobs of `pipeline` waiting in the queue (not yet admitted).
  int QueuedLoops(const void* pipeline);
  // Cancels everything queued or running and joins the thread (env teardown).
  void Shutdown();
  // The process is exiting (process.exit, an uncaught exception...): cancels everything and
  // waits until the thread has left libtorch and ended, without settling any promise, so that
  // no libtorch call runs while static destructors do. Called from the 'exit' event.
  void PrepareExit();

 private:
  struct Task;
  void Run();
  // The first queued task the admission policies let run now (null: none), and how long to
  // wait for a `request` batch to form when that is what holds the queue.
  Task* TakeAdmissible(std::chrono::steady_clock::time_point& wake);
  void Execute(Task* task);
  void Finish(Task* task);
  void JoinThread();
  static void Settle(Napi::Env env, Task* task);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task*> queue_;
  Task* running_ = nullptr;
  StepScheduler scheduler_;  // compute thread only
  bool stopping_ = false;
  bool exiting_ = false;
  std::mutex join_mutex_;  // Shutdown and PrepareExit may both try to join
  std::thread thread_;
};

// A JS-visible cancellation token: JS calls cancel() (or cancel("timeout")); jobs poll it.
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

// Reads the optional {onProgress, cancelToken, threads, priority} fields of a JS options object.
JobOptions ReadJobOptions(const Napi::Value& value);

}  // namespace edict
