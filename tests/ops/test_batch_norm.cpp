// frost::batch_norm2d: gradcheck in training and eval, values and running-statistics updates
// against plain loops of PyTorch's formulas, and shape errors.

#include <frost/autograd/gradcheck.hpp>
#include <frost/core/tensor.hpp>
#include <frost/ops/batch_norm.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

using Catch::Matchers::Contains;
using frost::Shape;
using frost::Tensor;
using Inputs = std::vector<Tensor<double>>;

namespace {

Tensor<double> random_tensor(const Shape& shape, std::uint64_t seed, double low = -1,
                             double high = 1) {
  frost::Generator gen(seed);
  return Tensor<double>::uniform(shape, low, high, gen);
}

}  // namespace

TEST_CASE("batch_norm2d: gradcheck in training, with and without affine parameters",
          "[ops][batch_norm][gradcheck]") {
  auto x = random_tensor({3, 2, 3, 2}, 1, -2, 2).requires_grad_();
  auto w = random_tensor({2}, 2).requires_grad_();
  auto b = random_tensor({2}, 3).requires_grad_();
  auto result = frost::gradcheck(
      [](const Inputs& in) { return frost::batch_norm2d(in[0], in[1], in[2], {}, {}, true); },
      {x, w, b});
  INFO(result.message);
  REQUIRE(result.ok);
  result = frost::gradcheck(
      [](const Inputs& in) { return frost::batch_norm2d(in[0], {}, {}, {}, {}, true); }, {x});
  INFO(result.message);
  REQUIRE(result.ok);
}

TEST_CASE("batch_norm2d: gradcheck in eval uses the running statistics",
          "[ops][batch_norm][gradcheck]") {
  auto x = random_tensor({2, 3, 2, 2}, 4).requires_grad_();
  auto w = random_tensor({3}, 5).requires_grad_();
  auto b = random_tensor({3}, 6).requires_grad_();
  const auto rm = random_tensor({3}, 7), rv = random_tensor({3}, 8, 0.5, 2);
  const auto result = frost::gradcheck(
      [&](const Inputs& in) { return frost::batch_norm2d(in[0], in[1], in[2], rm, rv, false); },
      {x, w, b});
  INFO(result.message);
  REQUIRE(result.ok);
}

TEST_CASE("batch_norm2d: training values and the running-statistics update", "[ops][batch_norm]") {
  const auto x = random_tensor({4, 2, 3, 3}, 10, -1, 3).cast<float>();
  const auto w = Tensor<float>::from_vector({2, 0.5f}, {2}),
             b = Tensor<float>::from_vector({0, 1}, {2});
  auto rm = Tensor<float>::zeros({2}), rv = Tensor<float>::ones({2});
  const Tensor<float> y = frost::batch_norm2d(x, w, b, rm, rv, true);
  for (std::int64_t c = 0; c < 2; ++c) {
    double sum = 0, sq = 0;
    const std::int64_t M = 4 * 9;
    for (std::int64_t n = 0; n < 4; ++n)
      for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t j = 0; j < 3; ++j) sum += x.at({n, c, i, j});
    const double mean = sum / M;
    for (std::int64_t n = 0; n < 4; ++n)
      for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t j = 0; j < 3; ++j)
          sq += (x.at({n, c, i, j}) - mean) * (x.at({n, c, i, j}) - mean);
    const double var = sq / M;
    CHECK(rm.at({c}) == Approx(0.1 * mean).margin(1e-6));
    CHECK(rv.at({c}) == Approx(0.9 + 0.1 * var * M / (M - 1)).epsilon(1e-5));
    for (std::int64_t n = 0; n < 4; ++n)
      CHECK(y.at({n, c, 1, 2}) ==
            Approx((x.at({n, c, 1, 2}) - mean) / std::sqrt(var + 1e-5) * w.at({c}) + b.at({c}))
                .margin(1e-5));
  }
  // Eval with those statistics: a per-channel affine map.
  const Tensor<float> z = frost::batch_norm2d(x, w, b, rm, rv, false, 0.1, 1e-3);
  CHECK(z.at({1, 1, 0, 0}) ==
        Approx((x.at({1, 1, 0, 0}) - rm.at({1})) / std::sqrt(rv.at({1}) + 1e-3) * 0.5 + 1)
            .margin(1e-6));
}

TEST_CASE("batch_norm2d: shape errors name the op and the shapes", "[ops][batch_norm]") {
  const auto x = Tensor<float>::zeros({2, 3, 4, 4});
  CHECK_THROWS_WITH(
      frost::batch_norm2d(x, Tensor<float>::ones({4}), {}, {}, {}, true),
      Contains("batch_norm2d") && Contains("weight shape [4]") && Contains("[2, 3, 4, 4]"));
  CHECK_THROWS_WITH(frost::batch_norm2d(x, {}, {}, Tensor<float>::zeros({3}), {}, true),
                    Contains("batch_norm2d") && Contains("together"));
  CHECK_THROWS_WITH(frost::batch_norm2d(Tensor<float>::zeros({1, 3, 1, 1}), {}, {}, {}, {}, true),
                    Contains("batch_norm2d") && Contains("more than 1 value per channel"));
}
