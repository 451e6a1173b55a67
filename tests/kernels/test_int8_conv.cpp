// INT8 NHWC convolution (1x1 as a GEMM without copy, strided 1x1, im2col for k x k) on every
// GEMM path this CPU runs, bit-exact against a direct convolution written from the definition.
#include "test_int8_gemm_tester.hpp"

#include <frost/core/parallel.hpp>
#include <frost/core/rng.hpp>
#include <frost/kernels/conv/conv2d.hpp>
#include <frost/kernels/requantize.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using frost::kernels::Conv2dGeometry;
using frost::kernels::GemmKernel;
using frost::kernels::testing::for_each_gemm_kernel;

namespace {

// out[n][oh][ow][co] = requantize(bias[co] + sum (x - zp) * w, scale[co]), with x = zp outside
// the input (zero padding in real values).
std::vector<std::uint8_t> direct_conv2d(const Conv2dGeometry& g, const std::vector<std::uint8_t>& x,
                                        std::int32_t zp, const std::vector<std::int8_t>& w,
                                        const std::vector<std::int32_t>& bias,
                                        const std::vector<float>& scales,
                                        const frost::kernels::OutputQuantization& out) {
  const std::int64_t oh_count = g.out_height(), ow_count = g.out_width();
  std::vector<std::uint8_t> y(
      static_cast<std::size_t>(g.batch * oh_count * ow_count * g.out_channels));
  std::size_t at = 0;
  for (std::int64_t n = 0; n < g.batch; ++n)
    for (std::int64_t oh = 0; oh < oh_count; ++oh)
      for (std::int64_t ow = 0; ow < ow_count; ++ow)
        for (std::int64_t co = 0; co < g.out_channels; ++co) {
          std::int64_t acc = bias[static_cast<std::size_t>(co)];
          for (std::int64_t kh = 0; kh < g.kernel_height; ++kh)
            for (std::int64_t kw = 0; kw < g.kernel_width; ++kw)
              for (std::int64_t ci = 0; ci < g.in_channels; ++ci) {
                const std::int64_t ih =
                    oh * g.stride_height - g.padding_top + kh * g.dilation_height;
                const std::int64_t iw =
                    ow * g.stride_width - g.padding_left + kw * g.dilation_width;
                if (ih < 0 || ih >= g.in_height || iw < 0 || iw >= g.in_width) continue;
                const std::int64_t xv = x[static_cast<std::size_t>(
                    ((n * g.in_height + ih) * g.in_width + iw) * g.in_channels + ci)];
                const std::int64_t wv = w[static_cast<std::size_t>(
                    ((co * g.kernel_height + kh) * g.kernel_width + kw) * g.in_channels + ci)];
                acc += (xv - zp) * wv;
              }
          const float scale = scales.size() == 1 ? scales[0] : scales[static_cast<std::size_t>(co)];
          y[at++] = frost::kernels::requantize(static_cast<std::int32_t>(acc), scale, out);
        }
  return y;
}

void check_conv(const GemmKernel& kernel, const Conv2dGeometry& g, std::int32_t zp = 100,
                bool per_tensor = false) {
  if (kernel.layout.reduce_range) return;  // conv2d packs the full-range kernel of each path
  INFO("input " << g.batch << "x" << g.in_height << "x" << g.in_width << "x" << g.in_channels
                << " out_channels " << g.out_channels << " kernel " << g.kernel_height << "x"
                << g.kernel_width << " stride " << g.stride_height << "x" << g.stride_width
                << " padding " << g.padding_top << "," << g.padding_left << "," << g.padding_bottom
                << "," << g.padding_right << " dilation " << g.dilation_height << "x"
                << g.dilation_width << " zp " << zp);
  frost::Generator gen(
      static_cast<std::uint64_t>(g.in_channels * 131 + g.out_channels * 7 + g.kernel_height));
  std::vector<std::uint8_t> x(
      static_cast<std::size_t>(g.batch * g.in_height * g.in_width * g.in_channels));
  for (auto& v : x) v = static_cast<std::uint8_t>(gen.uniform_int(256));
  std::vector<std::int8_t> w(static_cast<std::size_t>(g.out_channels * g.gemm_k()));
  for (auto& v : w) v = static_cast<std::int8_t>(gen.uniform_int(256) - 128);
  std::vector<std::int32_t> bias(static_cast<std::size_t>(g.out_channels));
  for (auto& v : bias) v = static_cast<std::int32_t>(gen.uniform_int(20001)) - 10000;
  const float typical = 128.0f * 74.0f * std::sqrt(static_cast<float>(g.gemm_k()));
  std::vector<float> scales(per_tensor ? 1 : static_cast<std::size_t>(g.out_channels));
  for (auto& s : scales) s = (0.5f + gen.uniform_float()) * 100.0f / typical;
  const frost::kernels::OutputQuantization out{120, 0, 255};

  const auto expected = direct_conv2d(g, x, zp, w, bias, scales, out);
  const auto packed = frost::kernels::pack_conv2d_weights(g, w.data(), bias.data(), zp, kernel.isa);
  std::vector<std::uint8_t> y(expected.size(), 0xA5);
  frost::kernels::qu8_conv2d(g, x.data(), packed, {scales, out}, y.data());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < y.size(); ++i) mismatches += y[i] != expected[i];
  CHECK(mismatches == 0);
}

Conv2dGeometry conv(std::int64_t h, std::int64_t w, std::int64_t cin, std::int64_t cout,
                    std::int64_t k, std::int64_t stride, std::int64_t pad) {
  Conv2dGeometry g;
  g.in_height = h;
  g.in_width = w;
  g.in_channels = cin;
  g.out_channels = cout;
  g.kernel_height = g.kernel_width = k;
  g.stride_height = g.stride_width = stride;
  g.padding_top = g.padding_left = g.padding_bottom = g.padding_right = pad;
  return g;
}

}  // namespace

TEST_CASE("qu8_conv2d: 1x1 stride 1 is the GEMM on NHWC data", "[kernels][conv]") {
  for_each_gemm_kernel([](const GemmKernel& kernel) {
    check_conv(kernel, conv(7, 5, 16, 24, 1, 1, 0));
    check_conv(kernel, conv(3, 3, 17, 33, 1, 1, 0), 0);
    Conv2dGeometry batched = conv(4, 6, 8, 40, 1, 1, 0);
    batched.batch = 3;
    check_conv(kernel, batched, 255, true);
  });
}

TEST_CASE("qu8_conv2d: strided 1x1 on odd sizes", "[kernels][conv]") {
  for_each_gemm_kernel([](const GemmKernel& kernel) {
    check_conv(kernel, conv(7, 9, 24, 40, 1, 2, 0));
    Conv2dGeometry g = conv(9, 7, 5, 3, 1, 1, 0);
    g.stride_height = 3;
    g.stride_width = 2;
    g.batch = 2;
    check_conv(kernel, g);
  });
}

TEST_CASE("qu8_conv2d: k x k through im2col, padding on every border", "[kernels][conv]") {
  for_each_gemm_kernel([](const GemmKernel& kernel) {
    check_conv(kernel, conv(15, 15, 3, 16, 3, 2, 1));  // the stem: 3x3 stride 2 on 3 channels
    check_conv(kernel, conv(8, 8, 3, 16, 3, 2, 1), 0);
    check_conv(kernel, conv(6, 7, 8, 12, 3, 1, 1), 255);
    check_conv(kernel, conv(9, 9, 5, 7, 5, 1, 2), 128, true);
    check_conv(kernel, conv(4, 4, 4, 9, 5, 1, 2));   // kernel larger than the input
    check_conv(kernel, conv(1, 1, 16, 8, 3, 1, 1));  // 1x1 spatial input, all borders padded
    check_conv(kernel, conv(6, 6, 3, 5, 1, 1, 1));   // 1x1 kernel with padding
    Conv2dGeometry asym = conv(7, 6, 6, 10, 3, 2, 0);
    asym.padding_top = 2;
    asym.padding_left = 0;
    asym.padding_bottom = 1;
    asym.padding_right = 3;
    asym.kernel_width = 2;
    check_conv(kernel, asym);
    Conv2dGeometry dilated = conv(11, 10, 4, 6, 3, 1, 2);
    dilated.dilation_height = dilated.dilation_width = 2;
    dilated.batch = 2;
    check_conv(kernel, dilated);
  });
}

TEST_CASE("qu8_conv2d: im2col in several chunks and threads", "[kernels][conv]") {
  // 112x112 outputs of K = 27: more pixels than one im2col chunk.
  for (int threads : {2, 1}) {
    if (frost::num_threads() != threads) frost::set_num_threads(threads);
    for_each_gemm_kernel([](const GemmKernel& kernel) {
      if (kernel.isa == frost::kernels::Isa::scalar) return;  // slow, and covered above
      check_conv(kernel, conv(45, 47, 3, 16, 3, 2, 1));
      check_conv(kernel, conv(20, 20, 32, 24, 1, 2, 0));
    });
  }
}

TEST_CASE("qu8_conv2d: bad arguments throw frost::Error", "[kernels][conv]") {
  using namespace frost::kernels;
  Conv2dGeometry g = conv(4, 4, 3, 8, 3, 1, 1);
  std::vector<std::int8_t> w(static_cast<std::size_t>(8 * g.gemm_k()), 1);
  std::vector<std::uint8_t> x(4 * 4 * 3), y(4 * 4 * 8);
  const std::vector<float> scales{0.01f};
  const PackedWeights packed = pack_conv2d_weights(g, w.data(), nullptr, 0);
  Conv2dGeometry bad = g;
  bad.in_channels = 4;  // weights packed for 3
  REQUIRE_THROWS_AS(qu8_conv2d(bad, x.data(), packed, {scales, {}}, y.data()), frost::Error);
  bad = g;
  bad.stride_height = 0;
  REQUIRE_THROWS_AS(qu8_conv2d(bad, x.data(), packed, {scales, {}}, y.data()), frost::Error);
  bad = g;
  bad.padding_left = -1;
  REQUIRE_THROWS_AS(pack_conv2d_weights(bad, w.data(), nullptr, 0), frost::Error);
  bad = conv(2, 2, 3, 8, 5, 1, 0);  // 5x5 kernel on an unpadded 2x2 input
  REQUIRE_THROWS_AS(pack_conv2d_weights(bad, w.data(), nullptr, 0), frost::Error);
  REQUIRE_THROWS_AS(qu8_conv2d(g, nullptr, packed, {scales, {}}, y.data()), frost::Error);
  const std::vector<float> wrong_count{0.1f, 0.2f};
  REQUIRE_THROWS_AS(qu8_conv2d(g, x.data(), packed, {wrong_count, {}}, y.data()), frost::Error);
}
