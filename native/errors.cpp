#include "errors.h"

#include <c10/util/Exception.h>

#include <exception>
#include <new>

namespace edict {

namespace {

// libtorch messages end with a C++ backtrace or "Exception raised from ..." lines that
// mean nothing to a JS user; keep the first paragraph.
std::string TrimTorchMessage(const std::string& message) {
  std::string out = message;
  for (const char* marker : {"\nException raised from", "\nFrame ", "\nCompiled from code"}) {
    auto cut = out.find(marker);
    if (cut != std::string::npos) out.resize(cut);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

std::string SummarizeTorchMessage(const std::string& message) {
  if (message.find("Traceback of TorchScript") != std::string::npos) {
    std::string trimmed = message;
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == ' ')) trimmed.pop_back();
    auto last = trimmed.find_last_of('\n');
    return last == std::string::npos ? trimmed : trimmed.substr(last + 1);
  }
  return TrimTorchMessage(message);
}

bool IsOutOfMemoryMessage(const std::string& message) {
  return message.find("out of memory") != std::string::npos ||
         message.find("can't allocate memory") != std::string::npos;
}

ErrorInfo CurrentExceptionInfo() {
  try {
    throw;
  } catch (const EdictError& e) {
    return {e.code(), e.what()};
  } catch (const c10::Error& e) {
    std::string message = SummarizeTorchMessage(e.what_without_backtrace());
    // Allocators report exhaustion as c10::Error (OutOfMemoryError in 2.x derives from it).
    if (IsOutOfMemoryMessage(message)) {
      return {code::kOutOfMemory, "libtorch ran out of memory: " + message};
    }
    return {code::kTorch, "libtorch error: " + message};
  } catch (const std::bad_alloc&) {
    return {code::kOutOfMemory, "out of host memory"};
  } catch (const std::exception& e) {
    return {code::kNative, e.what()};
  } catch (...) {
    return {code::kNative, "unknown native exception"};
  }
}

Napi::Error MakeJsError(Napi::Env env, const ErrorInfo& info) {
  Napi::Error error = Napi::Error::New(env, info.message);
  error.Set("code", Napi::String::New(env, info.code));
  error.Set("name", Napi::String::New(env, "EdictError"));
  return error;
}

}  // namespace edict
