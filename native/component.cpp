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
    throw EdictError(code::kComponentFailed, name + ": could not move to " + device.str() +
                                                 " as " + DtypeName(dtype) + ": " +
                                                 e.what_without_backtrace());
  }
  return Component(name, std::move(module), device, dtype);
}

at::Tensor Component::Forward(std::vector<c10::IValue> inputs) const {
  c10::IValue output;
  try {
    output = module_.forward(std::move(inputs));
  } catch (const c10::Error& e) {
    throw EdictError(code::kComponentFailed,
                     name_ + " failed: " + SummarizeTorchMessage(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    // TorchScript interpreter failures arrive as torch::jit::JITException (a runtime_error).
    throw EdictError(code::kComponentFailed, name_ + " failed: " + SummarizeTorchMessage(e.what()));
  }
  if (output.isTuple() && !output.toTuple()->elements().empty()) {
    output = output.toTuple()->elements()[0];
  }
  if (!output.isTensor()) {
    throw EdictError(code::kComponentOutput,
                     name_ + " returned " + output.tagKind() + ", expected a tensor");
  }
  return output.toTensor();
}

void ExpectShape(const Component& component, const at::Tensor& tensor,
                 at::IntArrayRef expected) {
  if (tensor.sizes() != expected) {
    throw EdictError(code::kComponentOutput, component.name() + " returned shape " +
                                                 ShapeString(tensor.sizes()) + ", expected " +
                                                 ShapeString(expected));
  }
}

}  // namespace edict
