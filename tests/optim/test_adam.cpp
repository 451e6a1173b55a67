#include <frost/optim/adam.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "optim_test_util.hpp"

using frost::Tensor;
using frost::optim::Adam;
using frost::optim::AdamOptions;
using frost::optim::AdamW;
using frost::optim::AdamWOptions;
using namespace optim_test;

namespace {

// Adam as in Kingma & Ba with PyTorch's weight decay (L2 through the gradient, or AdamW's
// decoupled p *= 1 - lr * wd), written in the textbook form m_hat / (sqrt(v_hat) + eps).
struct ReferenceAdam {
  AdamOptions o;
  bool decoupled = false;
  std::vector<double> m, v, v_max;
  int t = 0;

  void step(std::vector<double>& p, const std::vector<double>& g) {
    if (m.empty()) m.assign(p.size(), 0.0), v.assign(p.size(), 0.0), v_max.assign(p.size(), 0.0);
    ++t;
    const double b1 = o.betas[0], b2 = o.betas[1];
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (decoupled) p[i] *= 1 - o.lr * o.weight_decay;
      const double gi = decoupled ? g[i] : g[i] + o.weight_decay * p[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      v_max[i] = std::max(v_max[i], v[i]);
      const double m_hat = m[i] / (1 - std::pow(b1, t));
      const double v_hat = (o.amsgrad ? v_max[i] : v[i]) / (1 - std::pow(b2, t));
      p[i] -= o.lr * m_hat / (std::sqrt(v_hat) + o.eps);
    }
  }
};

// Large then small gradients: v decays, so AMSGrad's running maximum differs from v.
const std::vector<std::vector<double>> kGrads = {{2.0, -1.25, 3.0, 0.1, 0.75, -2.0},
                                                 {0.25, -0.05, -0.1, 0.4, 0.05, 0.1},
                                                 {-0.06, 0.15, 0.02, -0.04, 0.0, 0.09}};
const std::vector<float> kStart = {1.0f, -2.0f, 0.5f, 3.0f, -0.25f, 0.0f};

}  // namespace

TEST_CASE("Adam: hand-computed steps with bias correction", "[optim][adam]") {
  // With a constant gradient the bias-corrected moments are exactly g and g^2, so each step
  // moves by lr (up to eps).
  auto p = param({1.0f}, {1});
  Adam opt({p}, {.lr = 0.1, .eps = 0.0});
  set_grad(p, {0.5});
  opt.step();
  require_close(values(p), {0.9});  // m = 0.05, v = 0.00025; m_hat = 0.5, v_hat = 0.25
  opt.step();
  require_close(values(p), {0.8});  // m = 0.095 / 0.19, v = 0.00049975 / 0.001999
  REQUIRE(opt.state(0, 0).step == 2);
  require_close(values(opt.state(0, 0).exp_avg), {0.095});
  require_close(values(opt.state(0, 0).exp_avg_sq), {0.00049975});
}

TEST_CASE("AdamW decays the parameter, Adam the gradient", "[optim][adam]") {
  auto a = param({1.0f}, {1});
  auto w = param({1.0f}, {1});
  Adam adam({a}, {.lr = 0.1, .eps = 0.0, .weight_decay = 0.1});
  AdamW adamw({w}, {.lr = 0.1, .eps = 0.0, .weight_decay = 0.1});
  set_grad(a, {0.5});
  set_grad(w, {0.5});
  adam.step();
  adamw.step();
  require_close(values(a), {0.9});   // g = 0.5 + 0.1 * 1; the first step is lr * sign(g)
  require_close(values(w), {0.89});  // 1 * (1 - 0.1 * 0.1) - 0.1
  REQUIRE(AdamWOptions{}.weight_decay == 1e-2);  // PyTorch's AdamW default
  REQUIRE(AdamOptions{}.weight_decay == 0.0);
}

TEST_CASE("Adam and AdamW match PyTorch for three steps", "[optim][adam]") {
  const bool decoupled = GENERATE(false, true);
  const AdamOptions options =
      GENERATE(AdamOptions{.lr = 0.01}, AdamOptions{.lr = 0.01, .betas = {0.5, 0.9}, .eps = 1e-3},
               AdamOptions{.lr = 0.01, .weight_decay = 0.1},
               AdamOptions{.lr = 0.01, .betas = {0.9, 0.99}, .amsgrad = true},
               AdamOptions{.lr = 0.05, .betas = {0.8, 0.9}, .weight_decay = 0.05, .amsgrad = true});
  INFO((decoupled ? "AdamW" : "Adam")
       << " betas " << options.betas[0] << ", " << options.betas[1] << " eps " << options.eps
       << " weight_decay " << options.weight_decay << " amsgrad " << options.amsgrad);
  auto p = param(kStart, {2, 3});
  std::vector<double> expected = as_double(kStart);
  ReferenceAdam ref{options, decoupled, {}, {}, {}, 0};
  auto run = [&](frost::optim::Optimizer& opt) {
    for (const auto& g : kGrads) {
      set_grad(p, g);
      opt.step();
      ref.step(expected, g);
      require_close(values(p), expected);
    }
  };
  if (decoupled) {
    AdamW opt({p}, AdamWOptions{.lr = options.lr,
                                .betas = options.betas,
                                .eps = options.eps,
                                .weight_decay = options.weight_decay,
                                .amsgrad = options.amsgrad});
    run(opt);
    REQUIRE(opt.state(0, 0).max_exp_avg_sq.defined() == options.amsgrad);
  } else {
    Adam opt({p}, options);
    run(opt);
    REQUIRE(opt.state(0, 0).step == 3);
    require_close(values(opt.state(0, 0).exp_avg_sq), ref.v);
    if (options.amsgrad) require_close(values(opt.state(0, 0).max_exp_avg_sq), ref.v_max);
  }
}

TEST_CASE("Adam rejects bad options", "[optim][adam][error]") {
  auto p = param({1.0f}, {1});
  REQUIRE_THROWS_WITH(Adam({p}, {.lr = -1e-3}),
                      Catch::Contains("Adam") && Catch::Contains("learning rate"));
  REQUIRE_THROWS_WITH(Adam({p}, {.betas = {1.0, 0.999}}),
                      Catch::Contains("beta parameter at index 0"));
  REQUIRE_THROWS_WITH(Adam({p}, {.betas = {0.9, -0.1}}),
                      Catch::Contains("beta parameter at index 1"));
  REQUIRE_THROWS_AS(AdamW({p}, {.betas = {0.9, 1.5}}), frost::Error);
  REQUIRE_THROWS_WITH(AdamW({p}, {.lr = -1.0}), Catch::Contains("AdamW"));
  REQUIRE_THROWS_AS(Adam({p}, {.eps = -1e-8}), frost::Error);
  REQUIRE_THROWS_AS(AdamW({p}, {.weight_decay = -0.01}), frost::Error);
  REQUIRE_THROWS_AS(Adam({p}, {.lr = std::nan("")}), frost::Error);
}
