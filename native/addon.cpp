// Module registration. All libtorch work is queued on the executor; the entry points here
// only validate arguments, copy inputs and return promises.
#include "addon.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/version.h>

#include <thread>

#include "device.h"
#include "errors.h"
#include "pipeline.h"
#include "sampler.h"
#include "noise.h"
#include "threads.h"
#include "torch_module.h"

namespace edict {

namespace {

class InfoJob : public Job {
 public:
  void Execute(JobContext&) override {
    cuda_ = CudaAvailable();
    cuda_devices_ = cuda_ ? CudaDeviceCount() : 0;
    threads_ = at::get_num_threads();
    build_config_ = at::show_config();
    parallel_info_ = at::get_parallel_info();
    blas_threads_ = BlasThreadControl();
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    result.Set("libtorch", TORCH_VERSION);
    result.Set("cuda", cuda_);
    result.Set("cudaDevices", cuda_devices_);
    result.Set("threads", threads_);
    result.Set("cores", static_cast<double>(std::thread::hardware_concurrency()));
    result.Set("buildConfig", build_config_);
    result.Set("parallelInfo", parallel_info_);
    result.Set("blasThreads", blas_threads_);
    return result;
  }

 private:
  bool cuda_ = false;
  int cuda_devices_ = 0;
  int threads_ = 0;
  std::string build_config_, parallel_info_, blas_threads_;
};

}  // namespace

Addon::Addon(Napi::Env env, Napi::Object exports) {
  Napi::Function torch_module = TorchModule::Define(env);
  Napi::Function pipeline = Pipeline::Define(env);
  torchModuleClass = Napi::Persistent(torch_module);
  pipelineClass = Napi::Persistent(pipeline);
  DefineAddon(exports, {
                           InstanceMethod<&Addon::Info>("info"),
                           InstanceMethod<&Addon::PrepareExit>("prepareExit"),
                           InstanceValue("TorchModule", torch_module),
                           InstanceValue("Pipeline", pipeline),
                           InstanceValue("CancelToken", CancelToken::Define(env)),
                       });
  exports.Set("loadModule", Napi::Function::New(env, TorchModule::Load, "loadModule"));
  exports.Set("loadPipeline", Napi::Function::New(env, Pipeline::Load, "loadPipeline"));
  exports.Set("randn", Napi::Function::New(env, Randn, "randn"));
  // The sampling loops this build has (sampler_registry.cpp), with what each needs.
  Napi::Array samplers = Napi::Array::New(env);
  uint32_t index = 0;
  for (const SamplerKind& kind : SamplerKinds()) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", kind.name);
    entry.Set("phase", kind.phase);
    entry.Set("pair", kind.pair);
    entry.Set("noise", kind.noise);
    samplers.Set(index++, entry);
  }
  exports.Set("samplers", samplers);
}

Addon::~Addon() { executor_.Shutdown(); }

Napi::Value Addon::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return GuardJs(env, [&]() -> Napi::Value {
    return executor_.Submit(env, std::make_unique<InfoJob>(), JobOptions{});
  });
}

Napi::Value Addon::PrepareExit(const Napi::CallbackInfo& info) {
  executor_.PrepareExit();
  return info.Env().Undefined();
}

}  // namespace edict

// The addon macro pastes the class name into an identifier, so it needs an unqualified name.
using EdictAddon = edict::Addon;
NODE_API_NAMED_ADDON(edict, EdictAddon)
