// nn::init: PyTorch's formulas, checked through the statistics of large samples.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "frost/nn/init.hpp"
#include "frost/nn/linear.hpp"

using frost::Tensor;
namespace init = frost::nn::init;

namespace {

struct Stats {
  double mean, std, min, max;
};

Stats stats(const Tensor<float>& t) {
  const Tensor<float> c = t.contiguous();
  double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
  for (std::int64_t i = 0; i < c.numel(); ++i) {
    const double v = c.data()[i];
    sum += v, sq += v * v, lo = std::min(lo, v), hi = std::max(hi, v);
  }
  const double n = static_cast<double>(c.numel());
  const double mean = sum / n;
  return {mean, std::sqrt(sq / n - mean * mean), lo, hi};
}

}  // namespace

TEST_CASE("init::calculate_gain and fans follow PyTorch", "[nn][init]") {
  CHECK(init::calculate_gain(init::Nonlinearity::kLinear) == 1.0);
  CHECK(init::calculate_gain(init::Nonlinearity::kTanh) == Approx(5.0 / 3.0));
  CHECK(init::calculate_gain(init::Nonlinearity::kReLU) == Approx(std::sqrt(2.0)));
  CHECK(init::calculate_gain(init::Nonlinearity::kLeakyReLU, std::sqrt(5.0)) ==
        Approx(std::sqrt(2.0 / 6.0)));
  const auto [fan_in, fan_out] =
      init::calculate_fan_in_and_fan_out(Tensor<float>::empty({16, 8, 3, 5}));
  CHECK(fan_in == 8 * 15);
  CHECK(fan_out == 16 * 15);
  CHECK_THROWS_WITH(init::calculate_fan_in_and_fan_out(Tensor<float>::empty({7})),
                    Catch::Contains("[7]"));
}

TEST_CASE("init::kaiming_normal_ has std gain / sqrt(fan)", "[nn][init]") {
  frost::Generator gen(1);
  Tensor<float> w = Tensor<float>::empty({128, 64, 3, 3});  // 73728 draws: std known to ~0.3 %
  init::kaiming_normal_(w, 0.0, init::FanMode::kFanOut, init::Nonlinearity::kReLU, gen);
  Stats s = stats(w);
  const double fan_out_std = std::sqrt(2.0 / (128 * 9));
  CHECK(s.std == Approx(fan_out_std).epsilon(0.02));
  CHECK(std::abs(s.mean) < 4 * fan_out_std / std::sqrt(73728.0));

  init::kaiming_normal_(w, 0.0, init::FanMode::kFanIn, init::Nonlinearity::kReLU, gen);
  CHECK(stats(w).std == Approx(std::sqrt(2.0 / (64 * 9))).epsilon(0.02));
}

TEST_CASE("init::kaiming_uniform_ and xavier bounds and variances", "[nn][init]") {
  frost::Generator gen(2);
  Tensor<float> w = Tensor<float>::empty({200, 300});
  init::kaiming_uniform_(w, 0.0, init::FanMode::kFanIn, init::Nonlinearity::kReLU, gen);
  const double bound = std::sqrt(3.0) * std::sqrt(2.0 / 300);
  Stats s = stats(w);
  CHECK(s.max <= bound);
  CHECK(s.min >= -bound);
  CHECK(s.max > 0.99 * bound);
  CHECK(s.std == Approx(bound / std::sqrt(3.0)).epsilon(0.02));

  init::xavier_uniform_(w, 1.0, gen);
  const double xavier_bound = std::sqrt(6.0 / 500);
  s = stats(w);
  CHECK(s.max <= xavier_bound);
  CHECK(s.max > 0.99 * xavier_bound);
  CHECK(s.std == Approx(xavier_bound / std::sqrt(3.0)).epsilon(0.02));

  init::xavier_normal_(w, 2.0, gen);
  CHECK(stats(w).std == Approx(2.0 * std::sqrt(2.0 / 500)).epsilon(0.02));
}

TEST_CASE("init::normal_, uniform_, constant_, zeros_, ones_", "[nn][init]") {
  frost::Generator gen(3);
  Tensor<float> t = Tensor<float>::empty({100000});
  init::normal_(t, 3.0, 2.0, gen);
  Stats s = stats(t);
  CHECK(s.mean == Approx(3.0).margin(4 * 2.0 / std::sqrt(1e5)));
  CHECK(s.std == Approx(2.0).epsilon(0.02));
  init::uniform_(t, -1.0, 2.0, gen);
  s = stats(t);
  CHECK(s.min >= -1.0);
  CHECK(s.max < 2.0);
  CHECK(s.mean == Approx(0.5).margin(0.02));

  init::constant_(t, 0.25f);
  CHECK(stats(t).min == 0.25);
  CHECK(stats(t).max == 0.25);
  init::zeros_(t);
  CHECK(stats(t).max == 0.0);
  init::ones_(t);
  CHECK(stats(t).min == 1.0);
  CHECK_THROWS_WITH(init::uniform_(t, 1.0, 0.0), Catch::Contains("init::uniform_"));
}

TEST_CASE("init fills views and parameters that require grad, reproducibly", "[nn][init]") {
  Tensor<float> base = Tensor<float>::zeros({3, 4});
  base.requires_grad_();
  Tensor<float> view = base.detach().t();  // non-contiguous
  init::constant_(view, 7.0f);
  CHECK(stats(base).min == 7.0);
  init::ones_(base);  // a leaf that requires grad, with grad mode on
  CHECK(stats(base).max == 1.0);

  Tensor<float> a = Tensor<float>::empty({50}), b = Tensor<float>::empty({50});
  frost::Generator g1(9), g2(9);
  init::kaiming_normal_(a.view({5, 10}), 0.0, init::FanMode::kFanIn, init::Nonlinearity::kReLU, g1);
  init::kaiming_normal_(b.view({5, 10}), 0.0, init::FanMode::kFanIn, init::Nonlinearity::kReLU, g2);
  CHECK(std::equal(a.data(), a.data() + 50, b.data()));
}

TEST_CASE("Linear's default init is U(-1/sqrt(in), 1/sqrt(in)) like PyTorch's", "[nn][init]") {
  frost::manual_seed(4);
  frost::nn::Linear layer(400, 300);
  const double bound = 1.0 / std::sqrt(400.0);
  const Stats w = stats(layer.weight()), b = stats(layer.bias());
  CHECK(w.max <= bound);
  CHECK(w.min >= -bound);
  CHECK(w.std == Approx(bound / std::sqrt(3.0)).epsilon(0.02));
  CHECK(b.max <= bound);
  CHECK(b.min >= -bound);
}
