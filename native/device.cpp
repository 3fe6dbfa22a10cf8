#include "device.h"

#include <ATen/Context.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>

#include <cstdlib>
#include <regex>

#include "errors.h"

namespace edict {

bool CudaAvailable() { return torch::cuda::is_available(); }

int CudaDeviceCount() { return static_cast<int>(torch::cuda::device_count()); }

c10::Device ParseDevice(const std::string& name) {
  static const std::regex pattern("^(cpu|cuda)(?::([0-9]{1,3}))?$");
  std::smatch match;
  if (!std::regex_match(name, match, pattern) || (match[1] == "cpu" && match[2].matched)) {
    throw EdictError(code::kUnknownDevice,
                     "unknown device \"" + name + "\": expected \"cpu\", \"cuda\" or \"cuda:N\"");
  }
  if (match[1] == "cpu") return c10::Device(c10::kCPU);
  // Before anything can touch cuBLAS (a TorchModule loads without ConfigureDeterminism): its
  // workspace setting is read once, at the first cuBLAS call.
  setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  if (!CudaAvailable()) {
    throw EdictError(code::kCudaUnavailable,
                     "device \"" + name +
                         "\" was requested but this libtorch has no usable CUDA (built CPU-only, "
                         "or no GPU/driver present); rebuild the addon against a CUDA libtorch");
  }
  int index = match[2].matched ? std::stoi(match[2].str()) : 0;
  int count = CudaDeviceCount();
  if (index >= count) {
    throw EdictError(code::kUnknownDevice, "device \"" + name + "\" does not exist: " +
                                               std::to_string(count) + " CUDA device(s) visible");
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

c10::ScalarType ParseFloatDtype(const std::string& name) {
  if (name == "float16") return c10::kHalf;
  if (name == "bfloat16") return c10::kBFloat16;
  if (name == "float32") return c10::kFloat;
  if (name == "float64") return c10::kDouble;
  throw EdictError(code::kUnsupportedDtype, "unsupported dtype \"" + name +
                                                "\": expected float16, bfloat16, float32 or "
                                                "float64");
}

std::string DtypeName(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::kHalf: return "float16";
    case c10::kBFloat16: return "bfloat16";
    case c10::kFloat: return "float32";
    case c10::kDouble: return "float64";
    case c10::kLong: return "int64";
    case c10::kInt: return "int32";
    case c10::kByte: return "uint8";
    default: return c10::toString(dtype);
  }
}

void ConfigureDeterminism(const c10::Device& device, bool exact) {
  if (!device.is_cuda()) return;
  // cuBLAS needs a fixed workspace to be deterministic; only effective before the CUDA
  // context exists, so set it as early as we can and never override the user's choice.
  setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  auto& context = at::globalContext();
  context.setBenchmarkCuDNN(false);
  context.setDeterministicCuDNN(true);
  if (exact) {
    context.setAllowTF32CuBLAS(false);
    context.setAllowTF32CuDNN(false);
    // TorchScript's profiling executor fuses a graph's pointwise ops on CUDA after a few
    // runs: the first UNet calls (inversion) and the later ones (generation) would then run
    // different kernels and round differently. No graph optimisation keeps every call alike.
    torch::jit::setGraphExecutorOptimize(false);
  }
}

void Synchronize(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

}  // namespace edict
