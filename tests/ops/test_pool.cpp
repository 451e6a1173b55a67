// frost::max_pool2d / avg_pool2d / adaptive_avg_pool2d: gradcheck (double), hand-computed
// PyTorch values, default stride, and shape errors.

#include <frost/autograd/gradcheck.hpp>
#include <frost/core/tensor.hpp>
#include <frost/ops/pool.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using Catch::Matchers::Contains;
using frost::Shape;
using frost::Tensor;
using Inputs = std::vector<Tensor<double>>;

namespace {

// Distinct values (a shuffled ramp) so that max pooling has no ties for finite differences to
// straddle.
Tensor<double> distinct_tensor(const Shape& shape, std::uint64_t seed) {
  Tensor<double> t = Tensor<double>::empty(shape);
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.01 * static_cast<double>(i);
  frost::Generator gen(seed);
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[gen.uniform_int(i)]);
  std::copy(v.begin(), v.end(), t.data());
  return t;
}

}  // namespace

TEST_CASE("max_pool2d: gradcheck over kernel, stride, padding, dilation, ceil_mode",
          "[ops][pool][gradcheck]") {
  auto x = distinct_tensor({2, 2, 7, 6}, 1).requires_grad_();
  for (int k : {2, 3})
    for (int stride : {1, 2})
      for (int padding : {0, 1})
        for (int dilation : {1, 2})
          for (bool ceil_mode : {false, true}) {
            INFO("k " << k << " stride " << stride << " padding " << padding << " dilation "
                      << dilation);
            const auto result = frost::gradcheck(
                [&](const Inputs& in) {
                  return frost::max_pool2d(in[0], k, stride, padding, dilation, ceil_mode);
                },
                {x});
            INFO(result.message);
            REQUIRE(result.ok);
          }
}

TEST_CASE("avg_pool2d and adaptive_avg_pool2d: gradcheck", "[ops][pool][gradcheck]") {
  frost::Generator gen(2);
  auto x = Tensor<double>::randn({2, 2, 7, 6}, gen).requires_grad_();
  for (bool include_pad : {false, true})
    for (bool ceil_mode : {false, true}) {
      const auto result = frost::gradcheck(
          [&](const Inputs& in) {
            return frost::avg_pool2d(in[0], 3, 2, 1, ceil_mode, include_pad);
          },
          {x});
      INFO(result.message);
      REQUIRE(result.ok);
    }
  for (frost::Size2d out : {frost::Size2d{1}, frost::Size2d{3, 4}, frost::Size2d{8, 8}})
    REQUIRE(frost::gradcheck(
        [&](const Inputs& in) { return frost::adaptive_avg_pool2d(in[0], out); }, {x}));
}

TEST_CASE("pooling: PyTorch values and default stride", "[ops][pool]") {
  // 4x4 ramp 1..16.
  const auto x = Tensor<float>::arange(1, 17).reshape({1, 1, 4, 4});
  const Tensor<float> m = frost::max_pool2d(x, 2);  // stride defaults to the kernel
  REQUIRE(m.shape() == Shape{1, 1, 2, 2});
  CHECK(m.at({0, 0, 0, 0}) == 6);
  CHECK(m.at({0, 0, 1, 1}) == 16);
  const Tensor<float> a = frost::avg_pool2d(x, 3, 2, 1);
  CHECK(a.at({0, 0, 0, 0}) == Approx(14.0 / 9));
  CHECK(frost::avg_pool2d(x, 3, 2, 1, false, false).at({0, 0, 1, 0}) == Approx(9.5));
  const Tensor<float> g = frost::adaptive_avg_pool2d(x, 1);
  CHECK(g.shape() == Shape{1, 1, 1, 1});
  CHECK(g.item() == Approx(8.5));
  CHECK(frost::max_pool2d(x, frost::Size2d{1, 2}, frost::Size2d{1, 2}).shape() ==
        Shape{1, 1, 4, 2});
}

TEST_CASE("pooling: shape errors name the op and the shapes", "[ops][pool]") {
  CHECK_THROWS_WITH(frost::max_pool2d(Tensor<float>::zeros({3, 4, 4}), 2),
                    Contains("max_pool2d") && Contains("[3, 4, 4]"));
  CHECK_THROWS_WITH(frost::max_pool2d(Tensor<float>::zeros({1, 1, 2, 2}), 3),
                    Contains("max_pool2d") && Contains("[1, 1, 2, 2]"));
  CHECK_THROWS_WITH(frost::avg_pool2d(Tensor<float>::zeros({1, 1, 4, 4}), 2, 2, 2),
                    Contains("avg_pool2d") && Contains("at most half"));
  CHECK_THROWS_WITH(
      frost::adaptive_avg_pool2d(Tensor<float>::zeros({1, 2, 4, 4}), frost::Size2d{0, 1}),
      Contains("adaptive_avg_pool2d") && Contains("[1, 2, 4, 4]"));
}
