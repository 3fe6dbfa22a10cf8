// Reading typed fields out of JS option objects, with ERR_INVALID_ARGUMENT naming the field.
// The TypeScript layer validates user options first; these checks guard the addon itself.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <string>

namespace edict {

Napi::Object RequireObject(const Napi::Value& value, const std::string& what);
Napi::Value RequireField(const Napi::Object& object, const std::string& key);
std::string GetString(const Napi::Object& object, const std::string& key);
double GetNumber(const Napi::Object& object, const std::string& key);
int GetInt(const Napi::Object& object, const std::string& key);
bool GetBool(const Napi::Object& object, const std::string& key);
// A {data, shape} field as a CPU tensor.
at::Tensor GetTensor(const Napi::Object& object, const std::string& key);
bool HasField(const Napi::Object& object, const std::string& key);

}  // namespace edict
