#include "pipeline.h"

#include <c10/core/DeviceGuard.h>

#include <chrono>

#include "addon.h"
#include "denoiser.h"
#include "device.h"
#include "errors.h"
#include "js_args.h"
#include "step_scheduler.h"
#include "tensors.h"

namespace edict {

namespace {

[[noreturn]] void Invalid(const std::string& message) {
  throw EdictError(code::kInvalidArgument, message);
}

void ThrowIfNonFinite(const at::Tensor& tensor, const std::string& what) {
  if (!at::isfinite(tensor).all().item<bool>()) {
    throw EdictError(code::kNonFinite,
                     what + " contain NaN or infinity (try a lower guidance, more steps, a "
                            "mix weight nearer 1, or a float32/float64 UNet)");
  }
}

// Final device-to-host copy; on CUDA through pinned memory so the copy runs at full speed.
at::Tensor ToHostFloat64(const at::Tensor& tensor) {
  at::Tensor value = tensor.to(at::kDouble);
  if (value.is_cuda()) {
    at::Tensor host = at::empty(value.sizes(), at::TensorOptions().dtype(at::kDouble).pinned_memory(true));
    host.copy_(value, /*non_blocking=*/true);
    Synchronize(value.device());
    return host;
  }
  return value.contiguous();
}

at::Tensor ToHostBytes(const at::Tensor& tensor) {
  if (tensor.is_cuda()) {
    at::Tensor host = at::empty(tensor.sizes(), at::TensorOptions().dtype(tensor.scalar_type()).pinned_memory(true));
    host.copy_(tensor, /*non_blocking=*/true);
    Synchronize(tensor.device());
    return host;
  }
  return tensor.contiguous();
}

c10::ScalarType StateDtype(const std::string& name) {
  if (name == "float64") return at::kDouble;
  if (name == "float32") return at::kFloat;
  throw EdictError(code::kUnsupportedDtype,
                   "state dtype must be float64 or float32, got \"" + name + "\"");
}

}  // namespace

PipelineConfig PipelineConfig::FromJs(const Napi::Object& object) {
  PipelineConfig config;
  config.textEncoderPath = GetString(object, "textEncoder");
  config.unetPath = GetString(object, "unet");
  config.vaeEncoderPath = GetString(object, "vaeEncoder");
  config.vaeDecoderPath = GetString(object, "vaeDecoder");
  config.device = GetString(object, "device");
  config.unetDtype = GetString(object, "unetDtype");
  config.textDtype = GetString(object, "textDtype");
  config.vaeDtype = GetString(object, "vaeDtype");
  config.latentChannels = GetInt(object, "latentChannels");
  config.downsample = GetInt(object, "downsample");
  config.scalingFactor = GetNumber(object, "scalingFactor");
  config.maxLength = GetInt(object, "maxLength");
  config.hiddenSize = GetInt(object, "hiddenSize");
  config.exact = GetBool(object, "exact");
  Napi::Object scheduler = RequireObject(RequireField(object, "scheduler"), "scheduler");
  config.scheduler.numTrainTimesteps = GetInt(scheduler, "numTrainTimesteps");
  config.scheduler.betaStart = GetNumber(scheduler, "betaStart");
  config.scheduler.betaEnd = GetNumber(scheduler, "betaEnd");
  config.scheduler.betaSchedule = GetString(scheduler, "betaSchedule");
  config.scheduler.setAlphaToOne = GetBool(scheduler, "setAlphaToOne");
  config.scheduler.stepsOffset = GetInt(scheduler, "stepsOffset");
  config.scheduler.predictionType = GetString(scheduler, "predictionType");
  if (HasField(object, "batching")) {
    Napi::Object batching = RequireObject(RequireField(object, "batching"), "batching");
    config.batching.policy = GetString(batching, "policy");
    config.batching.maxBatch = GetInt(batching, "maxBatch");
    config.batching.maxQueue = GetInt(batching, "maxQueue");
    config.batching.maxQueueDelayMs = GetInt(batching, "maxQueueDelayMs");
    const std::string& policy = config.batching.policy;
    if (policy != "continuous" && policy != "request" && policy != "serial") {
      Invalid("batching.policy must be continuous, request or serial, got \"" + policy + "\"");
    }
    if (config.batching.maxBatch < 1 || config.batching.maxQueue < 0 || config.batching.maxQueueDelayMs < 0) {
      Invalid("batching: maxBatch must be >= 1, maxQueue and maxQueueDelayMs >= 0");
    }
  }
  if (config.latentChannels < 1 || config.downsample < 1 || config.maxLength < 1 ||
      config.hiddenSize < 1 || !(config.scalingFactor > 0)) {
    Invalid("latentChannels, downsample, maxLength, hiddenSize and scalingFactor must be positive");
  }
  if (config.scheduler.predictionType != "epsilon" &&
      config.scheduler.predictionType != "v_prediction") {
    Invalid("predictionType must be epsilon or v_prediction, got \"" +
            config.scheduler.predictionType + "\"");
  }
  return config;
}

LoopRequest LoopRequest::FromJs(const Napi::Object& object) {
  LoopRequest request;
  request.kind = GetString(object, "kind");
  request.x = GetTensor(object, "x").to(at::kDouble);
  if (HasField(object, "y")) request.y = GetTensor(object, "y").to(at::kDouble);
  if (HasField(object, "noise")) request.noise = GetTensor(object, "noise").to(at::kDouble);
  request.condIds = GetTensor(object, "condIds").to(at::kLong);
  request.uncondIds = GetTensor(object, "uncondIds").to(at::kLong);
  request.guidance = GetTensor(object, "guidance").to(at::kDouble);
  request.mix = GetTensor(object, "mix").to(at::kDouble);
  request.steps = GetInt(object, "steps");
  request.executed = GetInt(object, "executed");
  request.leapfrog = GetBool(object, "leapfrog");
  request.stateDtype = GetString(object, "stateDtype");
  if (HasField(object, "isolate")) request.isolate = GetBool(object, "isolate");
  if (HasField(object, "gamma")) request.gamma = GetNumber(object, "gamma");
  if (HasField(object, "pairStart")) request.pairStart = GetBool(object, "pairStart");
  if (HasField(object, "stepLatents")) request.stepLatents = GetBool(object, "stepLatents");
  if (!(request.gamma > 0 && request.gamma <= 1)) Invalid("gamma must be in (0, 1], got " + std::to_string(request.gamma));

  const SamplerKind* kind = FindSamplerKind(request.kind);
  if (kind == nullptr) Invalid("unknown loop kind \"" + request.kind + "\"");
  if (request.x.dim() != 4) Invalid("x must be [B, C, h, w], got " + ShapeString(request.x.sizes()));
  const int64_t batch = request.x.size(0);
  if (batch < 1) Invalid("the batch is empty");
  if (kind->pair && (!request.y.defined() || request.y.sizes() != request.x.sizes())) {
    Invalid(request.kind + " needs y with the shape of x " + ShapeString(request.x.sizes()));
  }
  if (kind->noise && (!request.noise.defined() || request.noise.sizes() != request.x.sizes())) {
    Invalid(request.kind + " needs noise with the shape of x " + ShapeString(request.x.sizes()));
  }
  for (const auto& [name, ids] : {std::pair<const char*, const at::Tensor&>{"condIds", request.condIds},
                                  {"uncondIds", request.uncondIds}}) {
    if (ids.dim() != 2 || ids.size(0) != batch) {
      Invalid(std::string(name) + " must be [" + std::to_string(batch) + ", L], got " + ShapeString(ids.sizes()));
    }
  }
  if (request.guidance.numel() != batch || request.mix.numel() != batch) {
    Invalid("guidance and mix need one value per batch item (" + std::to_string(batch) + ")");
  }
  if (!at::isfinite(request.guidance).all().item<bool>()) Invalid("guidance must be finite");
  if ((request.mix <= 0).any().item<bool>() || (request.mix > 1).any().item<bool>()) {
    Invalid("mix weights must be in (0, 1]");
  }
  if (request.executed < 1 || request.executed > request.steps) {
    Invalid("executed steps must be in [1, steps], got " + std::to_string(request.executed));
  }
  return request;
}

std::shared_ptr<const PipelineState> PipelineState::Load(const PipelineConfig& config) {
  c10::Device device = ParseDevice(config.device);
  DdimSchedule(config.scheduler, 1);  // validates the scheduler config once, at load
  ConfigureDeterminism(device, config.exact);
  Component text = Component::Load("text encoder", config.textEncoderPath, device, ParseFloatDtype(config.textDtype));
  Component unet = Component::Load("UNet", config.unetPath, device, ParseFloatDtype(config.unetDtype));
  Component encoder = Component::Load("VAE encoder", config.vaeEncoderPath, device, ParseFloatDtype(config.vaeDtype));
  Component decoder = Component::Load("VAE decoder", config.vaeDecoderPath, device, ParseFloatDtype(config.vaeDtype));
  return std::shared_ptr<const PipelineState>(new PipelineState(
      config, device, std::move(text), std::move(unet), std::move(encoder), std::move(decoder)));
}

at::Tensor PipelineState::EncodeText(const at::Tensor& ids) const {
  // Kernels and allocations without an explicit device go to this pipeline's GPU (cuda:N).
  c10::DeviceGuard device_guard(device_);
  if (ids.dim() != 2 || ids.size(0) < 1) Invalid("token ids must be [B, L], got " + ShapeString(ids.sizes()));
  std::vector<at::Tensor> rows;
  for (int64_t b = 0; b < ids.size(0); ++b) rows.push_back(PromptStates(ids[b]));
  return rows.size() == 1 ? rows.front() : at::cat(rows);
}

at::Tensor PipelineState::PromptStates(const at::Tensor& ids) const {
  const at::Tensor row = ids.to(at::kCPU, at::kLong).contiguous();
  const std::string key(static_cast<const char*>(row.data_ptr()), row.numel() * sizeof(int64_t));
  auto found = prompt_index_.find(key);
  if (found != prompt_index_.end()) {
    prompt_cache_.splice(prompt_cache_.begin(), prompt_cache_, found->second);
    return found->second->second;
  }
  at::Tensor states = text_.Forward({row.view({1, -1}).to(device_)});
  ExpectOutput(text_, states, {1, row.numel(), config_.hiddenSize});
  prompt_cache_.emplace_front(key, states);
  prompt_index_[key] = prompt_cache_.begin();
  if (prompt_cache_.size() > kPromptCacheSize) {
    prompt_index_.erase(prompt_cache_.back().first);
    prompt_cache_.pop_back();
  }
  return states;
}

void PipelineState::CheckLatents(const at::Tensor& latents, const std::string& what) const {
  if (latents.dim() != 4 || latents.size(1) != config_.latentChannels || latents.size(0) < 1) {
    Invalid(what + " must be [B, " + std::to_string(config_.latentChannels) + ", h, w], got " +
            ShapeString(latents.sizes()));
  }
}

at::Tensor PipelineState::EncodeImage(const at::Tensor& pixels, const at::Tensor& noise) const {
  // Kernels and allocations without an explicit device go to this pipeline's GPU (cuda:N).
  c10::DeviceGuard device_guard(device_);
  if (pixels.dim() != 4 || pixels.size(3) != 3 || pixels.scalar_type() != at::kByte) {
    Invalid("pixels must be uint8 [B, H, W, 3], got " + ShapeString(pixels.sizes()));
  }
  const int64_t batch = pixels.size(0), height = pixels.size(1), width = pixels.size(2);
  const int64_t ds = config_.downsample;
  if (height % ds != 0 || width % ds != 0) {
    Invalid("image sides must be multiples of " + std::to_string(ds) + ", got " +
            std::to_string(width) + "x" + std::to_string(height));
  }
  // uint8 [0, 255] -> [-1, 1], channels first.
  at::Tensor image = pixels.to(device_).permute({0, 3, 1, 2}).to(vae_encoder_.dtype()) / 127.5 - 1.0;
  at::Tensor moments = vae_encoder_.Forward({image});
  const int64_t c = config_.latentChannels;
  ExpectOutput(vae_encoder_, moments, {batch, 2 * c, height / ds, width / ds});
  at::Tensor mean = moments.narrow(1, 0, c).to(at::kDouble);
  at::Tensor latent = mean;
  if (noise.defined()) {
    if (noise.sizes() != mean.sizes()) {
      Invalid("posterior noise must be " + ShapeString(mean.sizes()) + ", got " + ShapeString(noise.sizes()));
    }
    at::Tensor logvar = moments.narrow(1, c, c).to(at::kDouble).clamp(-30.0, 20.0);
    latent = mean + at::exp(0.5 * logvar) * noise.to(device_, at::kDouble);
  }
  latent = config_.scalingFactor * latent;
  ThrowIfNonFinite(latent, "the encoded latents");
  return latent;
}

at::Tensor PipelineState::DecodeLatents(const at::Tensor& latents) const {
  // Kernels and allocations without an explicit device go to this pipeline's GPU (cuda:N).
  c10::DeviceGuard device_guard(device_);
  CheckLatents(latents, "latents");
  const int64_t ds = config_.downsample;
  at::Tensor input = (latents.to(device_, at::kDouble) / config_.scalingFactor).to(vae_decoder_.dtype());
  at::Tensor image = vae_decoder_.Forward({input});
  ExpectOutput(vae_decoder_, image, {latents.size(0), 3, latents.size(2) * ds, latents.size(3) * ds});
  image = image.to(at::kFloat);
  ThrowIfNonFinite(image, "the decoded images");
  // [-1, 1] -> [0, 255], clamped and rounded (as diffusers' image processor does).
  at::Tensor bytes = ((image / 2 + 0.5).clamp(0, 1) * 255).round().to(at::kByte);
  return bytes.permute({0, 2, 3, 1}).contiguous();
}

std::unique_ptr<LoopCall> PipelineState::StartLoop(const std::shared_ptr<const PipelineState>& self,
                                                   const LoopRequest& request, const JobContext& ctx,
                                                   std::shared_ptr<LoopResult> result) {
  const PipelineState& p = *self;
  // Kernels and allocations without an explicit device go to this pipeline's GPU (cuda:N).
  c10::DeviceGuard device_guard(p.device_);
  const auto started = std::chrono::steady_clock::now();
  p.CheckLatents(request.x, "x");
  const SamplerKind* kind = FindSamplerKind(request.kind);
  const c10::ScalarType state = StateDtype(request.stateDtype);
  const auto on_device = at::TensorOptions().dtype(state).device(p.device_);
  auto schedule = std::make_shared<const DdimSchedule>(p.config_.scheduler, request.steps);

  auto call = std::make_unique<LoopCall>();
  call->pipeline = self;
  call->kind = kind;
  call->isolate = request.isolate;
  call->stepLatents = request.stepLatents;
  call->stateDtype = state;
  call->ctx = ctx;
  const auto guidance = request.guidance.accessor<double, 1>();
  const auto mix = request.mix.accessor<double, 1>();
  // Copies the samplers own and update in place (never the request's own tensors).
  auto item_of = [&](const at::Tensor& t, int64_t b) { return t.narrow(0, b, 1).to(on_device, false, true); };
  for (int64_t b = 0; b < request.x.size(0); ++b) {
    ItemStart start;
    start.schedule = schedule;
    start.executed = request.executed;
    start.leapfrog = request.leapfrog;
    start.mix = mix[b];
    start.gamma = request.gamma;
    start.pairStart = request.pairStart;
    start.x = item_of(request.x, b);
    if (kind->pair) start.y = item_of(request.y, b);
    if (kind->noise) start.noise = item_of(request.noise, b);
    LoopItem item;
    item.sampler = kind->make(std::move(start));
    item.guidance = guidance[b];
    item.cond = p.PromptStates(request.condIds[b]).to(p.unet_.dtype());
    if (item.guidance != 1.0) item.uncond = p.PromptStates(request.uncondIds[b]).to(p.unet_.dtype());
    call->items.push_back(std::move(item));
  }
  call->finish = [result, started](LoopCall& done) {
    std::vector<at::Tensor> xs, ys;
    for (const LoopItem& item : done.items) {
      xs.push_back(item.sampler->X());
      ys.push_back(item.sampler->Y());
    }
    at::Tensor x = at::cat(xs), y = at::cat(ys);
    ThrowIfNonFinite(x, "the latents");
    ThrowIfNonFinite(y, "the latents");
    result->x = ToHostFloat64(x);
    result->y = ToHostFloat64(y);  // EDICT's y; BDIA/BELM's other level; DDIM's = x
    result->unetSeconds = done.unetSeconds;
    result->unetCalls = done.unetCalls;
    result->totalSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  return call;
}

Napi::Function Pipeline::Define(Napi::Env env) {
  return DefineClass(env, "Pipeline",
                     {InstanceMethod<&Pipeline::EncodeText>("encodeText"),
                      InstanceMethod<&Pipeline::EncodeImage>("encodeImage"),
                      InstanceMethod<&Pipeline::DecodeLatents>("decodeLatents"),
                      InstanceMethod<&Pipeline::Run>("run"),
                      InstanceMethod<&Pipeline::Counters>("counters"),
                      InstanceMethod<&Pipeline::Dispose>("dispose"),
                      InstanceAccessor<&Pipeline::Device>("device")});
}

Napi::Value Pipeline::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return GuardJs(env, [&]() -> Napi::Value {
    PipelineConfig config = PipelineConfig::FromJs(RequireObject(info[0], "pipeline config"));
    auto state = std::make_shared<std::shared_ptr<const PipelineState>>();
    auto job = std::make_unique<FunctionJob>([config, state](JobContext&) -> FunctionJob::Resolver {
      *state = PipelineState::Load(config);
      return [state](Napi::Env env) -> Napi::Value {
        auto* holder = new std::shared_ptr<const PipelineState>(*state);
        auto external = Napi::External<std::shared_ptr<const PipelineState>>::New(
            env, holder, [](Napi::Env, std::shared_ptr<const PipelineState>* p) { delete p; });
        return Addon::From(env).pipelineClass.New({external});
      };
    });
    return Addon::From(env).executor().Submit(env, std::move(job), ReadJobOptions(info[1]));
  });
}

Pipeline::Pipeline(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Pipeline>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "Pipeline is created by loadPipeline()");
  }
  state_ = *info[0].As<Napi::External<std::shared_ptr<const PipelineState>>>().Data();
}

std::shared_ptr<const PipelineState> Pipeline::Require(Napi::Env env) const {
  if (!state_) throw EdictError(code::kDisposed, "the pipeline was disposed");
  return state_;
}

Napi::Value Pipeline::Submit(const Napi::CallbackInfo& info, size_t options_index,
                             FunctionJob::Execution execution) {
  Napi::Env env = info.Env();
  auto job = std::make_unique<FunctionJob>(std::move(execution));
  Napi::Value options = info.Length() > options_index ? info[options_index] : env.Undefined();
  return Addon::From(env).executor().Submit(env, std::move(job), ReadJobOptions(options));
}

Napi::Value Pipeline::EncodeText(const Napi::CallbackInfo& info) {
  return GuardJs(info.Env(), [&]() -> Napi::Value {
    auto state = Require(info.Env());
    at::Tensor ids = TensorFromJsObject(info[0], "ids");
    return Submit(info, 1, [state, ids](JobContext&) -> FunctionJob::Resolver {
      at::Tensor host = ToHost(state->EncodeText(ids));
      return [host](Napi::Env env) -> Napi::Value { return TensorToJs(env, host); };
    });
  });
}

Napi::Value Pipeline::EncodeImage(const Napi::CallbackInfo& info) {
  return GuardJs(info.Env(), [&]() -> Napi::Value {
    auto state = Require(info.Env());
    at::Tensor pixels = TensorFromJsObject(info[0], "pixels");
    at::Tensor noise;
    if (info.Length() > 1 && !info[1].IsNull() && !info[1].IsUndefined()) {
      noise = TensorFromJsObject(info[1], "noise").to(at::kDouble);
    }
    return Submit(info, 2, [state, pixels, noise](JobContext&) -> FunctionJob::Resolver {
      at::Tensor host = ToHostFloat64(state->EncodeImage(pixels, noise));
      return [host](Napi::Env env) -> Napi::Value { return TensorToJs(env, host); };
    });
  });
}

Napi::Value Pipeline::DecodeLatents(const Napi::CallbackInfo& info) {
  return GuardJs(info.Env(), [&]() -> Napi::Value {
    auto state = Require(info.Env());
    at::Tensor latents = TensorFromJsObject(info[0], "latents").to(at::kDouble);
    return Submit(info, 1, [state, latents](JobContext&) -> FunctionJob::Resolver {
      at::Tensor host = ToHostBytes(state->DecodeLatents(latents));
      return [host](Napi::Env env) -> Napi::Value { return TensorToJs(env, host); };
    });
  });
}

Napi::Value Pipeline::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return GuardJs(env, [&]() -> Napi::Value {
    auto state = Require(env);
    auto request = std::make_shared<LoopRequest>(LoopRequest::FromJs(RequireObject(info[0], "loop request")));
    JobOptions options = ReadJobOptions(info.Length() > 1 ? info[1] : env.Undefined());
    options.loopPipeline = state.get();
    options.loopItems = static_cast<int>(request->x.size(0));
    Executor& executor = Addon::From(env).executor();
    const BatchingConfig& batching = state->config().batching;
    if (batching.maxQueue > 0) {
      // Waiting or running: under the continuous policy calls are admitted at once, so the
      // queue alone would never fill.
      const int pending = executor.QueuedLoops(state.get()) + static_cast<int>(state->counters().Read().activeCalls);
      if (pending >= batching.maxQueue) {
        state->counters().Update([](PipelineCounters& c) { ++c.rejected; });
        throw EdictError(code::kOverloaded, "the pipeline is overloaded: " + std::to_string(pending) +
                                                " sampling calls are queued or running (maxQueue " +
                                                std::to_string(batching.maxQueue) + "); retry later");
      }
    }
    auto result = std::make_shared<LoopResult>();
    auto job = std::make_unique<FunctionJob>([state, request, result](JobContext& ctx) -> FunctionJob::Resolver {
      ctx.Defer(PipelineState::StartLoop(state, *request, ctx, result));
      return [result](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("x", TensorToJs(env, result->x));
        out.Set("y", TensorToJs(env, result->y));
        out.Set("unetSeconds", result->unetSeconds);
        out.Set("unetCalls", result->unetCalls);
        out.Set("totalSeconds", result->totalSeconds);
        return out;
      };
    });
    return executor.Submit(env, std::move(job), options);
  });
}

Napi::Value Pipeline::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return GuardJs(env, [&]() -> Napi::Value {
    auto state = Require(env);
    const PipelineCounters c = state->counters().Read();
    Napi::Object out = Napi::Object::New(env);
    out.Set("queued", Addon::From(env).executor().QueuedLoops(state.get()));
    out.Set("activeCalls", static_cast<double>(c.activeCalls));
    out.Set("activeItems", static_cast<double>(c.activeItems));
    out.Set("admitted", static_cast<double>(c.admitted));
    out.Set("completed", static_cast<double>(c.completed));
    out.Set("failed", static_cast<double>(c.failed));
    out.Set("cancelled", static_cast<double>(c.cancelled));
    out.Set("timedOut", static_cast<double>(c.timedOut));
    out.Set("rejected", static_cast<double>(c.rejected));
    out.Set("rounds", static_cast<double>(c.rounds));
    out.Set("unetCalls", static_cast<double>(c.unetCalls));
    out.Set("unetItems", static_cast<double>(c.unetItems));
    out.Set("unetSeconds", c.unetSeconds);
    out.Set("roundSeconds", c.roundSeconds);
    out.Set("queueWaitSeconds", c.queueWaitSeconds);
    Napi::Object sizes = Napi::Object::New(env);
    for (const auto& [size, count] : c.batchSizes) sizes.Set(std::to_string(size), static_cast<double>(count));
    out.Set("batchSizes", sizes);
    return out;
  });
}

Napi::Value Pipeline::Dispose(const Napi::CallbackInfo& info) {
  return GuardJs(info.Env(), [&]() -> Napi::Value {
    // Later calls fail with ERR_DISPOSED at once; jobs already queued keep their own
    // reference and finish. The release job drops ours on the compute thread, after them.
    auto state = std::move(state_);
    state_.reset();
    return Submit(info, 0, [state](JobContext&) mutable -> FunctionJob::Resolver {
      state.reset();
      return [](Napi::Env env) -> Napi::Value { return env.Undefined(); };
    });
  });
}

Napi::Value Pipeline::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), state_ ? state_->device().str() : "disposed");
}

}  // namespace edict
