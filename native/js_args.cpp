#include "js_args.h"

#include <cmath>

#include "errors.h"
#include "tensors.h"

namespace edict {

namespace {

[[noreturn]] void Invalid(const std::string& message) {
  throw EdictError(code::kInvalidArgument, message);
}

}  // namespace

Napi::Object RequireObject(const Napi::Value& value, const std::string& what) {
  if (!value.IsObject()) Invalid(what + " must be an object");
  return value.As<Napi::Object>();
}

bool HasField(const Napi::Object& object, const std::string& key) {
  Napi::Value value = object.Get(key);
  return !value.IsUndefined() && !value.IsNull();
}

Napi::Value RequireField(const Napi::Object& object, const std::string& key) {
  if (!HasField(object, key)) Invalid("missing field \"" + key + "\"");
  return object.Get(key);
}

std::string GetString(const Napi::Object& object, const std::string& key) {
  Napi::Value value = RequireField(object, key);
  if (!value.IsString()) Invalid("\"" + key + "\" must be a string");
  return value.As<Napi::String>().Utf8Value();
}

double GetNumber(const Napi::Object& object, const std::string& key) {
  Napi::Value value = RequireField(object, key);
  if (!value.IsNumber()) Invalid("\"" + key + "\" must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number)) Invalid("\"" + key + "\" must be finite");
  return number;
}

int GetInt(const Napi::Object& object, const std::string& key) {
  double number = GetNumber(object, key);
  if (number != std::floor(number) || std::fabs(number) > 2147483647.0) {
    Invalid("\"" + key + "\" must be an integer");
  }
  return static_cast<int>(number);
}

bool GetBool(const Napi::Object& object, const std::string& key) {
  Napi::Value value = RequireField(object, key);
  if (!value.IsBoolean()) Invalid("\"" + key + "\" must be a boolean");
  return value.As<Napi::Boolean>().Value();
}

at::Tensor GetTensor(const Napi::Object& object, const std::string& key) {
  return TensorFromJsObject(RequireField(object, key), key);
}

}  // namespace edict
