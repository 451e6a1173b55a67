#include <frost/core/parallel.hpp>
#include <frost/core/rng.hpp>
#include <frost/optim/gradboost.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "optim_test_util.hpp"

using frost::Tensor;
using namespace frost::optim;
using namespace optim_test;

namespace {

// n elements, gradient +1, -1, +1, ... (every element has a sign).
std::vector<double> alternating(std::int64_t n) {
  std::vector<double> g(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = i % 2 ? -1.0 : 1.0;
  return g;
}

// With plain SGD at lr 1 and no decay, p_after = p_before - (g + noise).
std::vector<double> recovered_noise(const std::vector<double>& before,
                                    const std::vector<double>& after,
                                    const std::vector<double>& g) {
  std::vector<double> noise(g.size());
  for (std::size_t i = 0; i < g.size(); ++i) noise[i] = (before[i] - after[i]) - g[i];
  return noise;
}

}  // namespace

TEST_CASE("GradBoost warm-up: statistics only, the authors' arithmetic", "[optim][gradboost]") {
  auto p = param({1.0f, 2.0f, 3.0f, 4.0f}, {2, 2});
  QSGD opt({p}, {.lr = 0.1}, {.seed = 1});
  REQUIRE(opt.warmup());
  const std::vector<double> g1 = {0.5, -2.0, 0.0, 1.0}, g2 = {1.0, -1.0, 0.25, -3.0};
  set_grad(p, g1);
  opt.step();
  set_grad(p, g2);
  opt.step();
  // No noise: exactly SGD.
  require_close(values(p), {1 - 0.1 * (0.5 + 1.0), 2 - 0.1 * (-2.0 - 1.0), 3 - 0.1 * 0.25,
                            4 - 0.1 * (1.0 - 3.0)});
  const auto& s = opt.boost_state(0, 0);
  REQUIRE(s.step == 2);
  REQUIRE(s.restart_step == 0);
  // exp_min stays 0; exp_max: |g1| after step 1 (0.1 |g1| / 0.1), then
  // (0.9 |g1| + 0.1 max(|g1|, |g2|)) / 0.19.
  require_close(values(s.exp_min), {0, 0, 0, 0});
  require_close(values(s.exp_max),
                {(0.45 + 0.1) / 0.19, (1.8 + 0.2) / 0.19, 0.025 / 0.19, (0.9 + 0.3) / 0.19});
}

TEST_CASE("GradBoost noise: sign-aligned |Laplace| scaled by the decaying sensitivity",
          "[optim][gradboost]") {
  const std::int64_t n = 40000;
  const auto g = alternating(n);
  auto p = Tensor<float>::zeros({n}).requires_grad_();
  const double noise_decay = 0.5;
  QSGD opt({p}, {.lr = 1.0},
           {.clip_by = 0.0, .noise_decay = noise_decay, .toss_coin = false, .seed = 7});
  set_grad(p, g);
  opt.step();  // warm-up step: exp_max = 1
  opt.set_warmup(false);
  for (int r = 1; r <= 3; ++r) {
    INFO("boosted step " << r);
    const auto before = values(p);
    set_grad(p, g);
    opt.step();
    const auto noise = recovered_noise(before, values(p), g);
    const auto& s = opt.boost_state(0, 0);
    REQUIRE(s.restart_step == r);
    const double sensitivity =
        (values(s.exp_max)[0] - values(s.exp_min)[0]) * std::pow(1 - noise_decay, r);
    double mean = 0, above_median = 0;
    std::int64_t against_gradient = 0;
    for (std::size_t i = 0; i < noise.size(); ++i) {
      against_gradient += noise[i] * g[i] < 0;
      const double magnitude = std::abs(noise[i]) / sensitivity;
      mean += magnitude;
      above_median += magnitude > std::log(2.0);
    }
    REQUIRE(against_gradient == 0);
    // |Laplace(0, 1)| is Exponential(1): mean 1, median ln 2. 40000 draws: standard errors 0.005,
    // 0.0025.
    REQUIRE(mean / n == Approx(1.0).margin(0.03));
    REQUIRE(above_median / n == Approx(0.5).margin(0.015));
  }
}

TEST_CASE("GradBoost bias-corrected variant: plain averages, corrected on read",
          "[optim][gradboost]") {
  auto p = param({1.0f, 2.0f, 3.0f, 4.0f}, {2, 2});
  QSGD opt({p}, {.lr = 0.1}, {.seed = 1, .bias_corrected = true});
  const std::vector<double> g1 = {0.5, -2.0, 0.0, 1.0}, g2 = {1.0, -1.0, 0.25, -3.0};
  set_grad(p, g1);
  opt.step();
  const auto& s = opt.boost_state(0, 0);
  // Step 1 has no previous estimate: both averages take (1 - beta) |g1|.
  require_close(values(s.exp_min), {0.05, 0.2, 0.0, 0.1});
  require_close(values(s.exp_max), {0.05, 0.2, 0.0, 0.1});
  set_grad(p, g2);
  opt.step();
  // Step 2 compares |g2| with the corrected step-1 estimate |g1|: 0.9 * 0.1 |g1| + 0.1 min / max.
  require_close(values(s.exp_min), {0.045 + 0.05, 0.18 + 0.1, 0.0, 0.09 + 0.1});
  require_close(values(s.exp_max), {0.045 + 0.1, 0.18 + 0.2, 0.025, 0.09 + 0.3});
  // Warm-up: no noise, exactly SGD, as in the authors' arithmetic.
  require_close(values(p), {1 - 0.1 * (0.5 + 1.0), 2 - 0.1 * (-2.0 - 1.0), 3 - 0.1 * 0.25,
                            4 - 0.1 * (1.0 - 3.0)});
}

TEST_CASE("GradBoost bias-corrected variant: the boost follows the spread of |g|",
          "[optim][gradboost]") {
  const std::int64_t n = 40000;
  const auto g = alternating(n);
  const GradBoostOptions options{.clip_by = 0.0, .noise_decay = 0.5, .toss_coin = false, .seed = 7};

  SECTION("constant |g|: no boost, where the authors' arithmetic boosts") {
    for (const bool corrected : {false, true}) {
      INFO("bias_corrected " << corrected);
      auto p = Tensor<float>::zeros({n}).requires_grad_();
      GradBoostOptions o = options;
      o.bias_corrected = corrected;
      QSGD opt({p}, {.lr = 1.0}, o);
      set_grad(p, g);
      opt.step();
      opt.set_warmup(false);
      const auto before = values(p);
      set_grad(p, g);
      opt.step();
      const auto noise = recovered_noise(before, values(p), g);
      const double largest =
          std::abs(*std::max_element(noise.begin(), noise.end(),
                                     [](double a, double b) { return std::abs(a) < std::abs(b); }));
      if (corrected)
        REQUIRE(largest < 1e-6);  // 0.1f * 10 may round above 1: a rounding-sized spread at most
      else
        REQUIRE(largest > 0.1);  // exp_max = 1, exp_min = 0: sensitivity 0.5
    }
  }
  SECTION("|g| from 1 to 2: sensitivity (0.29 - 0.19) / 0.19 * 0.5") {
    auto p = Tensor<float>::zeros({n}).requires_grad_();
    GradBoostOptions o = options;
    o.bias_corrected = true;
    QSGD opt({p}, {.lr = 1.0}, o);
    set_grad(p, g);
    opt.step();  // exp_min = exp_max = 0.1
    opt.set_warmup(false);
    std::vector<double> g2 = g;
    for (double& v : g2) v *= 2.0;
    const auto before = values(p);
    set_grad(p, g2);
    opt.step();  // exp_min = 0.09 + 0.1 * min(1, 2), exp_max = 0.09 + 0.1 * max(1, 2)
    const auto noise = recovered_noise(before, values(p), g2);
    const double sensitivity = (0.29 - 0.19) / 0.19 * 0.5;
    double mean = 0;
    std::int64_t against_gradient = 0;
    for (std::size_t i = 0; i < noise.size(); ++i) {
      against_gradient += noise[i] * g2[i] < 0;
      mean += std::abs(noise[i]) / sensitivity;
    }
    REQUIRE(against_gradient == 0);
    REQUIRE(mean / n == Approx(1.0).margin(0.03));  // Exponential(1): mean 1, s.e. 0.005
  }
}

TEST_CASE("GradBoost noise: coin toss and clipping", "[optim][gradboost]") {
  const std::int64_t n = 40000;
  const auto g = alternating(n);
  auto p = Tensor<float>::zeros({n}).requires_grad_();
  const double clip = 1e-2;
  QSGD opt({p}, {.lr = 1.0}, {.clip_by = clip, .seed = 3});
  opt.set_warmup(false);  // QAT from scratch without the float phase
  set_grad(p, g);
  opt.step();
  // Step 1: exp_max = 1, sensitivity 0.99, so nearly every drawn noise exceeds the clip.
  const auto noise = recovered_noise(std::vector<double>(n, 0.0), values(p), g);
  double zeros = 0, max_magnitude = 0;
  std::int64_t against_gradient = 0;
  for (std::size_t i = 0; i < noise.size(); ++i) {
    max_magnitude = std::max(max_magnitude, std::abs(noise[i]));
    against_gradient += noise[i] * g[i] < 0;
    zeros += noise[i] == 0;
  }
  REQUIRE(max_magnitude == Approx(clip).epsilon(1e-4));
  REQUIRE(against_gradient == 0);
  REQUIRE(zeros / n == Approx(0.5).margin(0.015));
}

TEST_CASE("GradBoost sees the gradient where the authors add the noise", "[optim][gradboost]") {
  // exp_max after one step is |g| as the boost saw it.
  const double p0 = 2.0, g0 = 0.5, wd = 0.25;
  auto p = param({static_cast<float>(p0)}, {1});
  SECTION("QSGD: before L2") {
    QSGD opt({p}, {.lr = 0.1, .weight_decay = wd});
    set_grad(p, {g0});
    opt.step();
    require_close(values(opt.boost_state(0, 0).exp_max), {g0});
  }
  SECTION("QRMSprop: before L2") {
    QRMSprop opt({p}, {.lr = 0.1, .weight_decay = wd});
    set_grad(p, {g0});
    opt.step();
    require_close(values(opt.boost_state(0, 0).exp_max), {g0});
  }
  SECTION("QAdam: after L2") {
    QAdam opt({p}, {.lr = 0.1, .weight_decay = wd});
    set_grad(p, {g0});
    opt.step();
    require_close(values(opt.boost_state(0, 0).exp_max), {g0 + wd * p0});
  }
  SECTION("QAdamW: the raw gradient, after the decoupled decay") {
    QAdamW opt({p}, {.lr = 0.1, .weight_decay = wd});
    set_grad(p, {g0});
    opt.step();
    require_close(values(opt.boost_state(0, 0).exp_max), {g0});
    require_close(values(p), {p0 * (1 - 0.1 * wd) - 0.1});
  }
}

TEST_CASE("GradBoost is deterministic for a seed, whatever the thread count",
          "[optim][gradboost]") {
  const std::int64_t n = 3 * QAdam::kNoiseChunk + 5;
  frost::Generator gen(5);
  const auto start = Tensor<float>::randn({n}, gen);
  const auto grad = Tensor<float>::randn({n}, gen);
  auto run = [&](int threads, std::optional<std::uint64_t> seed) {
    frost::set_num_threads(threads);
    auto p = start.clone().requires_grad_();
    QAdam opt({p}, {.lr = 0.01}, {.clip_by = 0.0, .seed = seed});
    opt.set_warmup(false);
    for (int s = 0; s < 3; ++s) {
      p.set_grad(grad.clone());
      opt.step();
    }
    return values(p);
  };
  const int saved = frost::num_threads();
  const auto one = run(1, 42);
  const auto two = run(2, 42);
  const auto other = run(2, 43);
  frost::manual_seed(9);
  const auto from_default_a = run(2, std::nullopt);
  frost::manual_seed(9);
  const auto from_default_b = run(1, std::nullopt);
  frost::set_num_threads(saved);
  REQUIRE(one == two);
  REQUIRE(one != other);
  REQUIRE(from_default_a == from_default_b);
}

TEST_CASE("GradBoost rejects bad options", "[optim][gradboost][error]") {
  auto p = param({1.0f}, {1});
  REQUIRE_THROWS_WITH(QSGD({p}, {.lr = 0.1}, {.beta = 1.0}),
                      Catch::Contains("SGD") && Catch::Contains("beta"));
  REQUIRE_THROWS_WITH(QAdam({p}, {}, {.clip_by = -1e-3}),
                      Catch::Contains("Adam") && Catch::Contains("clip_by"));
  REQUIRE_THROWS_WITH(QRMSprop({p}, {}, {.noise_decay = 1.5}), Catch::Contains("noise_decay"));
  REQUIRE_THROWS_AS(QAdamW({p}, {.lr = -1.0}), frost::Error);
  QSGD opt({p}, {.lr = 0.1});
  REQUIRE_THROWS_AS(opt.boost_state(0, 1), frost::Error);
  REQUIRE_THROWS_AS(opt.boost_state(1, 0), frost::Error);
  REQUIRE(opt.boost_state(0, 0).step == 0);
}

TEST_CASE("GradBoost: the authors' defaults and weight-decay groups", "[optim][gradboost]") {
  const auto sgd = QSGD::authors_defaults(5e-3);
  REQUIRE(sgd.lr == 5e-3);
  REQUIRE(sgd.momentum == 0.9);
  REQUIRE(sgd.nesterov);
  const auto rms = QRMSprop::authors_defaults(1e-2);
  REQUIRE((rms.alpha == 0.9 && rms.momentum == 0.9 && rms.eps == 1e-8 && !rms.centered));
  const auto adam = QAdamW::authors_defaults(1e-3);
  REQUIRE((adam.betas[0] == 0.9 && adam.betas[1] == 0.999 && adam.eps == 1e-8 &&
           adam.weight_decay == 1e-2));

  const auto depthwise = Tensor<float>::ones({8, 1, 3, 3}).requires_grad_();
  const auto pointwise = Tensor<float>::ones({16, 8, 1, 1}).requires_grad_();
  const auto linear = Tensor<float>::ones({10, 16}).requires_grad_();
  const auto bias = Tensor<float>::ones({10}).requires_grad_();
  const auto bn_weight = Tensor<float>::ones({16}).requires_grad_();
  const double wd = 1e-5;
  QSGD opt(authors_param_groups({depthwise, pointwise, linear, bias, bn_weight}, wd),
           QSGD::authors_defaults(5e-3));
  REQUIRE(opt.num_param_groups() == 3);
  REQUIRE(opt.params(0).size() == 1);
  REQUIRE(opt.params(0)[0].data() == depthwise.data());
  REQUIRE(opt.options(0).weight_decay == 0.0);
  REQUIRE(opt.params(1).size() == 2);
  REQUIRE(opt.options(1).weight_decay == wd);
  REQUIRE(opt.params(2).size() == 2);
  REQUIRE(opt.options(2).weight_decay == Approx(wd * 0.01));
  REQUIRE(opt.options(2).nesterov);
  REQUIRE(opt.lr(2) == 5e-3);
  REQUIRE_THROWS_AS(authors_param_groups({bias}, -1.0), frost::Error);
}
