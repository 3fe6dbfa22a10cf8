#include "torch_module.h"

#include "addon.h"
#include "device.h"
#include "errors.h"
#include "tensors.h"

namespace edict {

namespace {

class LoadModuleJob : public Job {
 public:
  LoadModuleJob(std::string path, std::string device, std::string dtype)
      : path_(std::move(path)), device_(std::move(device)), dtype_(std::move(dtype)) {}

  void Execute(JobContext&) override {
    c10::Device device = ParseDevice(device_);
    component_ = std::make_shared<const Component>(
        Component::Load("module", path_, device, ParseFloatDtype(dtype_)));
  }

  Napi::Value Resolve(Napi::Env env) override {
    auto* holder = new std::shared_ptr<const Component>(component_);
    auto external = Napi::External<std::shared_ptr<const Component>>::New(
        env, holder, [](Napi::Env, std::shared_ptr<const Component>* p) { delete p; });
    return Addon::From(env).torchModuleClass.New({external});
  }

 private:
  std::string path_, device_, dtype_;
  std::shared_ptr<const Component> component_;
};

class ForwardJob : public Job {
 public:
  ForwardJob(std::shared_ptr<const Component> component, std::vector<at::Tensor> inputs)
      : component_(std::move(component)), inputs_(std::move(inputs)) {}

  void Execute(JobContext&) override {
    std::vector<c10::IValue> values;
    for (const at::Tensor& input : inputs_) {
      at::Tensor moved = input.is_floating_point()
                             ? input.to(component_->device(), component_->dtype())
                             : input.to(component_->device());
      values.emplace_back(moved);
    }
    output_ = ToHost(component_->Forward(std::move(values)));
    inputs_.clear();
  }

  Napi::Value Resolve(Napi::Env env) override { return TensorToJs(env, output_); }

 private:
  std::shared_ptr<const Component> component_;
  std::vector<at::Tensor> inputs_;
  at::Tensor output_;
};

std::string StringOption(const Napi::Value& options, const char* key, const char* fallback) {
  if (!options.IsObject()) return fallback;
  Napi::Value value = options.As<Napi::Object>().Get(key);
  if (value.IsUndefined()) return fallback;
  if (!value.IsString()) {
    throw EdictError(code::kInvalidArgument, std::string(key) + " must be a string");
  }
  return value.As<Napi::String>().Utf8Value();
}

}  // namespace

Napi::Function TorchModule::Define(Napi::Env env) {
  return DefineClass(env, "TorchModule",
                     {InstanceMethod<&TorchModule::Forward>("forward"),
                      InstanceAccessor<&TorchModule::Device>("device"),
                      InstanceAccessor<&TorchModule::Dtype>("dtype")});
}

Napi::Value TorchModule::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return GuardJs(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) {
      throw EdictError(code::kInvalidArgument, "loadModule: path must be a string");
    }
    auto job = std::make_unique<LoadModuleJob>(info[0].As<Napi::String>().Utf8Value(),
                                               StringOption(info[1], "device", "cpu"),
                                               StringOption(info[1], "dtype", "float32"));
    return Addon::From(env).executor().Submit(env, std::move(job), ReadJobOptions(info[1]));
  });
}

TorchModule::TorchModule(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TorchModule>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "TorchModule is created by loadModule()");
  }
  component_ = *info[0].As<Napi::External<std::shared_ptr<const Component>>>().Data();
}

Napi::Value TorchModule::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return GuardJs(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsArray()) {
      throw EdictError(code::kInvalidArgument, "forward: inputs must be an array of {data, shape}");
    }
    Napi::Array array = info[0].As<Napi::Array>();
    std::vector<at::Tensor> inputs;
    for (uint32_t i = 0; i < array.Length(); ++i) {
      inputs.push_back(TensorFromJsObject(array.Get(i), "forward input " + std::to_string(i)));
    }
    auto job = std::make_unique<ForwardJob>(component_, std::move(inputs));
    return Addon::From(env).executor().Submit(env, std::move(job), ReadJobOptions(info[1]));
  });
}

Napi::Value TorchModule::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), component_->device().str());
}

Napi::Value TorchModule::Dtype(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DtypeName(component_->dtype()));
}

}  // namespace edict
