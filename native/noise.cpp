#include "noise.h"

#include <ATen/CPUGeneratorImpl.h>

#include "addon.h"
#include "errors.h"
#include "tensors.h"

namespace edict {

namespace {

constexpr double kMaxSeed = 4294967295.0;  // 2^32 - 1

}  // namespace

Napi::Value Randn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return GuardJs(env, [&]() -> Napi::Value {
    std::vector<int64_t> shape = ShapeFromJs(info[0], "noise shape");
    if (!info[1].IsNumber()) throw EdictError(code::kInvalidArgument, "noise seed must be a number");
    const double seed = info[1].As<Napi::Number>().DoubleValue();
    if (!(seed >= 0 && seed <= kMaxSeed) || seed != static_cast<double>(static_cast<uint64_t>(seed))) {
      throw EdictError(code::kInvalidArgument, "noise seed must be an integer in [0, 2^32 - 1]");
    }
    auto job = std::make_unique<FunctionJob>([shape, seed](JobContext&) -> FunctionJob::Resolver {
      at::Generator generator = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
      at::Tensor noise = at::randn(shape, generator, at::TensorOptions().dtype(at::kFloat)).to(at::kDouble);
      return [noise](Napi::Env env) -> Napi::Value { return TensorToJs(env, noise); };
    });
    return Addon::From(env).executor().Submit(env, std::move(job), JobOptions{});
  });
}

}  // namespace edict
