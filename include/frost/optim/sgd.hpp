#pragma once
// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
// step for step as torch.optim.SGD:
//
//   d = g + weight_decay * p
//   b = d                                   on the first step with momentum
//   b = momentum * b + (1 - dampening) * d  afterwards
//   d = nesterov ? d + momentum * b : b     (when momentum != 0)
//   p = p - lr * d
//
// Note the PyTorch form: the learning rate multiplies the momentum buffer at use, it is not
// accumulated into it, so changing lr mid-training takes effect at once.

#include <cstdint>
#include <utility>
#include <vector>

#include "frost/optim/optimizer.hpp"

namespace frost::optim {

struct SGDOptions {
  double lr = 1e-2;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;

  void validate(const char* op) const {
    detail::check_finite_nonnegative(op, "learning rate", lr);
    detail::check_finite_nonnegative(op, "momentum", momentum);
    detail::check_finite_nonnegative(op, "weight_decay", weight_decay);
    FROST_CHECK(std::isfinite(dampening), op, "invalid dampening ", dampening);
    FROST_CHECK(!nesterov || (momentum > 0.0 && dampening == 0.0), op,
                "Nesterov momentum requires momentum > 0 and dampening == 0, got momentum ",
                momentum, " and dampening ", dampening);
  }

  // Every option by name, for state dicts (optim/state_dict.hpp).
  template <class Self, class Fn>
  static void fields(Self& self, Fn&& fn) {
    fn("lr", self.lr);
    fn("momentum", self.momentum);
    fn("dampening", self.dampening);
    fn("weight_decay", self.weight_decay);
    fn("nesterov", self.nesterov);
  }
};

struct SGDState {
  Tensor<float> momentum_buffer;  // undefined until the first step with momentum

  template <class Self, class Fn>
  static void fields(Self& self, Fn&& fn) {
    fn("momentum_buffer", self.momentum_buffer);
  }
};

class SGD : public BasicOptimizer<SGDOptions, SGDState> {
 public:
  SGD(std::vector<Tensor<float>> params, const SGDOptions& options)
      : BasicOptimizer("SGD", options) {
    add_params(std::move(params));
  }
  SGD(std::vector<ParamGroupSpec> groups, const SGDOptions& defaults)
      : BasicOptimizer("SGD", defaults) {
    add_groups(std::move(groups));
  }

 protected:
  void update(const SGDOptions& o, SGDState& state, const ParamUpdate& u) override {
    // The noise of a gradient transform (GradBoost) goes in before the L2 term.
    const float* grad = transforms_gradient() ? transformed_gradient(u, 0.0f) : u.grad;
    float* param = u.param;
    const auto lr = static_cast<float>(o.lr);
    const auto wd = static_cast<float>(o.weight_decay);
    const auto mu = static_cast<float>(o.momentum);
    const auto keep = static_cast<float>(1.0 - o.dampening);
    const bool nesterov = o.nesterov;

    if (o.momentum == 0.0) {
      detail::for_each_chunk(u.numel, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t k = lo; k < hi; ++k) param[k] -= lr * (grad[k] + wd * param[k]);
      });
      return;
    }
    const bool first = !state.momentum_buffer.defined();
    if (first) state.momentum_buffer = Tensor<float>::empty(u.tensor->shape());
    float* buf = state.momentum_buffer.data();
    detail::for_each_chunk(u.numel, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t k = lo; k < hi; ++k) {
        const float d = grad[k] + wd * param[k];
        const float b = first ? d : mu * buf[k] + keep * d;
        buf[k] = b;
        param[k] -= lr * (nesterov ? d + mu * b : b);
      }
    });
  }
};

}  // namespace frost::optim
