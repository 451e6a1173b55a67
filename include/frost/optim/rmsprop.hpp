#pragma once
// RMSprop. The default is torch.optim.RMSprop, step for step:
//
//   g   = g + weight_decay * p
//   v   = alpha * v + (1 - alpha) * g^2                 (v starts at 0)
//   c   = alpha * c + (1 - alpha) * g                   (centered only)
//   avg = sqrt(v - c^2) + eps                           (c = 0 unless centered)
//   b   = momentum * b + g / avg;  p = p - lr * b       (momentum > 0)
//   p   = p - lr * g / avg                              (momentum == 0)
//
// The TensorFlow form (TF's ApplyRMSProp / ApplyCenteredRMSProp, timm's RMSpropTF), as three
// independent switches that tensorflow_form() turns on together:
//   eps_inside_sqrt     avg = sqrt(v - c^2 + eps)
//   initial_square_avg  v starts at 1 (TF 1.x's RMSPropOptimizer), not 0
//   lr_in_momentum      b = momentum * b + lr * g / avg;  p = p - b
// (The last matters only when the learning rate changes: TF scales each step's contribution by
// the lr of that step, PyTorch scales the whole buffer by the current one.)

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "frost/optim/optimizer.hpp"

namespace frost::optim {

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
  bool eps_inside_sqrt = false;
  double initial_square_avg = 0.0;
  bool lr_in_momentum = false;

  // A copy with the three TensorFlow switches on.
  RMSpropOptions tensorflow_form() const {
    RMSpropOptions o = *this;
    o.eps_inside_sqrt = true;
    o.initial_square_avg = 1.0;
    o.lr_in_momentum = true;
    return o;
  }

  void validate(const char* op) const {
    detail::check_finite_nonnegative(op, "learning rate", lr);
    detail::check_finite_nonnegative(op, "eps", eps);
    detail::check_finite_nonnegative(op, "weight_decay", weight_decay);
    detail::check_finite_nonnegative(op, "momentum", momentum);
    detail::check_finite_nonnegative(op, "initial_square_avg", initial_square_avg);
    FROST_CHECK(alpha >= 0.0 && alpha <= 1.0, op, "invalid alpha ", alpha, " (must be in [0, 1])");
  }

  // Every option by name, for state dicts (optim/state_dict.hpp).
  template <class Self, class Fn>
  static void fields(Self& self, Fn&& fn) {
    fn("lr", self.lr);
    fn("alpha", self.alpha);
    fn("eps", self.eps);
    fn("weight_decay", self.weight_decay);
    fn("momentum", self.momentum);
    fn("centered", self.centered);
    fn("eps_inside_sqrt", self.eps_inside_sqrt);
    fn("initial_square_avg", self.initial_square_avg);
    fn("lr_in_momentum", self.lr_in_momentum);
  }
};

struct RMSpropState {
  std::int64_t step = 0;
  Tensor<float> square_avg;
  Tensor<float> grad_avg;         // centered only
  Tensor<float> momentum_buffer;  // momentum > 0 only

  template <class Self, class Fn>
  static void fields(Self& self, Fn&& fn) {
    fn("step", self.step);
    fn("square_avg", self.square_avg);
    fn("grad_avg", self.grad_avg);
    fn("momentum_buffer", self.momentum_buffer);
  }
};

class RMSprop : public BasicOptimizer<RMSpropOptions, RMSpropState> {
 public:
  RMSprop(std::vector<Tensor<float>> params, const RMSpropOptions& options)
      : BasicOptimizer("RMSprop", options) {
    add_params(std::move(params));
  }
  RMSprop(std::vector<ParamGroupSpec> groups, const RMSpropOptions& defaults)
      : BasicOptimizer("RMSprop", defaults) {
    add_groups(std::move(groups));
  }

 protected:
  void update(const RMSpropOptions& o, RMSpropState& state, const ParamUpdate& u) override {
    const Shape& shape = u.tensor->shape();
    // Buffers appear when first needed (also after set_options turns centering or momentum on).
    if (!state.square_avg.defined())
      state.square_avg = Tensor<float>::full(shape, static_cast<float>(o.initial_square_avg));
    if (o.centered && !state.grad_avg.defined()) state.grad_avg = Tensor<float>::zeros(shape);
    if (o.momentum > 0.0 && !state.momentum_buffer.defined())
      state.momentum_buffer = Tensor<float>::zeros(shape);
    ++state.step;

    // The noise of a gradient transform (GradBoost) goes in before the L2 term.
    const float* grad = transforms_gradient() ? transformed_gradient(u, 0.0f) : u.grad;
    float* param = u.param;
    float* square_avg = state.square_avg.data();
    float* grad_avg = state.grad_avg.data();
    float* buf = state.momentum_buffer.data();
    const auto lr = static_cast<float>(o.lr);
    const auto wd = static_cast<float>(o.weight_decay);
    const auto alpha = static_cast<float>(o.alpha);
    const auto one_minus_alpha = static_cast<float>(1.0 - o.alpha);
    const auto eps = static_cast<float>(o.eps);
    const auto mu = static_cast<float>(o.momentum);
    // eps goes either inside or outside the root; adding the other 0 is exact.
    const float eps_inside = o.eps_inside_sqrt ? eps : 0.0f;
    const float eps_outside = o.eps_inside_sqrt ? 0.0f : eps;
    // Momentum: b = mu * b + into_buffer * g / avg; p -= out_of_buffer * b (PyTorch scales at
    // use, TensorFlow when accumulating).
    const float into_buffer = o.lr_in_momentum ? lr : 1.0f;
    const float out_of_buffer = o.lr_in_momentum ? 1.0f : lr;

    // The two structural switches become template parameters so each loop is branch-free.
    auto run = [&](auto centered, auto momentum) {
      detail::for_each_chunk(u.numel, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t k = lo; k < hi; ++k) {
          const float g = grad[k] + wd * param[k];
          const float v = alpha * square_avg[k] + one_minus_alpha * g * g;
          square_avg[k] = v;
          float variance = v;
          if constexpr (centered) {
            const float c = alpha * grad_avg[k] + one_minus_alpha * g;
            grad_avg[k] = c;
            // Never negative in exact arithmetic; rounding must not turn it into a NaN.
            variance = std::max(v - c * c, 0.0f);
          }
          const float step = g / (std::sqrt(variance + eps_inside) + eps_outside);
          if constexpr (momentum) {
            buf[k] = mu * buf[k] + into_buffer * step;
            param[k] -= out_of_buffer * buf[k];
          } else {
            param[k] -= lr * step;
          }
        }
      });
    };
    const bool centered = o.centered, momentum = o.momentum > 0.0;
    using Yes = std::true_type;
    using No = std::false_type;
    if (centered && momentum)
      run(Yes{}, Yes{});
    else if (centered)
      run(Yes{}, No{});
    else if (momentum)
      run(No{}, Yes{});
    else
      run(No{}, No{});
  }
};

}  // namespace frost::optim
