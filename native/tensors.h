// Copies between JS typed arrays and libtorch tensors.
// JS -> tensor happens on the JS thread when a job is submitted (inputs are small: latents,
// token ids, pixels); tensor -> host happens on the compute thread (ToHost), and the final
// copy into a fresh ArrayBuffer on the JS thread (TensorToJs).
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <string>
#include <vector>

namespace edict {

// Reads a JS array of non-negative integers. Throws ERR_INVALID_ARGUMENT naming `what`.
std::vector<int64_t> ShapeFromJs(const Napi::Value& value, const std::string& what);

// Copies a Float32Array / Float64Array / Int32Array / BigInt64Array / Uint8Array into a
// CPU tensor of the given shape (element count must match). Int32Array becomes int64.
at::Tensor TensorFromJs(const Napi::Value& data, const std::vector<int64_t>& shape,
                        const std::string& what);

// Reads {data, shape} objects.
at::Tensor TensorFromJsObject(const Napi::Value& value, const std::string& what);

// Compute-thread side: a contiguous CPU tensor whose dtype JS can hold (half and bfloat16
// become float32).
at::Tensor ToHost(const at::Tensor& tensor);

// JS-thread side: {data: TypedArray, shape: number[]} from a host tensor.
Napi::Object TensorToJs(Napi::Env env, const at::Tensor& host);

std::string ShapeString(at::IntArrayRef shape);

}  // namespace edict
