// Typed errors: every failure that reaches JS carries a stable `code`.
// Native code throws EdictError for conditions it detects itself; anything else
// (c10::Error from libtorch, std::bad_alloc, ...) is translated at the job boundary.
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>

namespace edict {

// Codes shared with src/errors.ts (test/error-codes.test.ts checks each one is there).
namespace code {
constexpr const char* kInvalidArgument = "ERR_INVALID_ARGUMENT";
constexpr const char* kModelFileMissing = "ERR_MODEL_FILE_MISSING";
constexpr const char* kModelCorrupt = "ERR_MODEL_CORRUPT";
constexpr const char* kComponentFailed = "ERR_COMPONENT_FAILED";
constexpr const char* kComponentOutput = "ERR_COMPONENT_OUTPUT";
constexpr const char* kUnknownDevice = "ERR_UNKNOWN_DEVICE";
constexpr const char* kCudaUnavailable = "ERR_CUDA_UNAVAILABLE";
constexpr const char* kUnsupportedDtype = "ERR_UNSUPPORTED_DTYPE";
constexpr const char* kNonFinite = "ERR_NONFINITE";
constexpr const char* kCancelled = "ERR_CANCELLED";
constexpr const char* kTimeout = "ERR_TIMEOUT";
constexpr const char* kOverloaded = "ERR_OVERLOADED";
constexpr const char* kDisposed = "ERR_DISPOSED";
constexpr const char* kOutOfMemory = "ERR_OUT_OF_MEMORY";
constexpr const char* kTorch = "ERR_TORCH";
constexpr const char* kNative = "ERR_NATIVE";
}  // namespace code

class EdictError : public std::runtime_error {
 public:
  EdictError(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// A failure captured on the compute thread, turned into a JS Error on the JS thread.
struct ErrorInfo {
  std::string code;
  std::string message;
};

// The one line of a libtorch / TorchScript error message that matters to a user: the final
// "RuntimeError: ..." line of an interpreter traceback, or the first paragraph otherwise.
std::string SummarizeTorchMessage(const std::string& message);

// Whether a libtorch message reports exhausted host or device memory (the CPU allocator says
// "can't allocate memory", CUDA's "out of memory"; 2.x's OutOfMemoryError says the same).
bool IsOutOfMemoryMessage(const std::string& message);

// Call from inside a catch (...) block: classifies the in-flight exception.
ErrorInfo CurrentExceptionInfo();

// Builds a JS Error with `code` set (and `name` = "EdictError").
Napi::Error MakeJsError(Napi::Env env, const ErrorInfo& info);

// Wraps a synchronous N-API entry point so that any C++ exception becomes a thrown JS error.
template <typename Fn>
auto GuardJs(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw MakeJsError(env, CurrentExceptionInfo());
  }
}

}  // namespace edict
