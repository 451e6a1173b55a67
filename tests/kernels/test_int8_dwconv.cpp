// Every depthwise kernel of kDwconvKernels this CPU runs, bit-exact against the scalar oracle
// (reference/dwconv.hpp); the oracle itself against hand-computed and float results.

#include <frost/core/parallel.hpp>
#include <frost/core/rng.hpp>
#include <frost/kernels/dwconv/dwconv.hpp>
#include <frost/kernels/reference/dwconv.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace {

using frost::kernels::DwconvGeometry;
using frost::kernels::DwconvKernel;
using frost::kernels::OutputQuantization;

enum class Fill { random, all_min, all_max, alternating };

// XNNPACK-style tester: fluent setters, then test(kernel) compares the kernel with the oracle
// for 1 and 2 threads.
class DwconvTester {
 public:
  DwconvTester& input_size(std::int64_t h, std::int64_t w) {
    g_.input_height = h;
    g_.input_width = w;
    return *this;
  }
  DwconvTester& channels(std::int64_t c) {
    g_.channels = c;
    return *this;
  }
  DwconvTester& batch(std::int64_t n) {
    g_.batch = n;
    return *this;
  }
  DwconvTester& kernel(int h, int w) {
    g_.kernel_height = h;
    g_.kernel_width = w;
    return *this;
  }
  DwconvTester& stride(int h, int w) {
    g_.stride_height = h;
    g_.stride_width = w;
    return *this;
  }
  DwconvTester& dilation(int h, int w) {
    g_.dilation_height = h;
    g_.dilation_width = w;
    return *this;
  }
  DwconvTester& padding(int top, int left, int bottom, int right) {
    g_.padding_top = top;
    g_.padding_left = left;
    g_.padding_bottom = bottom;
    g_.padding_right = right;
    return *this;
  }
  DwconvTester& padding(int p) { return padding(p, p, p, p); }
  DwconvTester& input_zero_point(std::int32_t zp) {
    input_zero_point_ = zp;
    return *this;
  }
  DwconvTester& output_zero_point(std::int32_t zp) {
    output_.zero_point = zp;
    return *this;
  }
  DwconvTester& qmin(std::uint8_t v) {
    output_.output_min = v;
    return *this;
  }
  DwconvTester& qmax(std::uint8_t v) {
    output_.output_max = v;
    return *this;
  }
  DwconvTester& per_tensor_scale(float s) {
    per_tensor_scale_ = s;
    return *this;
  }
  DwconvTester& inputs(Fill f) {
    input_fill_ = f;
    return *this;
  }
  DwconvTester& weights(Fill f) {
    weight_fill_ = f;
    return *this;
  }
  DwconvTester& seed(std::uint64_t s) {
    seed_ = s;
    return *this;
  }
  DwconvTester& bias_range(std::int32_t r) {
    bias_range_ = r;
    return *this;
  }
  const DwconvGeometry& geometry() const { return g_; }

  void test(const DwconvKernel& kernel) const {
    INFO(kernel.name << " input " << g_.batch << "x" << g_.input_height << "x" << g_.input_width
                     << "x" << g_.channels << " kernel " << g_.kernel_height << "x"
                     << g_.kernel_width << " stride " << g_.stride_height << "x" << g_.stride_width
                     << " dilation " << g_.dilation_height << "x" << g_.dilation_width
                     << " padding " << g_.padding_top << "," << g_.padding_left << ","
                     << g_.padding_bottom << "," << g_.padding_right << " zp " << input_zero_point_
                     << "/" << output_.zero_point << " clamp " << int{output_.output_min} << ".."
                     << int{output_.output_max});
    REQUIRE(kernel.handles(g_));
    frost::Generator gen(seed_);
    const auto C = static_cast<std::size_t>(g_.channels);
    std::vector<std::uint8_t> input(
        static_cast<std::size_t>(g_.batch * g_.input_height * g_.input_width) * C);
    for (std::size_t i = 0; i < input.size(); ++i)
      input[i] = input_fill_ == Fill::all_min   ? 0
                 : input_fill_ == Fill::all_max ? 255
                 : input_fill_ == Fill::alternating
                     ? static_cast<std::uint8_t>(i % 2 ? 255 : 0)
                     : static_cast<std::uint8_t>(gen.uniform_int(256));
    std::vector<std::int8_t> weights(C * static_cast<std::size_t>(g_.taps()));
    for (std::size_t i = 0; i < weights.size(); ++i)
      weights[i] = weight_fill_ == Fill::all_min   ? std::int8_t{-128}
                   : weight_fill_ == Fill::all_max ? std::int8_t{127}
                   : weight_fill_ == Fill::alternating
                       ? static_cast<std::int8_t>(i % 2 ? 127 : -127)
                       : static_cast<std::int8_t>(static_cast<int>(gen.uniform_int(256)) - 128);
    std::vector<std::int32_t> bias(C);
    for (auto& b : bias)
      b = static_cast<std::int32_t>(
              gen.uniform_int(2 * static_cast<std::uint64_t>(bias_range_) + 1)) -
          bias_range_;
    // Spread the outputs over the u8 range: accumulators vary by about 5000 * sqrt(taps) around a
    // per-channel offset (127.5 - zp) * sum(w) of about 74 * |127.5 - zp| * sqrt(taps).
    const float base =
        40.0f / ((5000.0f + 74.0f * std::abs(127.5f - static_cast<float>(input_zero_point_))) *
                 std::sqrt(static_cast<float>(g_.taps())));
    std::vector<float> scales;
    if (per_tensor_scale_ > 0.0f) {
      scales.push_back(per_tensor_scale_);
    } else {
      for (std::size_t c = 0; c < C; ++c) scales.push_back(base * (0.5f + gen.uniform_float()));
    }

    const std::int64_t out_size = g_.batch * g_.output_height() * g_.output_width() * g_.channels;
    std::vector<std::uint8_t> expected(static_cast<std::size_t>(out_size));
    frost::kernels::dwconv_reference(g_, input.data(), input_zero_point_, weights.data(),
                                     bias.data(), scales, output_, expected.data());
    if (input_fill_ == Fill::random && weight_fill_ == Fill::random && per_tensor_scale_ == 0.0f &&
        out_size >= 64 && output_.output_max - output_.output_min > 100) {
      // Guards the test itself: a degenerate setup (everything clamped) would prove nothing.
      const std::set<std::uint8_t> distinct(expected.begin(), expected.end());
      REQUIRE(distinct.size() >= 8);
    }

    const auto packed = frost::kernels::pack_dwconv_weights(
        g_.channels, g_.kernel_height, g_.kernel_width, weights.data(), bias.data(), scales,
        input_zero_point_, output_);
    for (int threads : {1, 2}) {
      frost::set_num_threads(threads);
      // Guard bytes after the output catch stores past the end.
      std::vector<std::uint8_t> actual(static_cast<std::size_t>(out_size) + 64, 0xA5);
      frost::kernels::dwconv_nhwc(g_, packed, input.data(), actual.data(), kernel);
      for (std::size_t i = static_cast<std::size_t>(out_size); i < actual.size(); ++i)
        REQUIRE(actual[i] == 0xA5);
      for (std::size_t i = 0; i < expected.size(); ++i) {
        if (actual[i] != expected[i]) {
          const std::size_t c = i % C, pixel = i / C;
          FAIL("threads " << threads << ": output pixel " << pixel << " channel " << c << " is "
                          << int{actual[i]} << ", oracle " << int{expected[i]});
        }
      }
    }
    frost::set_num_threads(2);
  }

 private:
  DwconvGeometry g_{1, 5, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
  std::int32_t input_zero_point_ = 128;
  OutputQuantization output_{128, 0, 255};
  float per_tensor_scale_ = 0.0f;
  Fill input_fill_ = Fill::random;
  Fill weight_fill_ = Fill::random;
  std::uint64_t seed_ = 42;
  std::int32_t bias_range_ = 10000;
};

// A tester preset for `k`: its own kernel size and stride, or 3x3 stride 1 for a general kernel.
DwconvTester tester_for(const DwconvKernel& k) {
  DwconvTester t;
  if (k.kernel_height != 0)
    t.kernel(k.kernel_height, k.kernel_width)
        .stride(k.stride_height, k.stride_width)
        .padding(k.kernel_height / 2, k.kernel_width / 2, k.kernel_height / 2, k.kernel_width / 2);
  return t.input_size(9, 11);
}

std::vector<const DwconvKernel*> runnable_kernels() {
  std::vector<const DwconvKernel*> out;
  for (const DwconvKernel& k : frost::kernels::kDwconvKernels) {
    if (frost::kernels::isa_supported(k.isa))
      out.push_back(&k);
    else
      WARN("SKIP " << k.name << ": this CPU lacks " << frost::kernels::isa_name(k.isa));
  }
  return out;
}

}  // namespace

TEST_CASE("dwconv oracle: hand-computed 2x2 filter with zero-point padding", "[kernels][dwconv]") {
  // x - zp = [[2, 4], [0, 10]], w = [[1, -1], [2, 3]], bias 5, scale 0.5, output zp 100.
  const std::uint8_t input[] = {12, 14, 10, 20};
  const std::int8_t weights[] = {1, -1, 2, 3};
  const std::int32_t bias[] = {5};
  const float scale[] = {0.5f};
  DwconvGeometry g{1, 2, 2, 1, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0};
  std::uint8_t out1[1];
  frost::kernels::dwconv_reference(g, input, 10, weights, bias, scale, {100, 0, 255}, out1);
  // 2 - 4 + 0 + 30 + 5 = 33; 16.5 rounds half to even: 16.
  CHECK(int{out1[0]} == 116);

  g.padding_top = g.padding_left = g.padding_bottom = g.padding_right = 1;
  std::uint8_t out3[9];
  frost::kernels::dwconv_reference(g, input, 10, weights, bias, scale, {100, 0, 255}, out3);
  CHECK(int{out3[0]} == 106);  // only x[0][0] * w[1][1]: 6 + 5 = 11; 5.5 -> 6
  CHECK(int{out3[4]} == 116);  // the unpadded window
  CHECK(int{out3[8]} == 108);  // only x[1][1] * w[0][0]: 10 + 5 = 15; 7.5 -> 8
  CHECK(int{out3[2]} == 106);  // only x[0][1] * w[1][0]: 8 + 5 = 13; 6.5 -> 6
  CHECK(int{out3[6]} == 102);  // only x[1][0] * w[0][1]: 0 + 5 = 5; 2.5 -> 2
}

TEST_CASE("dwconv oracle agrees with a float computation", "[kernels][dwconv]") {
  frost::Generator gen(7);
  DwconvGeometry g{2, 6, 5, 3, 3, 2, 2, 1, 1, 2, 1, 2, 0, 1};
  const auto C = static_cast<std::size_t>(g.channels);
  std::vector<std::uint8_t> input(
      static_cast<std::size_t>(g.batch * g.input_height * g.input_width) * C);
  for (auto& v : input) v = static_cast<std::uint8_t>(gen.uniform_int(256));
  std::vector<std::int8_t> weights(C * 6);
  for (auto& v : weights)
    v = static_cast<std::int8_t>(static_cast<int>(gen.uniform_int(255)) - 127);
  const std::vector<std::int32_t> bias = {100, -50, 7};
  const std::vector<float> scales = {0.011f, 0.013f, 0.007f};
  const float in_scale = 0.05f, w_scale = 0.02f;
  const std::int32_t in_zp = 90;
  const OutputQuantization oq{120, 0, 255};
  std::vector<std::uint8_t> out(
      static_cast<std::size_t>(g.batch * g.output_height() * g.output_width()) * C);
  frost::kernels::dwconv_reference(g, input.data(), in_zp, weights.data(), bias.data(), scales, oq,
                                   out.data());
  // Dequantize, convolve in double, quantize with the output scale implied by `scales`.
  const std::int64_t oh = g.output_height(), ow = g.output_width();
  int compared = 0;
  for (std::int64_t n = 0; n < g.batch; ++n)
    for (std::int64_t oy = 0; oy < oh; ++oy)
      for (std::int64_t ox = 0; ox < ow; ++ox)
        for (std::size_t c = 0; c < C; ++c) {
          double real = bias[c] * double{in_scale} * w_scale;
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 2; ++kx) {
              const std::int64_t iy = oy * 2 - 1 + ky, ix = ox - 2 + kx * 2;
              if (iy < 0 || iy >= g.input_height || ix < 0 || ix >= g.input_width) continue;
              const double x = in_scale * (input[((n * 6 + iy) * 5 + ix) * 3 + c] - in_zp);
              real += x * (w_scale * weights[c * 6 + static_cast<std::size_t>(ky * 2 + kx)]);
            }
          const double out_scale = double{in_scale} * w_scale / scales[c];
          const double q = real / out_scale + oq.zero_point;
          if (q < 1 || q > 254) continue;
          const int got = out[static_cast<std::size_t>((n * oh + oy) * ow + ox) * C + c];
          CHECK(std::abs(got - q) <= 0.5 + 1e-3);
          ++compared;
        }
  CHECK(compared > 20);
}

TEST_CASE("dwconv kernels: bit-exact with the oracle", "[kernels][dwconv]") {
  for (const DwconvKernel* kp : runnable_kernels()) {
    const DwconvKernel& k = *kp;
    const std::int64_t tile = k.channel_tile;
    SECTION(std::string(k.name)) {
      tester_for(k).channels(tile).test(k);                                           // c_eq
      for (std::int64_t c : {2 * tile, 3 * tile}) tester_for(k).channels(c).test(k);  // c_div
      for (std::int64_t c = 1; c < tile; c += (tile > 4 ? 3 : 1))
        tester_for(k).channels(c).test(k);  // c_lt
      for (std::int64_t c = tile + 1; c < 2 * tile; c += (tile > 4 ? 5 : 1))
        tester_for(k).channels(c).test(k);  // c_gt
      if (tile >= 2)  // half tiles: a tail that fits half a tile, or overlaps the tile before
        for (std::int64_t c : {tile / 2, tile / 2 + 1, tile + tile / 2, tile + tile / 2 + 1})
          tester_for(k).channels(c).test(k);
      tester_for(k).channels(tile * 4 + 3).seed(3).test(k);  // several tiles and a tail
      // Odd sizes (stride 2 on odd sizes), no padding, and a batch of 2.
      tester_for(k).input_size(13, 7).padding(0).channels(tile + 3).test(k);
      tester_for(k).input_size(8, 6).batch(2).channels(2 * tile + 1).test(k);
      // Padding on one border at a time, then asymmetric.
      const int ph = k.kernel_height != 0 ? k.kernel_height / 2 : 1;
      tester_for(k).padding(ph, 0, 0, 0).channels(tile).test(k);
      tester_for(k).padding(0, ph, 0, 0).channels(tile).test(k);
      tester_for(k).padding(0, 0, ph, 0).channels(tile).test(k);
      tester_for(k).padding(0, 0, 0, ph).channels(tile).test(k);
      tester_for(k).padding(ph + 1, 0, ph, ph + 2).channels(tile + 1).test(k);
      // 1x1 spatial input: every tap but the centre is padding.
      tester_for(k).input_size(1, 1).channels(tile + 2).test(k);
      tester_for(k).input_size(1, 1).channels(tile).input_zero_point(255).test(k);
      // Wide rows (several register blocks plus a remainder).
      tester_for(k).input_size(3, 29).channels(tile).test(k);
      // Rows wide enough that the AVX-512 kernels take channel tiles in several groups.
      tester_for(k).input_size(5, 130).channels(3 * tile + 5).test(k);
      // Clamps.
      tester_for(k).qmin(128).channels(tile + 1).test(k);  // with_qmin
      tester_for(k).qmax(128).channels(tile + 1).test(k);  // with_qmax
      tester_for(k).qmin(100).qmax(140).channels(tile).test(k);
      // Zero points 0, 128, 255 on both sides; per-tensor scale with exact .5 ties.
      for (std::int32_t zp : {0, 128, 255}) {
        tester_for(k).input_zero_point(zp).output_zero_point(255 - zp).channels(tile + 1).test(k);
        tester_for(k).input_zero_point(zp).per_tensor_scale(0.5f).channels(tile).test(k);
      }
      // Accumulators far outside int32 after scaling (y beyond +-2^31 before the clamp).
      tester_for(k).bias_range(1 << 29).per_tensor_scale(200.0f).channels(tile + 1).test(k);
      tester_for(k)
          .bias_range(1 << 29)
          .per_tensor_scale(200.0f)
          .qmin(50)
          .qmax(200)
          .channels(tile)
          .test(k);
      // Extreme inputs and weights.
      for (Fill in : {Fill::all_min, Fill::all_max, Fill::alternating})
        for (Fill w : {Fill::all_min, Fill::all_max, Fill::alternating})
          for (std::int32_t zp : {0, 255})
            tester_for(k)
                .inputs(in)
                .weights(w)
                .input_zero_point(zp)
                .per_tensor_scale(0.001f)
                .channels(tile + 1)
                .test(k);
    }
  }
}

TEST_CASE("dwconv general kernels: other sizes, strides and dilations", "[kernels][dwconv]") {
  for (const DwconvKernel* kp : runnable_kernels()) {
    const DwconvKernel& k = *kp;
    if (k.kernel_height != 0) continue;
    SECTION(std::string(k.name)) {
      const std::int64_t tile = k.channel_tile;
      DwconvTester().kernel(1, 1).padding(0).input_size(4, 5).channels(tile + 1).test(k);
      DwconvTester().kernel(7, 7).padding(3).input_size(9, 8).channels(tile).test(k);
      DwconvTester()
          .kernel(2, 4)
          .stride(1, 3)
          .padding(0, 1, 1, 2)
          .input_size(6, 10)
          .channels(tile + 3)
          .test(k);
      DwconvTester()
          .kernel(3, 3)
          .dilation(2, 2)
          .padding(2)
          .input_size(7, 7)
          .channels(2 * tile)
          .test(k);
      DwconvTester()
          .kernel(3, 5)
          .dilation(1, 3)
          .stride(2, 1)
          .padding(1, 6, 1, 6)
          .input_size(5, 9)
          .channels(tile - 1 > 0 ? tile - 1 : 1)
          .test(k);
      DwconvTester()
          .kernel(5, 5)
          .stride(2, 2)
          .padding(2)
          .input_size(11, 11)
          .channels(tile + 5)
          .qmin(130)
          .test(k);
    }
  }
}

TEST_CASE("dwconv through dispatch (the active ISA, FROST_ISA) matches the oracle",
          "[kernels][dwconv]") {
  INFO("active ISA " << frost::kernels::isa_name(frost::kernels::active_isa()));
  for (const DwconvTester& t :
       {DwconvTester().kernel(3, 3).padding(1).input_size(7, 9).channels(21),
        DwconvTester().kernel(5, 5).stride(2, 2).padding(2).input_size(9, 8).channels(35),
        DwconvTester()
            .kernel(3, 3)
            .dilation(2, 1)
            .padding(2, 1, 2, 1)
            .input_size(6, 6)
            .channels(5)})
    t.test(frost::kernels::select_dwconv_kernel(t.geometry()));
}

TEST_CASE("dwconv dispatch picks the specialised kernel, the general one otherwise",
          "[kernels][dwconv]") {
  DwconvGeometry g{1, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
  using frost::kernels::Isa;
  CHECK(frost::kernels::select_dwconv_kernel(g, Isa::scalar).name ==
        "qu8_dwconv_minmax_fp32_general__scalar");
#if FROST_ARCH_X86_64
  CHECK(frost::kernels::select_dwconv_kernel(g, Isa::avx512vnni).name ==
        "qu8_dwconv_minmax_fp32_3x3s1__avx512vnni");
  g.stride_height = g.stride_width = 2;
  g.kernel_height = g.kernel_width = 5;
  CHECK(frost::kernels::select_dwconv_kernel(g, Isa::avx2).name ==
        "qu8_dwconv_minmax_fp32_5x5s2__avx2");
  g.dilation_width = 2;
  CHECK(frost::kernels::select_dwconv_kernel(g, Isa::avx512vnni).name ==
        "qu8_dwconv_minmax_fp32_general__avx512vnni");
#endif
#if FROST_ARCH_AARCH64
  CHECK(frost::kernels::select_dwconv_kernel(g, Isa::neondot).name ==
        "qu8_dwconv_minmax_fp32_3x3s1__neon");
  g.stride_height = g.stride_width = 2;
  g.kernel_height = g.kernel_width = 5;
  CHECK(frost::kernels::select_dwconv_kernel(g, Isa::neon).name ==
        "qu8_dwconv_minmax_fp32_5x5s2__neon");
  g.dilation_width = 2;
  CHECK(frost::kernels::select_dwconv_kernel(g, Isa::neondot).name ==
        "qu8_dwconv_minmax_fp32_general__neon");
#endif
}

TEST_CASE("dwconv rejects bad arguments with frost::Error", "[kernels][dwconv]") {
  const std::int8_t w[9] = {};
  const float scale[] = {0.5f};
  const float two_scales[] = {0.5f, 0.5f};
  using frost::kernels::pack_dwconv_weights;
  CHECK_THROWS_AS(pack_dwconv_weights(0, 3, 3, w, nullptr, scale, 0, {}), frost::Error);
  CHECK_THROWS_AS(pack_dwconv_weights(1, 0, 3, w, nullptr, scale, 0, {}), frost::Error);
  CHECK_THROWS_AS(pack_dwconv_weights(3, 3, 3, w, nullptr, two_scales, 0, {}), frost::Error);
  CHECK_THROWS_AS(pack_dwconv_weights(1, 3, 3, w, nullptr, scale, 256, {}), frost::Error);
  const float bad_scale[] = {0.0f};
  CHECK_THROWS_AS(pack_dwconv_weights(1, 3, 3, w, nullptr, bad_scale, 0, {}), frost::Error);
  const std::int32_t huge_bias[] = {2000000000};
  CHECK_THROWS_AS(pack_dwconv_weights(1, 3, 3, w, huge_bias, scale, 0, {}), frost::Error);
  CHECK_THROWS_AS(pack_dwconv_weights(1, 3, 3, w, nullptr, scale, 0, {0, 200, 100}), frost::Error);

  const auto packed = pack_dwconv_weights(1, 3, 3, w, nullptr, scale, 0, {});
  std::uint8_t in[64] = {}, out[64] = {};
  DwconvGeometry g{1, 2, 2, 1, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0};  // 2x2 input, 3x3 kernel, no padding
  CHECK_THROWS_AS(frost::kernels::dwconv_nhwc(g, packed, in, out), frost::Error);
  g.padding_top = g.padding_left = g.padding_bottom = g.padding_right = 1;
  frost::kernels::dwconv_nhwc(g, packed, in, out);
  g.channels = 2;  // packed for 1 channel
  CHECK_THROWS_AS(frost::kernels::dwconv_nhwc(g, packed, in, out), frost::Error);
  g.channels = 1;
  g.stride_width = 0;
  CHECK_THROWS_AS(frost::kernels::dwconv_nhwc(g, packed, in, out), frost::Error);
  g.stride_width = 1;
  CHECK_THROWS_AS(frost::kernels::dwconv_nhwc(g, packed, nullptr, out), frost::Error);
#if FROST_ARCH_X86_64 || FROST_ARCH_AARCH64
  g.stride_width = 2;  // a 3x3s1 kernel forced on a stride-2 geometry
  CHECK_THROWS_AS(
      frost::kernels::dwconv_nhwc(g, packed, in, out, frost::kernels::kDwconvKernels[0]),
      frost::Error);
#endif
}
