// The two exact samplers at one UNet evaluation per step, BDIA and BELM, share this shape: the
// state is a pair of consecutive levels (sampler.h: Level), each step evaluates eps once at the
// lower-noise member x_k and moves the pair one level, and inversion is each step solved for the
// other end. A Rule gives the two directions:
//   Down(x_{k+1}, x_k, eps_k) -> x_{k-1}    (generation)
//   Up(x_{k-1}, x_k, eps_k)   -> x_{k+1}    (inversion: Down solved for x_{k+1})
// Generation from a single latent x_n starts with one DDIM step, x_{n-1} = D_{n->n-1}(x_n);
// from an inverted pair (x_n, x_{n-1}) it starts from both. Inversion starts with the DDIM
// inversion step x_1 = D_{0->1}(x_0) (eps taken at x_0: approximate, as DDIM inversion is),
// then runs Up for k = 1 .. n-1 and returns the pair (x_n, x_{n-1}). Generating from that pair
// undoes every Up exactly, down to x_1 and then x_0.
#pragma once

#include "../sampler.h"

namespace edict {

struct LevelTriple {
  Level below, at, above;  // levels k-1, k, k+1
};

template <typename Rule>
class TwoStepGenerate final : public Sampler {
 public:
  TwoStepGenerate(ItemStart s, Rule rule) : s_(std::move(s)), rule_(rule), n_(s_.executed) {
    if (s_.pairStart) {
      upper_ = s_.x;  // x_n
      lower_ = s_.y;  // x_{n-1}
      k_ = n_ - 1;
    } else {
      lower_ = s_.x;  // x_n alone: the first step is DDIM's
      k_ = n_;
    }
  }

  bool Done() const override { return k_ <= 0; }
  EpsQuery Query() const override { return {lower_, LevelAt(k_).t}; }
  void Consume(const at::Tensor& eps) override {
    at::Tensor next = !upper_.defined() ? DdimMap(lower_, LevelAt(k_), LevelAt(k_ - 1), eps)
                                        : rule_.Down(upper_, lower_, eps, {LevelAt(k_ - 1), LevelAt(k_), LevelAt(k_ + 1)});
    upper_ = lower_;
    lower_ = next;
    --k_;
    ++done_;
  }
  int StepsDone() const override { return done_; }
  int Steps() const override { return s_.pairStart ? n_ - 1 : n_; }
  at::Tensor X() const override { return lower_; }                           // x_0
  at::Tensor Y() const override { return upper_.defined() ? upper_ : lower_; }  // x_1

 private:
  Level LevelAt(int k) const { return LevelOf(*s_.schedule, n_, k); }

  ItemStart s_;
  Rule rule_;
  int n_, k_, done_ = 0;
  at::Tensor upper_, lower_;  // x_{k+1}, x_k
};

template <typename Rule>
class TwoStepInvert final : public Sampler {
 public:
  TwoStepInvert(ItemStart s, Rule rule) : s_(std::move(s)), rule_(rule), n_(s_.executed), current_(s_.x) {}

  bool Done() const override { return k_ >= n_; }
  // At x_0 the eps of the first step is taken at level 1's timestep, as DDIM inversion does.
  EpsQuery Query() const override { return {current_, LevelAt(k_ == 0 ? 1 : k_).t}; }
  void Consume(const at::Tensor& eps) override {
    at::Tensor next = k_ == 0 ? DdimMap(current_, LevelAt(0), LevelAt(1), eps)
                              : rule_.Up(previous_, current_, eps, {LevelAt(k_ - 1), LevelAt(k_), LevelAt(k_ + 1)});
    previous_ = current_;
    current_ = next;
    ++k_;
  }
  int StepsDone() const override { return k_; }
  int Steps() const override { return n_; }
  at::Tensor X() const override { return current_; }                                // x_n
  at::Tensor Y() const override { return previous_.defined() ? previous_ : current_; }  // x_{n-1}

 private:
  Level LevelAt(int k) const { return LevelOf(*s_.schedule, n_, k); }

  ItemStart s_;
  Rule rule_;
  int n_, k_ = 0;
  at::Tensor current_, previous_;  // x_k, x_{k-1}
};

}  // namespace edict
