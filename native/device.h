// Devices and dtypes by name, and the settings that make a device's kernels deterministic.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace edict {

// "cpu", "cuda", "cuda:N". Throws ERR_UNKNOWN_DEVICE for anything else or a missing GPU
// index, and ERR_CUDA_UNAVAILABLE when this libtorch (or machine) has no CUDA.
c10::Device ParseDevice(const std::string& name);

// "float16" | "bfloat16" | "float32" | "float64"; throws ERR_UNSUPPORTED_DTYPE.
c10::ScalarType ParseFloatDtype(const std::string& name);
std::string DtypeName(c10::ScalarType dtype);

// On CUDA: cuDNN deterministic, no benchmark autotuning, and (when exact) no TF32, so that
// inversion and generation see bit-identical UNet outputs for identical inputs. CPU kernels
// are deterministic already. Process-wide in libtorch; applied once per pipeline load.
void ConfigureDeterminism(const c10::Device& device, bool exact);

// Waits for the device's queued work (no-op on CPU).
void Synchronize(const c10::Device& device);

bool CudaAvailable();
int CudaDeviceCount();

}  // namespace edict
