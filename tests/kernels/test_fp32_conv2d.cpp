// FP32 (and double) convolution kernels against the naive references of test_fp32_reference.hpp:
// the im2col + GEMM path, the pointwise path and the direct depthwise kernels, forward and both
// backwards, over strides, paddings, dilations, groups and kernel shapes, with 1 and 2 threads.

#include <frost/core/error.hpp>
#include <frost/core/parallel.hpp>
#include <frost/kernels/fp32/conv2d.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "test_fp32_reference.hpp"

namespace {

using Catch::Matchers::Contains;
using frost::kernels::fp32::Conv2dGeometry;

// Tolerance for a result summed from `terms` products of values in [-1, 1].
template <class T>
double tolerance(std::int64_t terms) {
  const double eps = std::is_same_v<T, float> ? 1e-7 : 1e-15;
  return 4 * eps * static_cast<double>(terms + 1);
}

template <class T>
void require_close(const std::vector<T>& actual, const std::vector<double>& expected, double tol,
                   const char* what) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO(what << " element " << i << ": " << actual[i] << " vs " << expected[i]);
    REQUIRE(std::abs(static_cast<double>(actual[i]) - expected[i]) <=
            tol * (1 + std::abs(expected[i])));
  }
}

struct ThreadCount {
  explicit ThreadCount(int n) : saved(frost::num_threads()) { frost::set_num_threads(n); }
  ~ThreadCount() { frost::set_num_threads(saved); }
  int saved;
};

// Runs forward, backward-input and backward-weight (+ bias) of geometry g and compares each with
// the references.
template <class T>
void check_conv2d(const Conv2dGeometry& g, bool with_bias, std::uint64_t seed) {
  INFO("input [" << g.batch << ", " << g.in_channels << ", " << g.input_height << ", "
                 << g.input_width << "] out " << g.out_channels << " kernel " << g.kernel_height
                 << "x" << g.kernel_width << " stride " << g.stride_height << "x" << g.stride_width
                 << " padding " << g.padding_height << "x" << g.padding_width << " dilation "
                 << g.dilation_height << "x" << g.dilation_width << " groups " << g.groups
                 << " bias " << with_bias << " threads " << frost::num_threads());
  const std::int64_t out_numel = g.batch * g.out_channels * g.output_plane();
  const auto x = frost_test::random_values<T>(g.batch * g.in_channels * g.input_plane(), seed);
  const auto w = frost_test::random_values<T>(g.weight_numel(), seed + 1);
  const auto b = frost_test::random_values<T>(g.out_channels, seed + 2);
  const auto go = frost_test::random_values<T>(out_numel, seed + 3);
  const T* bias = with_bias ? b.data() : nullptr;
  const std::int64_t taps = g.in_channels_per_group() * g.kernel_area();

  std::vector<T> y(static_cast<std::size_t>(out_numel), T(7));
  frost::kernels::fp32::conv2d_forward(g, x.data(), w.data(), bias, y.data());
  require_close(y, frost_test::conv2d_reference(g, x, w, bias), tolerance<T>(taps), "forward");

  std::vector<T> gx(x.size(), T(7));  // garbage: the kernel must overwrite
  frost::kernels::fp32::conv2d_backward_input(g, go.data(), w.data(), gx.data());
  require_close(gx, frost_test::conv2d_backward_input_reference(g, go, w),
                tolerance<T>(g.out_channels_per_group() * g.kernel_area()), "backward input");

  std::vector<T> gw(w.size(), T(7)), gb(b.size(), T(7));
  frost::kernels::fp32::conv2d_backward_weight(g, x.data(), go.data(), gw.data(),
                                               with_bias ? gb.data() : nullptr);
  const std::int64_t sums = g.batch * g.output_plane();
  require_close(gw, frost_test::conv2d_backward_weight_reference(g, x, go), tolerance<T>(sums),
                "backward weight");
  if (with_bias)
    require_close(gb, frost_test::conv2d_backward_bias_reference(g, go), tolerance<T>(sums),
                  "bias");
}

Conv2dGeometry geometry(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w,
                        std::int64_t oc, int k, int stride, int padding, int dilation,
                        std::int64_t groups) {
  Conv2dGeometry g;
  g.batch = n;
  g.in_channels = c;
  g.input_height = h;
  g.input_width = w;
  g.out_channels = oc;
  g.kernel_height = g.kernel_width = k;
  g.stride_height = g.stride_width = stride;
  g.padding_height = g.padding_width = padding;
  g.dilation_height = g.dilation_width = dilation;
  g.groups = groups;
  return g;
}

}  // namespace

TEST_CASE("fp32 conv2d: hand-computed 2x2 sums of a 3x3 ramp", "[kernels][fp32][conv2d]") {
  // x = [[0,1,2],[3,4,5],[6,7,8]], w = ones(2x2), bias 0.5, padding 0: window sums + 0.5.
  Conv2dGeometry g = geometry(1, 1, 3, 3, 1, 2, 1, 0, 1, 1);
  std::vector<float> x{0, 1, 2, 3, 4, 5, 6, 7, 8}, w{1, 1, 1, 1}, y(4);
  const float bias = 0.5f;
  frost::kernels::fp32::conv2d_forward(g, x.data(), w.data(), &bias, y.data());
  CHECK(y == std::vector<float>{8.5f, 12.5f, 20.5f, 24.5f});
  // Backward of ones: each input counts the windows covering it.
  std::vector<float> go{1, 1, 1, 1}, gx(9);
  frost::kernels::fp32::conv2d_backward_input(g, go.data(), w.data(), gx.data());
  CHECK(gx == std::vector<float>{1, 2, 1, 2, 4, 2, 1, 2, 1});
  std::vector<float> gw(4), gb(1);
  frost::kernels::fp32::conv2d_backward_weight(g, x.data(), go.data(), gw.data(), gb.data());
  CHECK(gw == std::vector<float>{8, 12, 20, 24});
  CHECK(gb[0] == 4);
}

TEST_CASE("fp32 conv2d: general path over stride, padding, dilation, groups",
          "[kernels][fp32][conv2d]") {
  const int threads = GENERATE(1, 2);
  ThreadCount tc(threads);
  std::uint64_t seed = 1;
  for (int k : {1, 3})
    for (int stride : {1, 2})
      for (int padding : {0, 1, 2})
        for (int dilation : {1, 2})
          for (std::int64_t groups : {1, 2}) {
            if (k == 1 && dilation == 2) continue;
            const Conv2dGeometry g = geometry(2, 4, 7, 6, 6, k, stride, padding, dilation, groups);
            check_conv2d<float>(g, (seed & 1) != 0, seed);
            seed += 10;
          }
}

TEST_CASE("fp32 conv2d: rectangular kernels, unequal strides and paddings",
          "[kernels][fp32][conv2d]") {
  ThreadCount tc(2);
  Conv2dGeometry g = geometry(3, 3, 9, 8, 5, 1, 1, 0, 1, 1);
  g.kernel_height = 2;
  g.kernel_width = 3;
  g.stride_height = 1;
  g.stride_width = 3;
  g.padding_height = 1;
  g.padding_width = 0;
  g.dilation_height = 3;
  g.dilation_width = 1;
  check_conv2d<float>(g, true, 101);
  g.groups = 1;
  g.in_channels = 1;  // a single input channel (like a grey-image stem): one channel block only
  check_conv2d<float>(g, false, 102);
  // Kernel as large as the padded input: one output pixel.
  check_conv2d<float>(geometry(2, 2, 3, 3, 3, 5, 1, 1, 1, 1), true, 103);
}

TEST_CASE("fp32 conv2d: pointwise (1x1, stride 1, no padding) direct GEMM",
          "[kernels][fp32][conv2d]") {
  const int threads = GENERATE(1, 2);
  ThreadCount tc(threads);
  check_conv2d<float>(geometry(1, 24, 9, 11, 40, 1, 1, 0, 1, 1), true, 201);
  check_conv2d<float>(geometry(3, 8, 5, 5, 6, 1, 1, 0, 1, 2), false, 202);
  // Larger than one thread's pixel tile, so several tiles per image.
  check_conv2d<float>(geometry(1, 16, 40, 37, 8, 1, 1, 0, 1, 1), true, 203);
}

TEST_CASE("fp32 conv2d: many pixel tiles and channel blocks", "[kernels][fp32][conv2d]") {
  ThreadCount tc(2);
  // K * P above one column buffer (32 * 9 * 24 * 24 > 2^17): tiles and blocks follow the cache
  // budget.
  check_conv2d<float>(geometry(1, 32, 24, 24, 4, 3, 1, 1, 1, 1), true, 301);
  // Batch split for backward-weight: one input channel, so only image ranges can feed two threads.
  check_conv2d<float>(geometry(5, 1, 8, 8, 4, 3, 1, 1, 1, 1), true, 302);
}

TEST_CASE("fp32 conv2d: depthwise direct kernels", "[kernels][fp32][conv2d][depthwise]") {
  const int threads = GENERATE(1, 2);
  ThreadCount tc(threads);
  std::uint64_t seed = 400;
  // 3 and 5 take the unrolled forward, 2 and 7 the generic one.
  for (int k : {2, 3, 5, 7})
    for (int stride : {1, 2, 3})
      for (int padding : {0, 1, 2})
        for (int dilation : {1, 2}) {
          const Conv2dGeometry g = geometry(2, 3, 11, 10, 3, k, stride, padding, dilation, 3);
          if (g.output_height() < 1 || g.output_width() < 1) continue;
          check_conv2d<float>(g, (seed & 1) != 0, seed);
          seed += 10;
        }
  // Odd sizes with stride 2 and a 1x1 output, rectangular kernel with unequal strides.
  check_conv2d<float>(geometry(1, 5, 5, 5, 5, 5, 2, 0, 1, 5), true, 500);
  Conv2dGeometry g = geometry(2, 4, 9, 13, 4, 3, 1, 1, 1, 4);
  g.kernel_width = 5;
  g.stride_width = 2;
  g.padding_width = 2;
  g.dilation_height = 2;
  check_conv2d<float>(g, true, 501);
}

TEST_CASE("fp32 conv2d: depthwise on wide planes, channel-block tails, large padding",
          "[kernels][fp32][conv2d][depthwise]") {
  const int threads = GENERATE(1, 2);
  ThreadCount tc(threads);
  // Odd and even output heights and widths (the 2-row and 4-column tiles' remainders), 3x3 and
  // 5x5, no padding and same padding.
  check_conv2d<float>(geometry(2, 3, 7, 40, 3, 3, 1, 1, 1, 3), true, 800);
  check_conv2d<float>(geometry(1, 2, 8, 37, 2, 3, 1, 0, 1, 2), false, 801);
  check_conv2d<float>(geometry(1, 2, 9, 36, 2, 5, 1, 2, 1, 2), true, 802);
  check_conv2d<float>(geometry(2, 2, 6, 33, 2, 5, 1, 0, 1, 2), true, 803);
  Conv2dGeometry g = geometry(1, 2, 7, 70, 2, 3, 1, 1, 1, 2);
  g.stride_width = 2;
  check_conv2d<float>(g, true, 804);
  g = geometry(1, 2, 6, 40, 2, 5, 1, 2, 1, 2);
  g.dilation_width = 2;
  g.padding_width = 4;
  check_conv2d<float>(g, true, 805);
  check_conv2d<double>(geometry(1, 2, 5, 34, 2, 5, 1, 2, 1, 2), true, 806);
  // Channels in the vector lanes: one, a block less one, exactly one and two blocks (8 or 16
  // lanes), a block plus one; planes smaller than the kernel's reach (4x4 under 5x5 padding 2).
  std::uint64_t seed = 810;
  for (std::int64_t c : {1, 7, 8, 15, 16, 17, 32, 33}) {
    check_conv2d<float>(geometry(3, c, 4, 4, c, 5, 1, 2, 1, c), true, seed++);
    check_conv2d<float>(geometry(2, c, 7, 5, c, 3, 2, 1, 1, c), false, seed++);
    check_conv2d<double>(geometry(2, c, 6, 6, c, 3, 1, 1, 2, c), true, seed++);
  }
  // Padding past the kernel's extent: backward-input cannot be the flipped forward there.
  check_conv2d<float>(geometry(2, 17, 5, 6, 17, 3, 1, 3, 1, 17), true, 850);
  check_conv2d<float>(geometry(1, 9, 5, 5, 9, 1, 1, 1, 1, 9), true, 851);
}

TEST_CASE("fp32 conv2d: depthwise results do not depend on the thread count",
          "[kernels][fp32][conv2d][depthwise]") {
  const Conv2dGeometry g = geometry(19, 40, 9, 9, 40, 5, 2, 2, 1, 40);
  const auto x = frost_test::random_values<float>(g.batch * 40 * 81, 860);
  const auto w = frost_test::random_values<float>(g.weight_numel(), 861);
  const auto go = frost_test::random_values<float>(g.batch * 40 * g.output_plane(), 862);
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    ThreadCount tc(threads);
    std::vector<float> y(go.size()), gx(x.size()), gw(w.size()), gb(40);
    frost::kernels::fp32::conv2d_forward(g, x.data(), w.data(), static_cast<const float*>(nullptr),
                                         y.data());
    frost::kernels::fp32::conv2d_backward_input(g, go.data(), w.data(), gx.data());
    frost::kernels::fp32::conv2d_backward_weight(g, x.data(), go.data(), gw.data(), gb.data());
    std::vector<float> all = y;
    all.insert(all.end(), gx.begin(), gx.end());
    all.insert(all.end(), gw.begin(), gw.end());
    all.insert(all.end(), gb.begin(), gb.end());
    results.push_back(all);
  }
  REQUIRE(results[0] == results[1]);
  REQUIRE(results[0] == results[2]);
}

TEST_CASE("fp32 conv2d: depthwise with a channel multiplier takes the grouped GEMM path",
          "[kernels][fp32][conv2d]") {
  check_conv2d<float>(geometry(2, 3, 6, 6, 6, 3, 1, 1, 1, 3), true, 600);
}

TEST_CASE("fp32 conv2d: double precision matches the reference tightly",
          "[kernels][fp32][conv2d]") {
  check_conv2d<double>(geometry(2, 4, 7, 6, 6, 3, 2, 1, 2, 2), true, 700);
  check_conv2d<double>(geometry(2, 4, 7, 6, 4, 5, 1, 2, 1, 4), true, 701);
  check_conv2d<double>(geometry(2, 4, 7, 6, 4, 1, 1, 0, 1, 1), true, 702);
}

TEST_CASE("fp32 conv2d: empty batch and bad geometry", "[kernels][fp32][conv2d]") {
  Conv2dGeometry g = geometry(0, 2, 4, 4, 2, 3, 1, 1, 1, 1);
  std::vector<float> w(static_cast<std::size_t>(g.weight_numel()), 1.0f), gw(w.size(), 5.0f),
      gb(2, 5.0f);
  frost::kernels::fp32::conv2d_forward<float>(g, nullptr, w.data(), nullptr, nullptr);
  frost::kernels::fp32::conv2d_backward_weight<float>(g, nullptr, nullptr, gw.data(), gb.data());
  CHECK(gw == std::vector<float>(w.size(), 0.0f));
  CHECK(gb == std::vector<float>(2, 0.0f));

  g = geometry(1, 3, 4, 4, 2, 3, 1, 1, 1, 2);
  CHECK_THROWS_WITH(
      frost::kernels::fp32::conv2d_forward<float>(g, nullptr, nullptr, nullptr, nullptr),
      Contains("conv2d_forward") && Contains("groups (2) must divide in_channels (3)"));
  g = geometry(1, 2, 4, 4, 2, 7, 1, 1, 1, 1);
  CHECK_THROWS_WITH(
      frost::kernels::fp32::conv2d_backward_input<float>(g, nullptr, nullptr, nullptr),
      Contains("conv2d_backward_input") && Contains("kernel 7x7") && Contains("6x6"));
  g = geometry(1, 2, 4, 4, 2, 3, 0, 1, 1, 1);
  CHECK_THROWS_WITH(
      frost::kernels::fp32::conv2d_forward<float>(g, nullptr, nullptr, nullptr, nullptr),
      Contains("stride must be >= 1"));
}
