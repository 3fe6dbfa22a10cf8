// A loaded model folder on one device: text encoder, UNet and VAE as Components, and the
// operations the TypeScript API composes: text encoding, VAE encoding/decoding and the
// sampling loops (handed to the step scheduler as per-item samplers). State lives on the
// device; inputs and outputs cross as host tensors.
#pragma once

#include <napi.h>

#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "component.h"
#include "counters.h"
#include "executor.h"
#include "sampler.h"
#include "scheduler.h"

namespace edict {

// How the step scheduler admits this pipeline's loops (executor.h).
struct BatchingConfig {
  std::string policy = "continuous";  // continuous | request | serial
  int maxBatch = 8;                   // items per UNet call (round-robin beyond)
  int maxQueue = 0;                   // loop calls waiting beyond this are refused; 0 = no limit
  int maxQueueDelayMs = 5;            // request: how long a forming batch waits for more
};

struct PipelineConfig {
  std::string textEncoderPath, unetPath, vaeEncoderPath, vaeDecoderPath;
  std::string device = "cpu";
  std::string unetDtype = "float32", textDtype = "float32", vaeDtype = "float32";
  int latentChannels = 4;
  int downsample = 8;
  double scalingFactor = 0.18215;
  int maxLength = 77;
  int hiddenSize = 768;
  SchedulerConfig scheduler;
  BatchingConfig batching;
  bool exact = true;

  static PipelineConfig FromJs(const Napi::Object& object);
};

// One call of a sampling loop, copied out of JS on the JS thread.
struct LoopRequest {
  std::string kind;  // a sampler of the registry (sampler_registry.cpp)
  at::Tensor x, y, noise;          // [B, C, h, w] float64 (y for EDICT, noise for SDEdit)
  at::Tensor condIds, uncondIds;   // [B, L] int64
  at::Tensor guidance, mix;        // [B] float64
  int steps = 50;
  int executed = 40;
  bool leapfrog = true;
  std::string stateDtype = "float64";
  bool isolate = false;  // share UNet calls only among its own items
  double gamma = 1.0;    // BDIA
  bool pairStart = true; // BDIA/BELM generation: x and y are an inverted pair (else x alone)
  bool stepLatents = false; // progress events carry host copies of x and y (onStep)

  static LoopRequest FromJs(const Napi::Object& object);
};

struct LoopResult {
  at::Tensor x, y;  // host, float64
  double unetSeconds = 0;
  int unetCalls = 0;
  double totalSeconds = 0;
};

class PipelineState {
 public:
  static std::shared_ptr<const PipelineState> Load(const PipelineConfig& config);

  // ids [B, L] -> last hidden states [B, L, D] on the device (text dtype).
  at::Tensor EncodeText(const at::Tensor& ids) const;
  // RGB pixels [B, H, W, 3] uint8 -> scaled latents [B, C, h, w] float64 on the device:
  // scale * mean, or scale * (mean + std * noise) when noise is given.
  at::Tensor EncodeImage(const at::Tensor& pixels, const at::Tensor& noise) const;
  // Scaled latents [B, C, h, w] -> RGB pixels [B, H, W, 3] uint8 on the device.
  at::Tensor DecodeLatents(const at::Tensor& latents) const;
  // A loop request as a call of per-item samplers for the step scheduler; `result` is filled
  // when the call ends.
  static std::unique_ptr<LoopCall> StartLoop(const std::shared_ptr<const PipelineState>& self,
                                             const LoopRequest& request, const JobContext& ctx,
                                             std::shared_ptr<LoopResult> result);

  const PipelineConfig& config() const { return config_; }
  const c10::Device& device() const { return device_; }
  const Component& unet() const { return unet_; }
  const DdimSchedule& trainSchedule() const { return train_; }
  bool vPrediction() const { return config_.scheduler.predictionType == "v_prediction"; }
  CountersBox& counters() const { return counters_; }

 private:
  PipelineState(PipelineConfig config, c10::Device device, Component text, Component unet,
                Component vae_encoder, Component vae_decoder)
      : config_(std::move(config)),
        device_(device),
        text_(std::move(text)),
        unet_(std::move(unet)),
        vae_encoder_(std::move(vae_encoder)),
        vae_decoder_(std::move(vae_decoder)),
        train_(config_.scheduler, 1) {}

  void CheckLatents(const at::Tensor& latents, const std::string& what) const;
  // Text states [1, L, D] of one prompt's ids [L], encoded alone (so the same prompt always
  // gets the same bits, whatever it is batched with) and kept in a small LRU cache: servers
  // reuse prompts, the empty negative prompt above all. Compute thread only.
  at::Tensor PromptStates(const at::Tensor& ids) const;

  PipelineConfig config_;
  c10::Device device_;
  Component text_, unet_, vae_encoder_, vae_decoder_;
  DdimSchedule train_;  // abar(t) of the train schedule (v-prediction)
  mutable CountersBox counters_;
  static constexpr size_t kPromptCacheSize = 64;
  mutable std::list<std::pair<std::string, at::Tensor>> prompt_cache_;  // most recent first
  mutable std::unordered_map<std::string, std::list<std::pair<std::string, at::Tensor>>::iterator> prompt_index_;
};

// The JS-facing object. Every method queues a job on the compute thread and returns a promise.
class Pipeline : public Napi::ObjectWrap<Pipeline> {
 public:
  static Napi::Function Define(Napi::Env env);
  // loadPipeline(config, jobOptions) -> Promise<Pipeline>
  static Napi::Value Load(const Napi::CallbackInfo& info);

  explicit Pipeline(const Napi::CallbackInfo& info);

 private:
  Napi::Value EncodeText(const Napi::CallbackInfo& info);     // (ids, options)
  Napi::Value EncodeImage(const Napi::CallbackInfo& info);    // (pixels, noise | null, options)
  Napi::Value DecodeLatents(const Napi::CallbackInfo& info);  // (latents, options)
  Napi::Value Run(const Napi::CallbackInfo& info);            // (request, options)
  Napi::Value Counters(const Napi::CallbackInfo& info);       // () -> the scheduler's counters
  Napi::Value Dispose(const Napi::CallbackInfo& info);        // () -> Promise<void>
  Napi::Value Device(const Napi::CallbackInfo& info);

  std::shared_ptr<const PipelineState> Require(Napi::Env env) const;
  Napi::Value Submit(const Napi::CallbackInfo& info, size_t options_index,
                     FunctionJob::Execution execution);

  std::shared_ptr<const PipelineState> state_;
};

}  // namespace edict
