// One TorchScript file loaded on a device and cast to a dtype, with errors that say which
// component failed and why.
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

namespace edict {

class Component {
 public:
  // Loads `path` (ERR_MODEL_FILE_MISSING / ERR_MODEL_CORRUPT), casts its floating parameters
  // and buffers to `dtype` (integer buffers such as position ids are left alone), moves it to
  // `device` and puts it in eval mode.
  static Component Load(const std::string& name, const std::string& path,
                        const c10::Device& device, c10::ScalarType dtype);

  // Runs forward; libtorch failures become ERR_COMPONENT_FAILED naming this component (or
  // ERR_OUT_OF_MEMORY), and an output that is not a dense tensor on this component's device
  // becomes ERR_COMPONENT_OUTPUT.
  at::Tensor Forward(std::vector<c10::IValue> inputs) const;

  const std::string& name() const { return name_; }
  const c10::Device& device() const { return device_; }
  c10::ScalarType dtype() const { return dtype_; }

 private:
  Component(std::string name, torch::jit::Module module, c10::Device device,
            c10::ScalarType dtype)
      : name_(std::move(name)), module_(std::move(module)), device_(device), dtype_(dtype) {}

  std::string name_;
  mutable torch::jit::Module module_;  // forward() is not const in libtorch
  c10::Device device_;
  c10::ScalarType dtype_;
};

// Throws ERR_COMPONENT_OUTPUT unless `tensor` has exactly `expected` as its shape and a
// real floating-point dtype.
void ExpectOutput(const Component& component, const at::Tensor& tensor,
                  at::IntArrayRef expected);

}  // namespace edict
