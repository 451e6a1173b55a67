#include <frost/autograd/gradcheck.hpp>
#include <frost/core/tensor.hpp>
#include <frost/ops/dropout.hpp>
#include <frost/ops/elementwise.hpp>
#include <frost/ops/loss.hpp>
#include <frost/ops/reduction.hpp>
#include <frost/ops/shape_ops.hpp>
#include <frost/ops/softmax.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

using Catch::Matchers::Contains;
using frost::Shape;
using frost::Tensor;
using Inputs = std::vector<Tensor<double>>;

namespace {
template <class T>
std::vector<T> values(const Tensor<T>& t) {
  const Tensor<T> c = t.contiguous();
  return std::vector<T>(c.data(), c.data() + c.numel());
}
Tensor<double> leaf(const Shape& shape, std::uint64_t seed) {
  frost::Generator gen(seed);
  return Tensor<double>::randn(shape, gen).requires_grad_();
}
}  // namespace

TEST_CASE("cat, stack, split and chunk: values and views", "[ops][shape]") {
  auto a = Tensor<float>::arange(6.f).reshape({2, 3});
  auto b = Tensor<float>::from_vector({10, 11, 12, 13}, {2, 2});
  auto c = frost::cat({a, b}, 1);
  REQUIRE(c.shape() == Shape{2, 5});
  REQUIRE(values(c) == std::vector<float>{0, 1, 2, 10, 11, 3, 4, 5, 12, 13});
  REQUIRE(values(frost::cat({a, a.slice(0, 1, 2)}, 0)) ==
          std::vector<float>{0, 1, 2, 3, 4, 5, 3, 4, 5});
  auto s = frost::stack({a, a}, 1);
  REQUIRE(s.shape() == Shape{2, 2, 3});
  REQUIRE(values(s) == std::vector<float>{0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5});
  auto parts = frost::split(c, {3, 2}, 1);
  REQUIRE(parts.size() == 2);
  REQUIRE(values(parts[0]) == values(a));
  REQUIRE(values(parts[1]) == values(b));
  REQUIRE(parts[1].storage() == c.storage());
  auto pieces = frost::split(Tensor<float>::arange(7.f), 3);
  REQUIRE(pieces.size() == 3);
  REQUIRE(values(pieces[2]) == std::vector<float>{6});
  REQUIRE(frost::chunk(Tensor<float>::zeros({2, 6}), 3, 1)[1].shape() == Shape{2, 2});
  REQUIRE(frost::flatten(Tensor<float>::zeros({2, 3, 4}), 1).shape() == Shape{2, 12});
  REQUIRE(frost::reshape(a, {3, 2}).shape() == Shape{3, 2});
}

TEST_CASE("gradcheck: cat, stack, split, flatten, reshape", "[ops][shape][gradcheck]") {
  auto a = leaf({2, 3, 2}, 1), b = leaf({2, 1, 2}, 2);
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::cat({in[0], in[1]}, 1); }, {a, b}));
  REQUIRE(frost::gradcheck(
      [](const Inputs& in) {
        return frost::cat({in[1], in[0], in[1]}, -2) * 2.0;
      },
      {a, b}));
  REQUIRE(frost::gradcheck(
      [](const Inputs& in) {
        return frost::stack({in[0], in[0] * in[0]}, 0);
      },
      {a}));
  REQUIRE(frost::gradcheck(
      [](const Inputs& in) {
        auto p = frost::split(in[0], {1, 2}, 1);
        return p[0] * p[1].narrow(1, 1, 1) + p[1].narrow(1, 0, 1);
      },
      {a}));
  REQUIRE(frost::gradcheck(
      [](const Inputs& in) { return frost::flatten(in[0].transpose(0, 2), 1); }, {a}));
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::reshape(in[0], {3, -1}); }, {a}));
}

TEST_CASE("softmax and log_softmax: values and gradcheck", "[ops][softmax][gradcheck]") {
  auto x = Tensor<double>::from_vector({1, 2, 3, 1000, 1000, 1000}, {2, 3});
  auto ls = frost::log_softmax(x);
  const double l0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  REQUIRE(values(ls)[0] == Approx(1 - l0));
  REQUIRE(values(ls)[5] == Approx(-std::log(3.0)));  // stable for large logits
  auto sm = frost::softmax(x, 0);
  REQUIRE(values(sm)[0] == Approx(0.0).margin(1e-300));
  REQUIRE(values(sm)[3] == Approx(1.0));
  auto y = leaf({2, 3, 4}, 3);
  for (std::int64_t dim : {0, 1, 2}) {
    REQUIRE(
        frost::gradcheck([dim](const Inputs& in) { return frost::log_softmax(in[0], dim); }, {y}));
    REQUIRE(frost::gradcheck([dim](const Inputs& in) { return frost::softmax(in[0], dim); }, {y}));
  }
}

TEST_CASE("float softmax, log_softmax and cross_entropy rows on xsimd: every row length",
          "[ops][softmax][simd]") {
  for (std::int64_t n = 1; n <= 67; ++n) {
    INFO("row length " << n);
    std::vector<float> v(static_cast<std::size_t>(2 * n));
    for (std::int64_t i = 0; i < 2 * n; ++i)  // row 1 is row 0 + 80: the shift must cancel
      v[static_cast<std::size_t>(i)] =
          -6.0f + 0.37f * static_cast<float>(i % n) + (i >= n ? 80.0f : 0.0f);
    const auto x = Tensor<float>::from_vector(v, {2, n});
    const auto sm = frost::softmax(x);
    const auto ls = frost::log_softmax(x);
    for (std::int64_t r = 0; r < 2; ++r) {
      const float* row = v.data() + r * n;
      double sum = 0, largest = 1;
      for (std::int64_t j = 0; j < n; ++j) {
        sum += std::exp(static_cast<double>(row[j]) - 80.0 * r);
        largest = std::max(largest, std::abs(static_cast<double>(row[j])));
      }
      // x - lse is a float difference of numbers near |x|: a few of their ULPs is all a float
      // softmax can promise (and relative to the probability after exp).
      const double tol = 8 * std::numeric_limits<float>::epsilon() * largest;
      for (std::int64_t j = 0; j < n; ++j) {
        const double want_log = static_cast<double>(row[j]) - 80.0 * r - std::log(sum);
        CHECK(std::abs(ls.data()[r * n + j] - want_log) <= tol);
        CHECK(std::abs(sm.data()[r * n + j] - std::exp(want_log)) <= tol * std::exp(want_log));
      }
    }
    // cross_entropy's gradient is softmax - one_hot (mean over 2 rows: halved).
    auto logits = x.clone().requires_grad_();
    const auto targets = Tensor<std::int32_t>::from_vector({0, std::int32_t(n - 1)}, {2});
    frost::cross_entropy(logits, targets).backward();
    for (std::int64_t j = 0; j < n; ++j) {
      const double want = (sm.data()[j] - (j == 0 ? 1.0 : 0.0)) / 2;
      CHECK(std::abs(logits.grad().data()[j] - want) <= 1e-6);
    }
  }
  // -inf logits take no probability; +inf dominates.
  const float inf = std::numeric_limits<float>::infinity();
  const auto masked = frost::softmax(Tensor<float>::from_vector({-inf, 0.0f, -inf, 0.0f}, {4}));
  REQUIRE(masked.data()[0] == 0.0f);
  REQUIRE(masked.data()[1] == 0.5f);
}

TEST_CASE("cross_entropy against hand-computed numbers", "[ops][loss]") {
  // Row 0: logits (1, 2, 3), target 2; row 1: (1, 1, 1), target 0; row 2 ignored.
  auto logits = Tensor<double>::from_vector({1, 2, 3, 1, 1, 1, 0, 0, 5}, {3, 3}).requires_grad_();
  auto targets = Tensor<std::int32_t>::from_vector({2, 0, -100}, {3});
  // -log p_t: log(e + e^2 + e^3) - 3 = 0.407606, log(3e) - 1 = log(3) = 1.098612
  REQUIRE(frost::cross_entropy(logits, targets).item() ==
          Approx((0.40760596444438013 + 1.0986122886681098) / 2));
  auto none = frost::cross_entropy(logits, targets, 0.0, -100, frost::Reduction::none);
  REQUIRE(values(none)[0] == Approx(0.40760596444438013));
  REQUIRE(values(none)[1] == Approx(1.0986122886681098));
  REQUIRE(values(none)[2] == 0.0);
  REQUIRE(frost::cross_entropy(logits, targets, 0.0, -100, frost::Reduction::sum).item() ==
          Approx(0.40760596444438013 + 1.0986122886681098));

  // Label smoothing 0.1: loss = lse - 0.9 x_t - 0.1 mean(x); row 0: log(e + e^2 + e^3) - 2.9,
  // row 1: log(3e) - 1.
  auto smoothed = frost::cross_entropy(logits, targets, 0.1);
  REQUIRE(smoothed.item() == Approx((0.5076059644443802 + 1.0986122886681098) / 2));
  smoothed.backward();
  // d/dx_c = (p_c - 0.1/3 - 0.9 [c == t]) / 2 (two counted samples); ignored row gets 0.
  const std::vector<double> expected = {
      0.02834861991852357, 0.10569756886073219, -0.13404618877925567, -0.3, 0.15, 0.15, 0, 0, 0};
  const auto g = values(logits.grad());
  for (std::size_t i = 0; i < g.size(); ++i) REQUIRE(g[i] == Approx(expected[i]).margin(1e-12));

  // Spatial logits [N, C, H] with targets [N, H] equal the flattened form.
  auto spatial = Tensor<double>::randn({2, 3, 4});
  auto spatial_targets = Tensor<std::int32_t>::from_vector({0, 1, 2, 1, 2, 2, 0, -100}, {2, 4});
  auto flat = frost::cross_entropy(spatial.transpose(1, 2).reshape({8, 3}),
                                   spatial_targets.reshape({8}), 0.2);
  REQUIRE(frost::cross_entropy(spatial, spatial_targets, 0.2).item() == Approx(flat.item()));
}

TEST_CASE("gradcheck: cross_entropy and mse_loss", "[ops][loss][gradcheck]") {
  auto logits = leaf({5, 4}, 7);
  auto targets = Tensor<std::int32_t>::from_vector({3, 0, -1, 2, 1}, {5});
  for (double smoothing : {0.0, 0.25})
    for (auto reduction : {frost::Reduction::mean, frost::Reduction::sum, frost::Reduction::none}) {
      const auto r = frost::gradcheck(
          [&](const Inputs& in) {
            return frost::cross_entropy(in[0], targets, smoothing, -1, reduction);
          },
          {logits});
      INFO(r.message);
      REQUIRE(r.ok);
    }
  auto a = leaf({3, 4}, 8), b = leaf({3, 4}, 9);
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::mse_loss(in[0], in[1]); }, {a, b}));
  REQUIRE(frost::gradcheck(
      [](const Inputs& in) { return frost::mse_loss(in[0], in[1], frost::Reduction::none); },
      {a, b}));
  auto p = Tensor<double>::from_vector({1, 2}, {2}), q = Tensor<double>::from_vector({0, 4}, {2});
  REQUIRE(frost::mse_loss(p, q).item() == 2.5);
  REQUIRE(frost::mse_loss(p, q, frost::Reduction::sum).item() == 5.0);
}

TEST_CASE("dropout: scaling, statistics, determinism, gradient", "[ops][dropout]") {
  frost::Generator g1(5), g2(5);
  auto x = Tensor<double>::ones({10000}).requires_grad_();
  auto y = frost::dropout(x, 0.25, true, g1);
  const auto yv = values(y);
  int kept = 0;
  for (double v : yv) {
    REQUIRE((v == 0.0 || v == Approx(1 / 0.75)));
    kept += v != 0.0;
  }
  REQUIRE(kept > 7300);
  REQUIRE(kept < 7700);
  REQUIRE(values(frost::dropout(x, 0.25, true, g2)) == yv);
  frost::sum(y).backward();
  REQUIRE(values(x.grad()) == yv);  // d/dx of x * mask is the mask
  REQUIRE(frost::dropout(x, 0.5, false).storage() == x.storage());
  REQUIRE(values(frost::dropout(x.detach(), 1.0, true, g1)) == std::vector<double>(10000, 0.0));
  frost::Generator g3(9);
  REQUIRE(frost::gradcheck(
      [&](const Inputs& in) {
        frost::Generator g(9);
        return frost::dropout(in[0], 0.3, true, g);
      },
      {leaf({4, 5}, 10)}));
}

TEST_CASE("shape-op and loss errors name the op and both shapes", "[ops][errors]") {
  auto a = Tensor<float>::zeros({2, 3});
  REQUIRE_THROWS_WITH(frost::cat({a, Tensor<float>::zeros({3, 3})}, 1),
                      Contains("cat") && Contains("[2, 3]") && Contains("[3, 3]"));
  REQUIRE_THROWS_WITH(frost::stack({a, Tensor<float>::zeros({3, 2})}),
                      Contains("stack") && Contains("[2, 3]") && Contains("[3, 2]"));
  REQUIRE_THROWS_WITH(frost::split(a, {1, 1}, 1), Contains("split") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(frost::cross_entropy(a, Tensor<std::int32_t>::zeros({3})),
                      Contains("cross_entropy") && Contains("[2, 3]") && Contains("[3]"));
  REQUIRE_THROWS_WITH(frost::cross_entropy(a, Tensor<std::int32_t>::full({2}, 3)),
                      Contains("cross_entropy") && Contains("target 3") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(frost::mse_loss(a, Tensor<float>::zeros({3, 2})),
                      Contains("mse_loss") && Contains("[2, 3]") && Contains("[3, 2]"));
  REQUIRE_THROWS_WITH(frost::dropout(a, 1.5, true), Contains("dropout") && Contains("[2, 3]"));
}
