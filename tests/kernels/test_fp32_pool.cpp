// Pooling kernels: hand-computed PyTorch values, naive references written from the definitions
// (an explicitly padded plane, windows scanned in full), adjoint identities for the backwards.

#include <frost/core/error.hpp>
#include <frost/core/parallel.hpp>
#include <frost/kernels/fp32/adaptive_avg_pool2d.hpp>
#include <frost/kernels/fp32/avg_pool2d.hpp>
#include <frost/kernels/fp32/max_pool2d.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "test_fp32_reference.hpp"

namespace {

using Catch::Matchers::Contains;
using frost::kernels::fp32::AdaptivePool2dShape;
using frost::kernels::fp32::Pool2dGeometry;

Pool2dGeometry pool(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, int k,
                    int stride, int padding, int dilation = 1, bool ceil_mode = false) {
  Pool2dGeometry g;
  g.batch = n;
  g.channels = c;
  g.input_height = h;
  g.input_width = w;
  g.kernel_height = g.kernel_width = k;
  g.stride_height = g.stride_width = stride;
  g.padding_height = g.padding_width = padding;
  g.dilation_height = g.dilation_width = dilation;
  g.ceil_mode = ceil_mode;
  return g;
}

// Max over the window of a plane padded with -inf; the first maximum in scan order wins.
void max_pool_reference(const Pool2dGeometry& g, const std::vector<float>& x, std::vector<float>& y,
                        std::vector<std::int64_t>& index) {
  const std::int64_t H = g.input_height, W = g.input_width, OH = g.output_height(),
                     OW = g.output_width();
  const std::int64_t PH = H + 2 * g.padding_height, PW = W + 2 * g.padding_width;
  y.assign(static_cast<std::size_t>(g.planes() * OH * OW), 0);
  index.assign(y.size(), -1);
  for (std::int64_t p = 0; p < g.planes(); ++p) {
    // Padded to cover ceil_mode windows too.
    const std::int64_t rows = PH + g.stride_height * 2 + g.dilation_height * g.kernel_height;
    const std::int64_t cols = PW + g.stride_width * 2 + g.dilation_width * g.kernel_width;
    std::vector<float> padded(static_cast<std::size_t>(rows * cols),
                              -std::numeric_limits<float>::infinity());
    for (std::int64_t i = 0; i < H; ++i)
      for (std::int64_t j = 0; j < W; ++j)
        padded[static_cast<std::size_t>((i + g.padding_height) * cols + j + g.padding_width)] =
            x[static_cast<std::size_t>((p * H + i) * W + j)];
    for (std::int64_t oy = 0; oy < OH; ++oy)
      for (std::int64_t ox = 0; ox < OW; ++ox) {
        float best = -std::numeric_limits<float>::infinity();
        std::int64_t arg = -1;
        for (int ky = 0; ky < g.kernel_height; ++ky)
          for (int kx = 0; kx < g.kernel_width; ++kx) {
            const std::int64_t r = oy * g.stride_height + ky * g.dilation_height;
            const std::int64_t c = ox * g.stride_width + kx * g.dilation_width;
            const float v = padded[static_cast<std::size_t>(r * cols + c)];
            if (arg < 0 ? v > -std::numeric_limits<float>::infinity() : v > best) {
              best = v;
              arg = (r - g.padding_height) * W + (c - g.padding_width);
            }
          }
        y[static_cast<std::size_t>((p * OH + oy) * OW + ox)] = best;
        index[static_cast<std::size_t>((p * OH + oy) * OW + ox)] = arg;
      }
  }
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

}  // namespace

TEST_CASE("fp32 max_pool2d: against the padded-plane reference", "[kernels][fp32][pool]") {
  const int threads = GENERATE(1, 2);
  frost::set_num_threads(threads);
  std::uint64_t seed = 1;
  for (int k : {1, 2, 3})
    for (int stride : {1, 2, 3})
      for (int padding : {0, 1})
        for (int dilation : {1, 2})
          for (bool ceil_mode : {false, true}) {
            if (padding > k / 2) continue;
            const Pool2dGeometry g = pool(2, 3, 7, 8, k, stride, padding, dilation, ceil_mode);
            INFO("k " << k << " stride " << stride << " padding " << padding << " dilation "
                      << dilation << " ceil " << ceil_mode);
            const auto x = frost_test::random_values<float>(2 * 3 * 7 * 8, seed++);
            std::vector<float> y(static_cast<std::size_t>(g.planes() * g.output_plane())), y_ref;
            std::vector<std::int64_t> idx(y.size()), idx_ref;
            frost::kernels::fp32::max_pool2d_forward(g, x.data(), y.data(), idx.data());
            max_pool_reference(g, x, y_ref, idx_ref);
            REQUIRE(y == y_ref);
            REQUIRE(idx == idx_ref);
            // Backward is the adjoint of "gather the recorded positions": <gather(x'), go> = <x',
            // grad>.
            const auto go =
                frost_test::random_values<float>(static_cast<std::int64_t>(y.size()), seed++);
            std::vector<float> gx(x.size(), 9.0f);
            frost::kernels::fp32::max_pool2d_backward(g, go.data(), idx.data(), gx.data());
            const auto probe =
                frost_test::random_values<float>(static_cast<std::int64_t>(x.size()), seed++);
            std::vector<float> gathered(y.size());
            for (std::size_t i = 0; i < y.size(); ++i) {
              const std::int64_t plane = static_cast<std::int64_t>(i) / g.output_plane();
              gathered[i] = probe[static_cast<std::size_t>(plane * g.input_plane() + idx[i])];
            }
            REQUIRE(dot(gathered, go) == Approx(dot(probe, gx)).margin(1e-4));
          }
  frost::set_num_threads(2);
}

TEST_CASE("fp32 max_pool2d: hand-computed values, overlapping windows and NaN",
          "[kernels][fp32][pool]") {
  // 3x3 ramp, kernel 2 stride 1: maxima 4 5 7 8 at indices 4 5 7 8.
  const Pool2dGeometry g = pool(1, 1, 3, 3, 2, 1, 0);
  std::vector<float> x{0, 1, 2, 3, 4, 5, 6, 7, 8}, y(4), gx(9);
  std::vector<std::int64_t> idx(4);
  frost::kernels::fp32::max_pool2d_forward(g, x.data(), y.data(), idx.data());
  CHECK(y == std::vector<float>{4, 5, 7, 8});
  CHECK(idx == std::vector<std::int64_t>{4, 5, 7, 8});
  // A peak in the centre wins all four overlapping windows; backward sums their gradients.
  x = {0, 0, 0, 0, 9, 0, 0, 0, 0};
  frost::kernels::fp32::max_pool2d_forward(g, x.data(), y.data(), idx.data());
  CHECK(idx == std::vector<std::int64_t>{4, 4, 4, 4});
  const std::vector<float> go{1, 2, 3, 4};
  frost::kernels::fp32::max_pool2d_backward(g, go.data(), idx.data(), gx.data());
  CHECK(gx == std::vector<float>{0, 0, 0, 0, 10, 0, 0, 0, 0});
  x[0] = std::numeric_limits<float>::quiet_NaN();
  frost::kernels::fp32::max_pool2d_forward(g, x.data(), y.data(), idx.data());
  CHECK(std::isnan(y[0]));
  CHECK(idx[0] == 0);
  CHECK(y[1] == 9);
  // 2x2 input, kernel 2, dilation 3, padding 1: the single window's taps (-1 and 2 on both axes)
  // all fall in the padding, so it yields -inf with no input to route the gradient to.
  const Pool2dGeometry hollow = pool(1, 1, 2, 2, 2, 1, 1, 3);
  REQUIRE(hollow.output_plane() == 1);
  std::vector<float> x4{1, 2, 3, 4}, y1(1), g1{5}, gx4(4, 7.0f);
  std::vector<std::int64_t> idx1(1);
  frost::kernels::fp32::max_pool2d_forward(hollow, x4.data(), y1.data(), idx1.data());
  CHECK(y1[0] == -std::numeric_limits<float>::infinity());
  CHECK(idx1[0] == -1);
  frost::kernels::fp32::max_pool2d_backward(hollow, g1.data(), idx1.data(), gx4.data());
  CHECK(gx4 == std::vector<float>(4, 0.0f));
}

TEST_CASE("fp32 avg_pool2d: PyTorch values with and without count_include_pad",
          "[kernels][fp32][pool]") {
  // 4x4 ramp 1..16, kernel 3, stride 2, padding 1 (window sums 14, 30, 57, 99).
  const Pool2dGeometry g = pool(1, 1, 4, 4, 3, 2, 1);
  std::vector<float> x(16), y(4);
  std::iota(x.begin(), x.end(), 1.0f);
  frost::kernels::fp32::avg_pool2d_forward(g, true, x.data(), y.data());
  CHECK(y[0] == Approx(14.0 / 9));
  CHECK(y[1] == Approx(30.0 / 9));
  CHECK(y[2] == Approx(57.0 / 9));
  CHECK(y[3] == Approx(11));
  frost::kernels::fp32::avg_pool2d_forward(g, false, x.data(), y.data());
  CHECK(y == std::vector<float>{3.5f, 5, 9.5f, 11});
  // Backward: each input gets go / divisor from every window covering it.
  const std::vector<float> go{9, 9, 9, 9};
  std::vector<float> gx(16);
  frost::kernels::fp32::avg_pool2d_backward(g, true, go.data(), gx.data());
  CHECK(gx[0] == 1);   // window (0, 0) only
  CHECK(gx[5] == 4);   // rows 1 and cols 1 lie in all four windows
  CHECK(gx[15] == 1);  // window (1, 1) only
  CHECK(gx[1] == 2);   // windows (0, 0) and (0, 1)
}

TEST_CASE("fp32 avg_pool2d: ceil_mode windows past the input count only the padded input",
          "[kernels][fp32][pool]") {
  // 5x5 ramp 0..24, kernel 2 stride 2 ceil_mode: 3x3 output, the last row/column windows are 1
  // wide.
  const Pool2dGeometry g = pool(1, 1, 5, 5, 2, 2, 0, 1, true);
  REQUIRE(g.output_height() == 3);
  std::vector<float> x(25), y(9);
  std::iota(x.begin(), x.end(), 0.0f);
  frost::kernels::fp32::avg_pool2d_forward(g, true, x.data(), y.data());
  CHECK(y[0] == (0 + 1 + 5 + 6) / 4.0f);
  CHECK(y[2] == (4 + 9) / 2.0f);
  CHECK(y[8] == 24);
  // Padding 1, kernel 2, stride 2, ceil_mode on 4x4: PyTorch drops the window starting in the
  // right padding, so the output stays 3x3.
  CHECK(pool(1, 1, 4, 4, 2, 2, 1, 1, true).output_height() == 3);
}

TEST_CASE("fp32 avg_pool2d: backward is the adjoint of forward", "[kernels][fp32][pool]") {
  frost::set_num_threads(2);
  for (bool include_pad : {false, true})
    for (bool ceil_mode : {false, true}) {
      const Pool2dGeometry g = pool(2, 3, 7, 6, 3, 2, 1, 1, ceil_mode);
      const auto x = frost_test::random_values<float>(2 * 3 * 7 * 6, 5);
      const auto go = frost_test::random_values<float>(g.planes() * g.output_plane(), 6);
      std::vector<float> y(go.size()), gx(x.size());
      frost::kernels::fp32::avg_pool2d_forward(g, include_pad, x.data(), y.data());
      frost::kernels::fp32::avg_pool2d_backward(g, include_pad, go.data(), gx.data());
      CHECK(dot(y, go) == Approx(dot(x, gx)).epsilon(1e-5));
    }
}

TEST_CASE("fp32 adaptive_avg_pool2d: PyTorch windows", "[kernels][fp32][pool]") {
  // 1x5 -> 1x3: windows [0, 2), [1, 4), [3, 5).
  AdaptivePool2dShape s{1, 1, 1, 5, 1, 3};
  const std::vector<float> x{1, 2, 3, 4, 5}, go{1, 1, 1};
  std::vector<float> y(3), gx(5);
  frost::kernels::fp32::adaptive_avg_pool2d_forward(s, x.data(), y.data());
  CHECK(y == std::vector<float>{1.5f, 3, 4.5f});
  frost::kernels::fp32::adaptive_avg_pool2d_backward(s, go.data(), gx.data());
  CHECK(gx[0] == Approx(0.5));
  CHECK(gx[1] == Approx(0.5 + 1.0 / 3));
  CHECK(gx[2] == Approx(1.0 / 3));
  CHECK(gx[4] == Approx(0.5));
  // Global pooling and upsampling-sized outputs against a direct double computation.
  frost::set_num_threads(2);
  for (auto [oh, ow] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {3, 2}, {7, 9}}) {
    s = {2, 3, 7, 5, oh, ow};
    const auto xr = frost_test::random_values<float>(2 * 3 * 7 * 5, 8);
    std::vector<float> yr(static_cast<std::size_t>(6 * oh * ow));
    frost::kernels::fp32::adaptive_avg_pool2d_forward(s, xr.data(), yr.data());
    for (std::int64_t p = 0; p < 6; ++p)
      for (std::int64_t i = 0; i < oh; ++i)
        for (std::int64_t j = 0; j < ow; ++j) {
          const auto y0 = static_cast<std::int64_t>(std::floor(double(i) * 7 / oh));
          const auto y1 = static_cast<std::int64_t>(std::ceil(double(i + 1) * 7 / oh));
          const auto x0 = static_cast<std::int64_t>(std::floor(double(j) * 5 / ow));
          const auto x1 = static_cast<std::int64_t>(std::ceil(double(j + 1) * 5 / ow));
          double sum = 0;
          for (auto a = y0; a < y1; ++a)
            for (auto b = x0; b < x1; ++b) sum += xr[static_cast<std::size_t>((p * 7 + a) * 5 + b)];
          CHECK(yr[static_cast<std::size_t>((p * oh + i) * ow + j)] ==
                Approx(sum / double((y1 - y0) * (x1 - x0))));
        }
    const auto gor = frost_test::random_values<float>(static_cast<std::int64_t>(yr.size()), 9);
    std::vector<float> gxr(xr.size(), 3.0f);
    frost::kernels::fp32::adaptive_avg_pool2d_backward(s, gor.data(), gxr.data());
    CHECK(dot(yr, gor) == Approx(dot(xr, gxr)).epsilon(1e-5));
  }
}

TEST_CASE("fp32 pooling: bad geometry names the op and the shapes", "[kernels][fp32][pool]") {
  std::vector<float> buf(64);
  std::vector<std::int64_t> idx(64);
  CHECK_THROWS_WITH(frost::kernels::fp32::max_pool2d_forward(pool(1, 1, 4, 4, 2, 2, 2), buf.data(),
                                                             buf.data(), idx.data()),
                    Contains("max_pool2d") && Contains("at most half the kernel"));
  CHECK_THROWS_WITH(frost::kernels::fp32::max_pool2d_forward(pool(1, 1, 2, 2, 3, 1, 0), buf.data(),
                                                             buf.data(), idx.data()),
                    Contains("kernel 3x3 does not fit the padded input 2x2"));
  CHECK_THROWS_WITH(frost::kernels::fp32::avg_pool2d_forward(pool(1, 1, 4, 4, 2, 1, 0, 2), true,
                                                             buf.data(), buf.data()),
                    Contains("avg_pool2d") && Contains("no dilation"));
  CHECK_THROWS_WITH(
      frost::kernels::fp32::adaptive_avg_pool2d_forward(AdaptivePool2dShape{1, 1, 4, 4, 0, 2},
                                                        buf.data(), buf.data()),
      Contains("adaptive_avg_pool2d") && Contains("output size must be >= 1, got 0x2"));
}
