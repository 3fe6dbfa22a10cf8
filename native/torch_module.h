// TorchModule: any single TorchScript file, loaded and run on the compute thread. The low-level
// building block (and a debugging aid): the pipeline uses Component directly.
#pragma once

#include <napi.h>

#include <memory>

#include "component.h"

namespace edict {

class TorchModule : public Napi::ObjectWrap<TorchModule> {
 public:
  static Napi::Function Define(Napi::Env env);
  // loadModule(path, {device, dtype, threads, cancelToken}) -> Promise<TorchModule>
  static Napi::Value Load(const Napi::CallbackInfo& info);

  explicit TorchModule(const Napi::CallbackInfo& info);

 private:
  // forward([{data, shape}, ...], {threads, cancelToken}) -> Promise<{data, shape}>
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Dtype(const Napi::CallbackInfo& info);

  std::shared_ptr<const Component> component_;
};

}  // namespace edict
