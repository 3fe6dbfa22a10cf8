#include "tensors.h"

#include <cstring>
#include <sstream>

#include "errors.h"

namespace edict {

namespace {

[[noreturn]] void Invalid(const std::string& message) {
  throw EdictError(code::kInvalidArgument, message);
}

int64_t ElementCount(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  return count;
}

}  // namespace

std::string ShapeString(at::IntArrayRef shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

std::vector<int64_t> ShapeFromJs(const Napi::Value& value, const std::string& what) {
  if (!value.IsArray()) Invalid(what + ": shape must be an array of integers");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsNumber()) Invalid(what + ": shape entries must be numbers");
    double d = item.As<Napi::Number>().DoubleValue();
    if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d)) || d > 1e9) {
      Invalid(what + ": shape entries must be non-negative integers");
    }
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

at::Tensor TensorFromJs(const Napi::Value& data, const std::vector<int64_t>& shape,
                        const std::string& what) {
  if (!data.IsTypedArray()) Invalid(what + ": data must be a typed array");
  Napi::TypedArray typed = data.As<Napi::TypedArray>();
  const int64_t count = ElementCount(shape);
  if (static_cast<int64_t>(typed.ElementLength()) != count) {
    Invalid(what + ": data has " + std::to_string(typed.ElementLength()) +
            " elements but shape " + ShapeString(shape) + " needs " + std::to_string(count));
  }
  at::ScalarType dtype;
  switch (typed.TypedArrayType()) {
    case napi_float32_array: dtype = at::kFloat; break;
    case napi_float64_array: dtype = at::kDouble; break;
    case napi_int32_array: dtype = at::kInt; break;
    case napi_bigint64_array: dtype = at::kLong; break;
    case napi_uint8_array: dtype = at::kByte; break;
    default: Invalid(what + ": unsupported typed array (use Float32Array, Float64Array, "
                            "Int32Array, BigInt64Array or Uint8Array)");
  }
  at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(dtype));
  const uint8_t* base = static_cast<const uint8_t*>(typed.ArrayBuffer().Data());
  if (count > 0) {
    std::memcpy(tensor.data_ptr(), base + typed.ByteOffset(),
                static_cast<size_t>(count) * tensor.element_size());
  }
  return dtype == at::kInt ? tensor.to(at::kLong) : tensor;
}

at::Tensor TensorFromJsObject(const Napi::Value& value, const std::string& what) {
  if (!value.IsObject()) Invalid(what + ": expected {data, shape}");
  Napi::Object object = value.As<Napi::Object>();
  return TensorFromJs(object.Get("data"), ShapeFromJs(object.Get("shape"), what), what);
}

at::Tensor ToHost(const at::Tensor& tensor) {
  at::Tensor host = tensor;
  if (host.scalar_type() == at::kHalf || host.scalar_type() == at::kBFloat16) {
    host = host.to(at::kFloat);
  }
  return host.to(at::kCPU).contiguous();
}

Napi::Object TensorToJs(Napi::Env env, const at::Tensor& host) {
  const size_t count = static_cast<size_t>(host.numel());
  const size_t bytes = count * host.element_size();
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, bytes);
  if (bytes > 0) std::memcpy(buffer.Data(), host.data_ptr(), bytes);
  Napi::Value data;
  switch (host.scalar_type()) {
    case at::kFloat: data = Napi::Float32Array::New(env, count, buffer, 0); break;
    case at::kDouble: data = Napi::Float64Array::New(env, count, buffer, 0); break;
    case at::kLong:
      data = Napi::TypedArrayOf<int64_t>::New(env, count, buffer, 0, napi_bigint64_array);
      break;
    case at::kInt: data = Napi::Int32Array::New(env, count, buffer, 0); break;
    case at::kByte: data = Napi::Uint8Array::New(env, count, buffer, 0); break;
    case at::kBool: data = Napi::Uint8Array::New(env, count, buffer, 0); break;
    default:
      throw EdictError(code::kNative, std::string("cannot return a tensor of dtype ") +
                                          c10::toString(host.scalar_type()) + " to JS");
  }
  Napi::Array shape = Napi::Array::New(env, host.dim());
  for (int64_t i = 0; i < host.dim(); ++i) {
    shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(host.size(i))));
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("data", data);
  result.Set("shape", shape);
  return result;
}

}  // namespace edict
