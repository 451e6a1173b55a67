// nn layers over images: Conv2d, BatchNorm2d, pooling; checked against naive loops and
// hand-computed statistics.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "frost/nn/activation.hpp"
#include "frost/nn/batch_norm.hpp"
#include "frost/nn/conv.hpp"
#include "frost/nn/flatten.hpp"
#include "frost/nn/linear.hpp"
#include "frost/nn/pooling.hpp"
#include "frost/nn/sequential.hpp"
#include "frost/ops/reduction.hpp"

using frost::Tensor;
namespace nn = frost::nn;

namespace {

// out[n, o, y, x] = b[o] + sum over the group's channels and the kernel of w * input.
Tensor<float> naive_conv2d(const Tensor<float>& x, const Tensor<float>& w, const Tensor<float>& b,
                           frost::Size2d s, frost::Size2d p, frost::Size2d d, std::int64_t groups) {
  const std::int64_t n = x.size(0), h = x.size(2), wd = x.size(3);
  const std::int64_t o = w.size(0), cg = w.size(1), kh = w.size(2), kw = w.size(3);
  const std::int64_t oh = (h + 2 * p.height - d.height * (kh - 1) - 1) / s.height + 1;
  const std::int64_t ow = (wd + 2 * p.width - d.width * (kw - 1) - 1) / s.width + 1;
  Tensor<float> out = Tensor<float>::zeros({n, o, oh, ow});
  const std::int64_t og = o / groups;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t oc = 0; oc < o; ++oc)
      for (std::int64_t y = 0; y < oh; ++y)
        for (std::int64_t xx = 0; xx < ow; ++xx) {
          double acc = b.defined() ? b.at({oc}) : 0.0;
          for (std::int64_t ci = 0; ci < cg; ++ci)
            for (std::int64_t ky = 0; ky < kh; ++ky)
              for (std::int64_t kx = 0; kx < kw; ++kx) {
                const std::int64_t iy = y * s.height - p.height + ky * d.height,
                                   ix = xx * s.width - p.width + kx * d.width;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                acc += double(w.at({oc, ci, ky, kx})) * x.at({i, (oc / og) * cg + ci, iy, ix});
              }
          out.at({i, oc, y, xx}) = static_cast<float>(acc);
        }
  return out;
}

void check_close(const Tensor<float>& a, const Tensor<float>& b, double tol = 1e-4) {
  REQUIRE(a.shape() == b.shape());
  const Tensor<float> ac = a.contiguous(), bc = b.contiguous();
  for (std::int64_t i = 0; i < ac.numel(); ++i)
    CHECK(ac.data()[i] == Approx(bc.data()[i]).margin(tol));
}

}  // namespace

TEST_CASE("Conv2d registers weight [out, in/groups, kh, kw] and bias, initialised like PyTorch",
          "[nn]") {
  nn::Conv2d conv(4, 6, {3, 5}, {.stride = 2, .padding = 1, .groups = 2});
  CHECK(conv.named_parameters().keys() == std::vector<std::string>{"weight", "bias"});
  CHECK(conv.weight().shape() == frost::Shape{6, 2, 3, 5});
  CHECK(conv.bias().shape() == frost::Shape{6});
  const double bound = 1.0 / std::sqrt(2.0 * 15.0);
  CHECK(frost::max(frost::abs(conv.weight())).item() <= bound);
  CHECK(frost::max(frost::abs(conv.bias())).item() <= bound);
  CHECK(conv.repr() == "Conv2d(4, 6, kernel_size=(3, 5), stride=(2, 2), padding=(1, 1), groups=2)");

  nn::Conv2d no_bias(3, 8, 1, {.bias = false});
  CHECK(no_bias.named_parameters().keys() == std::vector<std::string>{"weight"});
  CHECK_THROWS_WITH(nn::Conv2d(3, 8, 3, {.groups = 2}), Catch::Contains("groups 2"));
}

TEST_CASE("Conv2d forward matches a naive convolution for stride, padding, dilation and groups",
          "[nn]") {
  frost::manual_seed(7);
  struct Case {
    std::int64_t in, out;
    frost::Size2d kernel;
    nn::Conv2dOptions options;
  };
  const std::vector<Case> cases = {
      {3, 4, 3, {.padding = 1}},
      {3, 5, {3, 2}, {.stride = {2, 1}, .padding = {0, 1}}},
      {4, 4, 3, {.padding = 2, .dilation = 2, .groups = 4, .bias = false}},  // depthwise, dilated
      {4, 6, 1, {.stride = 2, .groups = 2}},
  };
  for (const auto& c : cases) {
    nn::Conv2d conv(c.in, c.out, c.kernel, c.options);
    const Tensor<float> x = Tensor<float>::randn({2, c.in, 7, 6});
    check_close(conv(x), naive_conv2d(x, conv.weight(), conv.bias(), c.options.stride,
                                      c.options.padding, c.options.dilation, c.options.groups));
  }
}

TEST_CASE("Conv2d with the wrong input channels names the layer and both shapes", "[nn]") {
  nn::Conv2d conv(3, 8, 3);
  try {
    conv(Tensor<float>::zeros({2, 4, 5, 5}));
    FAIL("expected frost::Error");
  } catch (const frost::Error& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("Conv2d(3, 8, kernel_size=(3, 3)"));
    CHECK_THAT(msg, Catch::Contains("[2, 4, 5, 5]"));
    CHECK_THAT(msg, Catch::Contains("[8, 3, 3, 3]"));
  }
  CHECK_THROWS_WITH(conv(Tensor<float>::zeros({3, 5, 5})), Catch::Contains("[3, 5, 5]"));
}

TEST_CASE("BatchNorm2d uses batch statistics in training and running statistics in eval", "[nn]") {
  nn::BatchNorm2d bn(2);
  CHECK(bn.named_parameters().keys() == std::vector<std::string>{"weight", "bias"});
  CHECK(bn.named_buffers().keys() ==
        std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
  // Channel 0 holds 1..8, channel 1 holds 2 * (1..8): means 4.5 and 9, biased variances 5.25
  // and 21.
  Tensor<float> x = Tensor<float>::empty({2, 2, 2, 2});
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t i = 0; i < 4; ++i) {
      x.at({n, 0, i / 2, i % 2}) = static_cast<float>(n * 4 + i + 1);
      x.at({n, 1, i / 2, i % 2}) = 2.0f * static_cast<float>(n * 4 + i + 1);
    }
  const Tensor<float> y = bn(x);
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t i = 0; i < 4; ++i) {
      const double expected = (n * 4 + i + 1 - 4.5) / std::sqrt(5.25 + 1e-5);
      CHECK(y.at({n, 0, i / 2, i % 2}) == Approx(expected).epsilon(1e-5));
      CHECK(y.at({n, 1, i / 2, i % 2}) == Approx(expected).epsilon(1e-5));
    }
  // running = 0.9 * running + 0.1 * batch, with the unbiased variance (n = 8).
  CHECK(bn.running_mean().at({0}) == Approx(0.45));
  CHECK(bn.running_mean().at({1}) == Approx(0.9));
  CHECK(bn.running_var().at({0}) == Approx(0.9 + 0.1 * 5.25 * 8 / 7));
  CHECK(bn.running_var().at({1}) == Approx(0.9 + 0.1 * 21.0 * 8 / 7));
  CHECK(bn.num_batches_tracked().item() == 1.0f);

  bn.eval();
  const Tensor<float> z = bn(x);
  const double rm = bn.running_mean().at({0}), rv = bn.running_var().at({0});
  CHECK(z.at({1, 0, 1, 1}) == Approx((8.0 - rm) / std::sqrt(rv + 1e-5)).epsilon(1e-5));
  CHECK(bn.num_batches_tracked().item() == 1.0f);  // eval leaves the statistics alone
  CHECK(bn.running_mean().at({0}) == Approx(0.45));
}

TEST_CASE(
    "BatchNorm2d without momentum averages cumulatively; without running stats it has no buffers",
    "[nn]") {
  nn::BatchNorm2d cumulative(1, {.momentum = std::nullopt});
  cumulative(Tensor<float>::full({2, 1, 2, 2}, 2.0f));
  cumulative(Tensor<float>::full({2, 1, 2, 2}, 4.0f));
  CHECK(cumulative.running_mean().item() == Approx(3.0));
  CHECK(cumulative.num_batches_tracked().item() == 2.0f);

  nn::BatchNorm2d stateless(1, {.affine = false, .track_running_stats = false});
  CHECK(stateless.state_dict().empty());
  stateless.eval();
  const Tensor<float> y = stateless(Tensor<float>::from_vector({1, 3, 5, 7}, {1, 1, 2, 2}));
  CHECK(y.at({0, 0, 0, 0}) == Approx(-3.0 / std::sqrt(5.0 + 1e-5)).epsilon(1e-5));
  CHECK_THROWS_WITH(cumulative(Tensor<float>::zeros({2, 3, 2, 2})),
                    Catch::Contains("[2, 3, 2, 2]"));
}

TEST_CASE("Pooling layers reduce windows like PyTorch", "[nn]") {
  const Tensor<float> x = Tensor<float>::arange(0.0f, 32.0f).view({1, 2, 4, 4});
  const Tensor<float> mx = nn::MaxPool2d(2)(x);
  CHECK(mx.shape() == frost::Shape{1, 2, 2, 2});
  CHECK(mx.at({0, 0, 0, 0}) == 5.0f);
  CHECK(mx.at({0, 1, 1, 1}) == 31.0f);

  const Tensor<float> strided = nn::MaxPool2d(3, {.stride = 1, .padding = 1})(x);
  CHECK(strided.shape() == frost::Shape{1, 2, 4, 4});
  CHECK(strided.at({0, 0, 0, 0}) == 5.0f);

  const Tensor<float> av = nn::AvgPool2d(2)(x);
  CHECK(av.at({0, 0, 0, 0}) == Approx((0 + 1 + 4 + 5) / 4.0));
  CHECK(av.at({0, 1, 1, 1}) == Approx((26 + 27 + 30 + 31) / 4.0));

  const Tensor<float> gap = nn::AdaptiveAvgPool2d(1)(x);
  CHECK(gap.shape() == frost::Shape{1, 2, 1, 1});
  CHECK(gap.at({0, 0, 0, 0}) == Approx(7.5));
  CHECK(gap.at({0, 1, 0, 0}) == Approx(23.5));
}

TEST_CASE("A CNN's parameters and buffers get PyTorch's names and counts", "[nn]") {
  nn::Sequential net(
      std::make_shared<nn::Conv2d>(1, 8, 3, nn::Conv2dOptions{.padding = 1, .bias = false}),
      std::make_shared<nn::BatchNorm2d>(8), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::MaxPool2d>(2), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(8 * 4 * 4, 10));
  CHECK(net.state_dict().keys() ==
        std::vector<std::string>{"0.weight", "1.weight", "1.bias", "1.running_mean",
                                 "1.running_var", "1.num_batches_tracked", "5.weight", "5.bias"});
  CHECK(nn::count_parameters(net) == 8 * 9 + 2 * 8 + 128 * 10 + 10);
  const Tensor<float> y = net(Tensor<float>::randn({3, 1, 8, 8}));
  CHECK(y.shape() == frost::Shape{3, 10});
  try {
    net(Tensor<float>::randn({3, 2, 8, 8}));
    FAIL("expected frost::Error");
  } catch (const frost::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("Sequential[0]: Conv2d(1, 8"));
  }
}
