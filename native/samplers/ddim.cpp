// DDIM (Song et al. 2021), the baseline users compare against. Generation: z = a z + b eps(z)
// for i = 0 .. n-1. Inversion (approximate): z = (z - b eps(z)) / a for i = n-1 .. 0, eps
// taken at the current (less noisy) point because the one it should be taken at is unknown.
#include "../sampler.h"

namespace edict {

namespace {

class DdimGenerate final : public Sampler {
 public:
  explicit DdimGenerate(ItemStart s) : s_(std::move(s)), z_(s_.x) {}
  bool Done() const override { return i_ >= s_.executed; }
  EpsQuery Query() const override { return {z_, StepTimestep(*s_.schedule, s_.executed, i_)}; }
  void Consume(const at::Tensor& eps) override {
    DdimStep(z_, s_.schedule->Coefficients(StepTimestep(*s_.schedule, s_.executed, i_)), eps);
    ++i_;
  }
  int StepsDone() const override { return i_; }
  int Steps() const override { return s_.executed; }
  at::Tensor X() const override { return z_; }

 private:
  ItemStart s_;
  at::Tensor z_;
  int i_ = 0;
};

class DdimInvert final : public Sampler {
 public:
  explicit DdimInvert(ItemStart s) : s_(std::move(s)), z_(s_.x), i_(s_.executed - 1) {}
  bool Done() const override { return i_ < 0; }
  EpsQuery Query() const override { return {z_, StepTimestep(*s_.schedule, s_.executed, i_)}; }
  void Consume(const at::Tensor& eps) override {
    DdimUnstep(z_, s_.schedule->Coefficients(StepTimestep(*s_.schedule, s_.executed, i_)), eps);
    --i_;
  }
  int StepsDone() const override { return s_.executed - 1 - i_; }
  int Steps() const override { return s_.executed; }
  at::Tensor X() const override { return z_; }

 private:
  ItemStart s_;
  at::Tensor z_;
  int i_;
};

}  // namespace

std::unique_ptr<Sampler> MakeDdimGenerate(ItemStart start) { return std::make_unique<DdimGenerate>(std::move(start)); }

SamplerKind DdimGenerateKind() { return {"ddim-generate", "generate", false, false, MakeDdimGenerate}; }

SamplerKind DdimInvertKind() {
  return {"ddim-invert", "invert", false, false,
          [](ItemStart s) -> std::unique_ptr<Sampler> { return std::make_unique<DdimInvert>(std::move(s)); }};
}

}  // namespace edict
