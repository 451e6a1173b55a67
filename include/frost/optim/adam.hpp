#pragma once
// Adam (with AMSGrad) as torch.optim.Adam, and AdamW as torch.optim.AdamW. At step t:
//
//   Adam:  g = g + weight_decay * p                      (L2 penalty through the gradient)
//   AdamW: p = p * (1 - lr * weight_decay)               (decoupled decay, applied first)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   v_max = max(v_max, v)                                (amsgrad; then v_max replaces v below)
//   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
//   p = p - lr / (1 - beta1^t) * m / denom

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "frost/optim/optimizer.hpp"

namespace frost::optim {

namespace detail {

// Adam's and AdamW's options differ only in the default weight decay (PyTorch's 0 and 1e-2); one
// aggregate template keeps both usable with designated initialisers. The default comes from a
// tag type, not a `double` template argument, which Clang before 18 does not accept.
struct AdamDefaults {
  static constexpr double weight_decay = 0.0;
};
struct AdamWDefaults {
  static constexpr double weight_decay = 1e-2;
};

template <class Defaults>
struct AdamFamilyOptions {
  double lr = 1e-3;
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = Defaults::weight_decay;
  bool amsgrad = false;

  void validate(const char* op) const {
    check_finite_nonnegative(op, "learning rate", lr);
    check_finite_nonnegative(op, "eps", eps);
    check_finite_nonnegative(op, "weight_decay", weight_decay);
    for (std::size_t i = 0; i < 2; ++i)
      FROST_CHECK(betas[i] >= 0.0 && betas[i] < 1.0, op, "invalid beta parameter at index ", i,
                  ": ", betas[i], " (must be in [0, 1))");
  }

  // Every option by name, for state dicts (optim/state_dict.hpp).
  template <class Self, class Fn>
  static void fields(Self& self, Fn&& fn) {
    fn("lr", self.lr);
    fn("betas.0", self.betas[0]);
    fn("betas.1", self.betas[1]);
    fn("eps", self.eps);
    fn("weight_decay", self.weight_decay);
    fn("amsgrad", self.amsgrad);
  }
};

}  // namespace detail

using AdamOptions = detail::AdamFamilyOptions<detail::AdamDefaults>;
using AdamWOptions = detail::AdamFamilyOptions<detail::AdamWDefaults>;

struct AdamState {
  std::int64_t step = 0;
  Tensor<float> exp_avg;
  Tensor<float> exp_avg_sq;
  Tensor<float> max_exp_avg_sq;  // amsgrad only

  template <class Self, class Fn>
  static void fields(Self& self, Fn&& fn) {
    fn("step", self.step);
    fn("exp_avg", self.exp_avg);
    fn("exp_avg_sq", self.exp_avg_sq);
    fn("max_exp_avg_sq", self.max_exp_avg_sq);
  }
};

namespace detail {

// The shared Adam step after the weight-decay handling: `l2` is added to the gradient inside the
// loop (Adam) and `decay` multiplies the parameter before the update (AdamW).
template <class Options>
inline void adam_step(const Options& o, AdamState& state, const ParamUpdate& u, const float* grad,
                      float l2, float decay) {
  const Shape& shape = u.tensor->shape();
  // Each buffer on its own, so that any state a state dict loads is usable.
  if (!state.exp_avg.defined()) state.exp_avg = Tensor<float>::zeros(shape);
  if (!state.exp_avg_sq.defined()) state.exp_avg_sq = Tensor<float>::zeros(shape);
  if (o.amsgrad && !state.max_exp_avg_sq.defined())
    state.max_exp_avg_sq = Tensor<float>::zeros(shape);
  ++state.step;

  const double t = static_cast<double>(state.step);
  const double bias_correction1 = 1.0 - std::pow(o.betas[0], t);
  const double bias_correction2 = 1.0 - std::pow(o.betas[1], t);
  const auto step_size = static_cast<float>(o.lr / bias_correction1);
  const auto bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  const auto beta1 = static_cast<float>(o.betas[0]), beta2 = static_cast<float>(o.betas[1]);
  const auto one_minus_beta1 = static_cast<float>(1.0 - o.betas[0]);
  const auto one_minus_beta2 = static_cast<float>(1.0 - o.betas[1]);
  const auto eps = static_cast<float>(o.eps);

  float* param = u.param;
  float* m = state.exp_avg.data();
  float* v = state.exp_avg_sq.data();
  float* v_max = o.amsgrad ? state.max_exp_avg_sq.data() : nullptr;
  // AMSGrad as a template parameter keeps the loop branch-free.
  auto run = [&](auto amsgrad) {
    for_each_chunk(u.numel, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t k = lo; k < hi; ++k) {
        const float p = param[k] * decay;
        const float g = grad[k] + l2 * p;
        const float mk = beta1 * m[k] + one_minus_beta1 * g;
        float vk = beta2 * v[k] + one_minus_beta2 * g * g;
        m[k] = mk;
        v[k] = vk;
        if constexpr (amsgrad) vk = v_max[k] = std::max(v_max[k], vk);
        const float denom = std::sqrt(vk) / bias_correction2_sqrt + eps;
        param[k] = p - step_size * (mk / denom);
      }
    });
  };
  if (o.amsgrad)
    run(std::true_type{});
  else
    run(std::false_type{});
}

}  // namespace detail

class Adam : public BasicOptimizer<AdamOptions, AdamState> {
 public:
  Adam(std::vector<Tensor<float>> params, const AdamOptions& options)
      : BasicOptimizer("Adam", options) {
    add_params(std::move(params));
  }
  Adam(std::vector<ParamGroupSpec> groups, const AdamOptions& defaults)
      : BasicOptimizer("Adam", defaults) {
    add_groups(std::move(groups));
  }

 protected:
  void update(const AdamOptions& o, AdamState& state, const ParamUpdate& u) override {
    const auto wd = static_cast<float>(o.weight_decay);
    // A gradient transform (GradBoost) sees the gradient with the L2 term already added.
    if (transforms_gradient())
      detail::adam_step(o, state, u, transformed_gradient(u, wd), 0.0f, 1.0f);
    else
      detail::adam_step(o, state, u, u.grad, wd, 1.0f);
  }
};

class AdamW : public BasicOptimizer<AdamWOptions, AdamState> {
 public:
  AdamW(std::vector<Tensor<float>> params, const AdamWOptions& options)
      : BasicOptimizer("AdamW", options) {
    add_params(std::move(params));
  }
  AdamW(std::vector<ParamGroupSpec> groups, const AdamWOptions& defaults)
      : BasicOptimizer("AdamW", defaults) {
    add_groups(std::move(groups));
  }

 protected:
  void update(const AdamWOptions& o, AdamState& state, const ParamUpdate& u) override {
    const auto decay = static_cast<float>(1.0 - o.lr * o.weight_decay);
    if (!transforms_gradient()) {
      detail::adam_step(o, state, u, u.grad, 0.0f, decay);
      return;
    }
    // A gradient transform (GradBoost) runs after the decoupled decay, so decay first.
    float* param = u.param;
    detail::for_each_chunk(u.numel, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t k = lo; k < hi; ++k) param[k] *= decay;
    });
    detail::adam_step(o, state, u, transformed_gradient(u, 0.0f), 0.0f, 1.0f);
  }
};

}  // namespace frost::optim
