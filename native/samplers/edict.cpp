// EDICT (Wallace, Gokul, Naik, CVPR 2023): a coupled pair (x, y) whose every step inverts
// exactly. Generation, for executed steps i = 0 .. n-1 at t = t_i:
//   leapfrog and i odd: y = a y + b eps(x), then x = a x + b eps(y)
//   otherwise:          x = a x + b eps(y), then y = a y + b eps(x)
//   then mixing:        x = p x + (1-p) y,  then y = p y + (1-p) x
// Inversion runs i = n-1 .. 0, un-mixing and then undoing the two updates in the opposite
// order to the one generation used at that i.
#include "../sampler.h"

namespace edict {

namespace {

class EdictGenerate final : public Sampler {
 public:
  explicit EdictGenerate(ItemStart s) : s_(std::move(s)), x_(s_.x), y_(s_.y) { Enter(); }

  bool Done() const override { return i_ >= s_.executed; }
  // Half 0 updates one sequence from eps at the other; half 1 the other way round.
  EpsQuery Query() const override { return {UpdatesY() ? x_ : y_, t_}; }
  void Consume(const at::Tensor& eps) override {
    DdimStep(UpdatesY() ? y_ : x_, c_, eps);
    if (half_ == 0) {
      half_ = 1;
      return;
    }
    const double p = s_.mix, q = 1.0 - p;
    x_.mul_(p).add_(y_, q);  // x = p x + (1 - p) y
    y_.mul_(p).add_(x_, q);  // y = p y + (1 - p) x, with the new x
    half_ = 0;
    ++i_;
    Enter();
  }
  int StepsDone() const override { return i_; }
  int Steps() const override { return s_.executed; }
  at::Tensor X() const override { return x_; }
  at::Tensor Y() const override { return y_; }

 private:
  bool YFirst() const { return s_.leapfrog && i_ % 2 == 1; }
  bool UpdatesY() const { return YFirst() == (half_ == 0); }
  void Enter() {
    if (Done()) return;
    t_ = StepTimestep(*s_.schedule, s_.executed, i_);
    c_ = s_.schedule->Coefficients(t_);
  }

  ItemStart s_;
  at::Tensor x_, y_;
  int i_ = 0, half_ = 0;
  int64_t t_ = 0;
  StepCoefficients c_{};
};

class EdictInvert final : public Sampler {
 public:
  explicit EdictInvert(ItemStart s) : s_(std::move(s)), x_(s_.x), y_(s_.y), i_(s_.executed - 1) { Enter(); }

  bool Done() const override { return i_ < 0; }
  EpsQuery Query() const override { return {UpdatesX() ? y_ : x_, t_}; }
  void Consume(const at::Tensor& eps) override {
    DdimUnstep(UpdatesX() ? x_ : y_, c_, eps);
    if (half_ == 0) {
      half_ = 1;
      return;
    }
    half_ = 0;
    --i_;
    Enter();
  }
  int StepsDone() const override { return s_.executed - 1 - i_; }
  int Steps() const override { return s_.executed; }
  at::Tensor X() const override { return x_; }
  at::Tensor Y() const override { return y_; }

 private:
  // Generation updated y first at leapfrog odd steps (then x): undo x first there, else y.
  bool UpdatesX() const { return (s_.leapfrog && i_ % 2 == 1) == (half_ == 0); }
  // Entering step i: un-mix (y was mixed last, so it is undone first).
  void Enter() {
    if (Done()) return;
    t_ = StepTimestep(*s_.schedule, s_.executed, i_);
    c_ = s_.schedule->Coefficients(t_);
    const double p = s_.mix, q = 1.0 - p;
    y_.sub_(x_, q).div_(p);  // y = (y - (1 - p) x) / p
    x_.sub_(y_, q).div_(p);  // x = (x - (1 - p) y) / p
  }

  ItemStart s_;
  at::Tensor x_, y_;
  int i_, half_ = 0;
  int64_t t_ = 0;
  StepCoefficients c_{};
};

}  // namespace

SamplerKind EdictGenerateKind() {
  return {"edict-generate", "generate", true, false,
          [](ItemStart s) -> std::unique_ptr<Sampler> { return std::make_unique<EdictGenerate>(std::move(s)); }};
}

SamplerKind EdictInvertKind() {
  return {"edict-invert", "invert", true, false,
          [](ItemStart s) -> std::unique_ptr<Sampler> { return std::make_unique<EdictInvert>(std::move(s)); }};
}

}  // namespace edict
