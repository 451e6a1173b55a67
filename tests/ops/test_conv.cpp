// frost::conv2d: gradcheck (double) over stride, padding, dilation and groups (depthwise
// included), values against the naive reference of tests/kernels/test_fp32_reference.hpp, the
// PyTorch-style argument forms, and shape errors.

#include <frost/autograd/gradcheck.hpp>
#include <frost/core/tensor.hpp>
#include <frost/ops/conv.hpp>
#include <frost/ops/reduction.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "../kernels/test_fp32_reference.hpp"

using Catch::Matchers::Contains;
using frost::Shape;
using frost::Tensor;
using Inputs = std::vector<Tensor<double>>;

namespace {

template <class T>
Tensor<T> random_tensor(const Shape& shape, std::uint64_t seed) {
  frost::Generator gen(seed);
  return Tensor<T>::uniform(shape, T(-1), T(1), gen);
}

template <class T>
std::vector<T> values(const Tensor<T>& t) {
  const Tensor<T> c = t.contiguous();
  return std::vector<T>(c.data(), c.data() + c.numel());
}

}  // namespace

TEST_CASE("conv2d: gradcheck over stride, padding, dilation and groups", "[ops][conv][gradcheck]") {
  std::uint64_t seed = 1;
  for (int stride : {1, 2})
    for (int padding : {0, 1, 2})
      for (int dilation : {1, 2})
        for (std::int64_t groups : {1, 2, 4}) {
          // groups == 4 == channels == out channels: the depthwise kernels.
          const std::int64_t out_channels = groups == 4 ? 4 : 6;
          INFO("stride " << stride << " padding " << padding << " dilation " << dilation
                         << " groups " << groups);
          auto x = random_tensor<double>({2, 4, 6, 5}, seed++).requires_grad_();
          auto w = random_tensor<double>({out_channels, 4 / groups, 3, 3}, seed++).requires_grad_();
          auto b = random_tensor<double>({out_channels}, seed++).requires_grad_();
          const auto result = frost::gradcheck(
              [&](const Inputs& in) {
                return frost::conv2d(in[0], in[1], in[2], stride, padding, dilation, groups);
              },
              {x, w, b});
          INFO(result.message);
          REQUIRE(result.ok);
        }
}

TEST_CASE("conv2d: gradcheck for 1x1, rectangular and asymmetric settings",
          "[ops][conv][gradcheck]") {
  auto x = random_tensor<double>({2, 3, 5, 7}, 50).requires_grad_();
  auto w1 = random_tensor<double>({4, 3, 1, 1}, 51).requires_grad_();
  auto w2 = random_tensor<double>({4, 3, 2, 3}, 52).requires_grad_();
  auto w3 = random_tensor<double>({3, 1, 5, 5}, 53).requires_grad_();  // depthwise 5x5
  REQUIRE(frost::gradcheck([](const Inputs& in) { return frost::conv2d(in[0], in[1]); }, {x, w1}));
  REQUIRE(frost::gradcheck(
      [](const Inputs& in) {
        return frost::conv2d(in[0], in[1], {}, frost::Size2d{1, 2}, frost::Size2d{1, 0},
                             frost::Size2d{2, 1});
      },
      {x, w2}));
  REQUIRE(frost::gradcheck(
      [](const Inputs& in) { return frost::conv2d(in[0], in[1], {}, 2, 2, 1, 3); }, {x, w3}));
}

TEST_CASE("conv2d: values match the naive reference, float", "[ops][conv]") {
  frost_test::Conv2dGeometry g;
  g.batch = 2;
  g.in_channels = 4;
  g.input_height = 7;
  g.input_width = 6;
  g.out_channels = 6;
  g.kernel_height = g.kernel_width = 3;
  g.stride_height = g.stride_width = 2;
  g.padding_height = g.padding_width = 1;
  g.groups = 2;
  const auto x = random_tensor<float>({2, 4, 7, 6}, 60), w = random_tensor<float>({6, 2, 3, 3}, 61);
  const auto b = random_tensor<float>({6}, 62);
  const Tensor<float> y = frost::conv2d(x, w, b, 2, 1, 1, 2);
  REQUIRE(y.shape() == Shape{2, 6, 4, 3});
  const auto bv = values(b);
  const auto expected = frost_test::conv2d_reference(g, values(x), values(w), bv.data());
  const auto actual = values(y);
  for (std::size_t i = 0; i < actual.size(); ++i)
    REQUIRE(actual[i] == Approx(expected[i]).margin(1e-5));
}

TEST_CASE("conv2d: non-contiguous inputs and gradients only where required", "[ops][conv]") {
  // A transposed view as input: conv2d must read it through contiguous().
  auto base = random_tensor<double>({2, 3, 6, 5}, 70);
  const Tensor<double> x = base.transpose(2, 3);  // [2, 3, 5, 6], not contiguous
  auto w = random_tensor<double>({2, 3, 3, 3}, 71).requires_grad_();
  const Tensor<double> y = frost::conv2d(x.contiguous(), w, {}, 1, 1);
  const Tensor<double> y_view = frost::conv2d(x, w, {}, 1, 1);
  REQUIRE(values(y) == values(y_view));
  frost::sum(y_view).backward();
  REQUIRE(w.grad().defined());
  REQUIRE(!x.requires_grad());
}

TEST_CASE("conv2d: bias gradient without a weight gradient", "[ops][conv]") {
  // dL/db[oc] = sum of dL/dy over images and pixels; with L = sum(y) that is N * OH * OW.
  auto x = random_tensor<double>({2, 3, 5, 5}, 80).requires_grad_();
  const auto w = random_tensor<double>({4, 3, 3, 3}, 81);
  auto b = random_tensor<double>({4}, 82).requires_grad_();
  const Tensor<double> y = frost::conv2d(x, w, b, 2, 1);  // 3x3 output
  frost::sum(y).backward();
  REQUIRE(b.grad().defined());
  REQUIRE(values(b.grad()) == std::vector<double>(4, 2.0 * 9.0));
  REQUIRE(x.grad().defined());
  REQUIRE(!w.grad().defined());
}

TEST_CASE("conv2d: shape errors name the op and the shapes", "[ops][conv]") {
  const auto x = Tensor<float>::zeros({1, 4, 5, 5});
  CHECK_THROWS_WITH(frost::conv2d(x, Tensor<float>::zeros({2, 3, 3, 3})),
                    Contains("conv2d") && Contains("[1, 4, 5, 5]") && Contains("[2, 3, 3, 3]"));
  CHECK_THROWS_WITH(frost::conv2d(x, Tensor<float>::zeros({3, 2, 3, 3}), {}, 1, 0, 1, 2),
                    Contains("conv2d") && Contains("groups = 2"));
  CHECK_THROWS_WITH(
      frost::conv2d(Tensor<float>::zeros({4, 5, 5}), Tensor<float>::zeros({2, 4, 3, 3})),
      Contains("conv2d") && Contains("expected input [N, C, H, W], got shape [4, 5, 5]"));
  CHECK_THROWS_WITH(frost::conv2d(x, Tensor<float>::zeros({2, 4, 3, 3}), Tensor<float>::zeros({3})),
                    Contains("conv2d") && Contains("bias shape [3]"));
  CHECK_THROWS_WITH(frost::conv2d(x, Tensor<float>::zeros({2, 4, 7, 7})),
                    Contains("conv2d") && Contains("too small for weight shape [2, 4, 7, 7]"));
  CHECK_THROWS_WITH(frost::conv2d(x, Tensor<float>::zeros({2, 4, 3, 3}), {}, 0),
                    Contains("conv2d") && Contains("stride (0, 0)"));
}
