#include <frost/optim/rmsprop.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <vector>

#include "optim_test_util.hpp"

using frost::Tensor;
using frost::optim::RMSprop;
using frost::optim::RMSpropOptions;
using namespace optim_test;

namespace {

// torch.optim.RMSprop, and TensorFlow's ApplyRMSProp behind the three switches, on doubles.
struct ReferenceRMSprop {
  RMSpropOptions o;
  std::vector<double> square_avg, grad_avg, buf;

  void step(std::vector<double>& p, const std::vector<double>& g) {
    if (square_avg.empty()) {
      square_avg.assign(p.size(), o.initial_square_avg);
      grad_avg.assign(p.size(), 0.0);
      buf.assign(p.size(), 0.0);
    }
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double gi = g[i] + o.weight_decay * p[i];
      square_avg[i] = o.alpha * square_avg[i] + (1 - o.alpha) * gi * gi;
      double variance = square_avg[i];
      if (o.centered) {
        grad_avg[i] = o.alpha * grad_avg[i] + (1 - o.alpha) * gi;
        variance -= grad_avg[i] * grad_avg[i];
      }
      const double avg =
          o.eps_inside_sqrt ? std::sqrt(variance + o.eps) : std::sqrt(variance) + o.eps;
      if (o.momentum <= 0) {
        p[i] -= o.lr * gi / avg;
      } else if (o.lr_in_momentum) {
        buf[i] = o.momentum * buf[i] + o.lr * gi / avg;
        p[i] -= buf[i];
      } else {
        buf[i] = o.momentum * buf[i] + gi / avg;
        p[i] -= o.lr * buf[i];
      }
    }
  }
};

const std::vector<std::vector<double>> kGrads = {{0.5, -1.25, 2.0, 0.1, 0.75, -0.3},
                                                 {0.25, -0.5, -1.0, 0.4, 0.75, 0.1},
                                                 {-0.6, 1.5, 0.2, -0.4, 0.05, 0.9}};
const std::vector<float> kStart = {1.0f, -2.0f, 0.5f, 3.0f, -0.25f, 0.0f};

}  // namespace

TEST_CASE("RMSprop: hand-computed first step", "[optim][rmsprop]") {
  auto p = param({1.0f}, {1});
  SECTION("PyTorch form: v from 0, eps outside the root") {
    RMSprop opt({p}, {.lr = 0.01, .alpha = 0.9, .eps = 0.0});
    set_grad(p, {0.5});
    opt.step();
    require_close(values(p), {0.9683772233983162});  // 1 - 0.01 * 0.5 / sqrt(0.1 * 0.25)
  }
  SECTION("TensorFlow form: v from 1") {
    RMSprop opt({p}, RMSpropOptions{.lr = 0.01, .alpha = 0.9, .eps = 0.0}.tensorflow_form());
    set_grad(p, {0.5});
    opt.step();
    require_close(values(p), {0.9948012475508996});  // 1 - 0.01 * 0.5 / sqrt(0.9 + 0.025)
  }
}

TEST_CASE("RMSprop matches torch.optim.RMSprop and the TensorFlow form for three steps",
          "[optim][rmsprop]") {
  const RMSpropOptions options = GENERATE(
      RMSpropOptions{.lr = 0.01},  // PyTorch's defaults otherwise
      RMSpropOptions{.lr = 0.01, .alpha = 0.9, .eps = 1e-8, .momentum = 0.9},
      RMSpropOptions{.lr = 0.01, .alpha = 0.9, .eps = 1e-3, .weight_decay = 0.1, .centered = true},
      RMSpropOptions{.lr = 0.02,
                     .alpha = 0.8,
                     .eps = 1e-8,
                     .weight_decay = 0.01,
                     .momentum = 0.5,
                     .centered = true},
      // A large eps makes its placement visible.
      RMSpropOptions{.lr = 0.01, .alpha = 0.9, .eps = 0.1, .eps_inside_sqrt = true},
      RMSpropOptions{.lr = 0.01, .alpha = 0.9, .eps = 0.1, .momentum = 0.9}.tensorflow_form(),
      RMSpropOptions{.lr = 0.01,
                     .alpha = 0.9,
                     .eps = 1e-3,
                     .weight_decay = 0.05,
                     .momentum = 0.9,
                     .centered = true}
          .tensorflow_form());
  INFO("alpha " << options.alpha << " eps " << options.eps << " momentum " << options.momentum
                << " centered " << options.centered << " eps_inside_sqrt "
                << options.eps_inside_sqrt << " lr_in_momentum " << options.lr_in_momentum);
  auto p = param(kStart, {3, 2});
  RMSprop opt({p}, options);
  ReferenceRMSprop ref{options, {}, {}, {}};
  std::vector<double> expected = as_double(kStart);
  // The lr changes between steps: TF's lr_in_momentum and PyTorch's form then differ.
  const std::vector<double> lrs = {options.lr, options.lr * 0.5, options.lr * 2};
  for (std::size_t s = 0; s < kGrads.size(); ++s) {
    opt.set_lr(lrs[s]);
    ref.o.lr = lrs[s];
    set_grad(p, kGrads[s]);
    opt.step();
    ref.step(expected, kGrads[s]);
    require_close(values(p), expected);
  }
  const auto& state = opt.state(0, 0);
  REQUIRE(state.step == 3);
  require_close(values(state.square_avg), ref.square_avg);
  REQUIRE(state.grad_avg.defined() == options.centered);
  REQUIRE(state.momentum_buffer.defined() == (options.momentum > 0));
}

TEST_CASE("RMSprop: eps inside and outside the root give different steps", "[optim][rmsprop]") {
  auto a = param({1.0f}, {1});
  auto b = param({1.0f}, {1});
  RMSprop outside({a}, {.lr = 0.01, .alpha = 0.9, .eps = 0.01});
  RMSprop inside({b}, {.lr = 0.01, .alpha = 0.9, .eps = 0.01, .eps_inside_sqrt = true});
  set_grad(a, {0.5});
  set_grad(b, {0.5});
  outside.step();
  inside.step();
  require_close(values(a), {1.0 - 0.01 * 0.5 / (std::sqrt(0.025) + 0.01)});
  require_close(values(b), {1.0 - 0.01 * 0.5 / std::sqrt(0.025 + 0.01)});
}

TEST_CASE("RMSprop rejects bad options", "[optim][rmsprop][error]") {
  auto p = param({1.0f}, {1});
  REQUIRE_THROWS_WITH(RMSprop({p}, {.lr = -0.01}),
                      Catch::Contains("RMSprop") && Catch::Contains("learning rate"));
  REQUIRE_THROWS_WITH(RMSprop({p}, {.lr = 0.01, .alpha = 1.5}), Catch::Contains("alpha"));
  REQUIRE_THROWS_AS(RMSprop({p}, {.lr = 0.01, .alpha = -0.1}), frost::Error);
  REQUIRE_THROWS_AS(RMSprop({p}, {.lr = 0.01, .eps = -1e-8}), frost::Error);
  REQUIRE_THROWS_AS(RMSprop({p}, {.lr = 0.01, .momentum = -0.9}), frost::Error);
  REQUIRE_THROWS_AS(RMSprop({p}, {.lr = 0.01, .weight_decay = -1.0}), frost::Error);
}
