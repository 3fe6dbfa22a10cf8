// Per-environment addon state: the compute thread and the JS classes native code constructs.
#pragma once

#include <napi.h>

#include "executor.h"

namespace edict {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);
  ~Addon();

  static Addon& From(Napi::Env env) { return *env.GetInstanceData<Addon>(); }
  Executor& executor() { return executor_; }

  Napi::FunctionReference torchModuleClass;
  Napi::FunctionReference pipelineClass;

 private:
  // info() -> Promise<{libtorch, cuda, cudaDevices, threads, cores, buildConfig}>
  Napi::Value Info(const Napi::CallbackInfo& info);
  // prepareExit(): see Executor::PrepareExit; src/native.ts calls it from process 'exit'.
  Napi::Value PrepareExit(const Napi::CallbackInfo& info);

  Executor executor_;
};

}  // namespace edict
