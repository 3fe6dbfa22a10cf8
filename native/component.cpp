#include "component.h"

#include <fstream>

#include "device.h"
#include "errors.h"
#include "tensors.h"

namespace edict {

namespace {

bool FileExists(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return file.good();
}

// torch::jit::Module::to(dtype) would also cast integer buffers (position ids), which
// breaks embedding lookups; cast floating tensors only, as nn.Module.to(dtype) does.
void CastFloatingState(torch::jit::Module& module, c10::ScalarType dtype) {
  for (at::Tensor parameter : module.parameters()) {
    if (parameter.is_floating_point()) parameter.set_data(parameter.to(dtype));
  }
  for (at::Tensor buffer : module.buffers()) {
    if (buffer.is_floating_point()) buffer.set_data(buffer.to(dtype));
  }
}

}  // namespace

Component Component::Load(const std::string& name, const std::string& path,
                          const c10::Device& device, c10::ScalarType dtype) {
  if (!FileExists(path)) {
    throw EdictError(code::kModelFileMissing,
                     name + ": file not found or unreadable: " + path);
  }
  torch::jit::Module module;
  try {
    // Load on the host and cast before moving, so a GPU never holds a float32 copy of a
    // model that will run in float16.
    module = torch::jit::load(path, c10::Device(c10::kCPU));
  } catch (const std::exception& e) {
    std::string message = e.what();
    auto cut = message.find('\n');
    if (cut != std::string::npos) message.resize(cut);
    throw EdictError(code::kModelCorrupt,
                     name + ": not a loadable TorchScript file (" + path + "): " + message);
  }
  try {
    CastFloatingState(module, dtype);
    module.to(device);
    module.eval();
  } catch (const c10::Error& e) {
    throw EdictError(IsOutOfMemoryMessage(e.what_without_backtrace()) ? code::kOutOfMemory : code::kComponentFailed,
                     name + ": could not move to " + device.str() +
                                                 " as " + DtypeName(dtype) + ": " +
                                                 e.what_without_backtrace());
  }
  return Component(name, std::move(module), device, dtype);
}

namespace {

// A component that raised: out of memory is its own code (the caller may retry smaller),
// anything else is the component's failure.
EdictError ComponentRaised(const std::string& name, const std::string& message) {
  if (IsOutOfMemoryMessage(message)) {
    return EdictError(code::kOutOfMemory, name + " ran out of memory: " + SummarizeTorchMessage(message));
  }
  return EdictError(code::kComponentFailed, name + " failed: " + SummarizeTorchMessage(message));
}

}  // namespace

at::Tensor Component::Forward(std::vector<c10::IValue> inputs) const {
  c10::IValue output;
  try {
    output = module_.forward(std::move(inputs));
  } catch (const c10::Error& e) {
    throw ComponentRaised(name_, e.what_without_backtrace());
  } catch (const std::exception& e) {
    // TorchScript interpreter failures arrive as torch::jit::JITException (a runtime_error).
    throw ComponentRaised(name_, e.what());
  }
  if (output.isTuple() && !output.toTuple()->elements().empty()) {
    output = output.toTuple()->elements()[0];
  }
  if (!output.isTensor()) {
    throw EdictError(code::kComponentOutput,
                     name_ + " returned " + output.tagKind() + ", expected a tensor");
  }
  at::Tensor tensor = output.toTensor();
  // Whatever the caller does next (read values, copy to the host) needs dense data here.
  if (tensor.layout() != c10::kStrided) {
    throw EdictError(code::kComponentOutput, name_ + " returned a " + c10::str(tensor.layout()) +
                                                 " tensor, expected a dense (strided) one");
  }
  if (tensor.device() != device_) {
    throw EdictError(code::kComponentOutput, name_ + " returned a tensor on " +
                                                 tensor.device().str() + ", expected " + device_.str());
  }
  return tensor;
}

void ExpectOutput(const Component& component, const at::Tensor& tensor,
                  at::IntArrayRef expected) {
  if (tensor.sizes() != expected) {
    throw EdictError(code::kComponentOutput, component.name() + " returned shape " +
                                                 ShapeString(tensor.sizes()) + ", expected " +
                                                 ShapeString(expected));
  }
  // complex is not floating point in libtorch's sense: only real float16/32/64, bfloat16.
  if (!tensor.is_floating_point()) {
    throw EdictError(code::kComponentOutput, component.name() + " returned " +
                                                 std::string(c10::toString(tensor.scalar_type())) +
                                                 " values, expected a floating-point tensor");
  }
}

}  // namespace edict
