// INT8 max / average pooling, element-wise and squeeze-excite multiply, and the NCHW <-> NHWC
// edges of the engine: every kernel bit-exact against naive loops written here (integers only:
// the requantization's float multiply and round are emulated in integer arithmetic), every SIMD
// path of the multiply list this CPU runs, 1 and 2 threads, the pools against frost's FP32
// pooling on dequantized values, and bad arguments.

#include <frost/core/parallel.hpp>
#include <frost/core/rng.hpp>
#include <frost/kernels/elementwise/layout.hpp>
#include <frost/kernels/elementwise/mul.hpp>
#include <frost/kernels/fp32/avg_pool2d.hpp>
#include <frost/kernels/fp32/max_pool2d.hpp>
#include <frost/kernels/pool/avg_pool2d.hpp>
#include <frost/kernels/pool/max_pool2d.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

namespace {

using namespace frost::kernels;

template <class Fn, std::size_t N>
std::vector<const ElementwiseKernel<Fn>*> runnable(const ElementwiseKernel<Fn> (&list)[N]) {
  std::vector<const ElementwiseKernel<Fn>*> out;
  for (const auto& k : list) {
    if (isa_supported(k.isa))
      out.push_back(&k);
    else
      WARN("SKIP " << k.name << ": this CPU lacks " << isa_name(k.isa));
  }
  return out;
}

std::vector<Isa> runnable_isas() {
  std::vector<Isa> out;
  for (Isa isa : kAllIsas)
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

std::vector<std::uint8_t> random_codes(frost::Generator& gen, std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (auto& x : v) x = static_cast<std::uint8_t>(gen.uniform_int(256));
  return v;
}

// Restores the thread count a test case found.
class ThreadCountGuard {
 public:
  ThreadCountGuard() : previous_(frost::num_threads()) {}
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;
  ~ThreadCountGuard() { frost::set_num_threads(previous_); }

 private:
  int previous_;
};

// ---- the requantization in integers -------------------------------------------------------

// x / 2^shift rounded half to even (x >= 0).
std::uint64_t shift_round_half_even(std::uint64_t x, int shift) {
  if (shift <= 0) return x << -shift;
  if (shift >= 63) return 0;  // x < 2^62 here, so x / 2^shift < 1/2
  const std::uint64_t q = x >> shift, rem = x & ((std::uint64_t{1} << shift) - 1);
  const std::uint64_t half = std::uint64_t{1} << (shift - 1);
  return q + ((rem > half || (rem == half && (q & 1))) ? 1 : 0);
}

// requantize(acc, m, o) of kernels/requantize.hpp without a float operation: float(acc) is exact
// for |acc| < 2^24; the IEEE product acc * m is the exact integer product of acc and m's
// significand, rounded half to even to 24 significant bits; then rounded half to even to an
// integer, clamped to the output range and offset by the zero point.
int exact_requantize(std::int32_t acc, float m, const OutputQuantization& o) {
  const auto bits = std::bit_cast<std::uint32_t>(m);
  const int biased = static_cast<int>(bits >> 23 & 0xFF);
  REQUIRE((bits >> 31) == 0);
  REQUIRE(biased != 0);  // normal
  REQUIRE(biased != 255);
  REQUIRE(std::abs(acc) < (1 << 24));
  const std::uint64_t significand = (bits & 0x7FFFFFu) | 0x800000u;  // m = significand * 2^exp
  int exp = biased - 150;
  std::uint64_t product = static_cast<std::uint64_t>(std::abs(acc)) * significand;  // < 2^48
  const int width = 64 - std::countl_zero(product);
  if (width > 24) {
    product = shift_round_half_even(product, width - 24);
    exp += width - 24;
  }
  const auto magnitude = static_cast<std::int64_t>(shift_round_half_even(product, -exp));
  const std::int64_t rounded = acc < 0 ? -magnitude : magnitude;
  const std::int64_t lo = std::int64_t{o.output_min} - o.zero_point;
  const std::int64_t hi = std::int64_t{o.output_max} - o.zero_point;
  return static_cast<int>(std::clamp(rounded, lo, hi) + o.zero_point);
}

// ---- naive pooling ------------------------------------------------------------------------

struct Shape4 {
  std::int64_t n, h, w, c;
};

// PyTorch's output size, written out again: floor((in + 2p - d(k-1) - 1) / s) + 1, or with
// ceil_mode rounded up unless the last window would start past the input and left padding.
std::int64_t naive_out_size(std::int64_t in, int k, int s, int p, int d, bool ceil_mode) {
  const std::int64_t span = in + 2 * p - std::int64_t{d} * (k - 1) - 1;
  if (span < 0) return 0;
  std::int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

bool naive_geometry_ok(const Pool2dNhwcGeometry& g) {
  return g.padding_height <= g.kernel_height / 2 && g.padding_width <= g.kernel_width / 2 &&
         naive_out_size(g.input_height, g.kernel_height, g.stride_height, g.padding_height,
                        g.dilation_height, g.ceil_mode) >= 1 &&
         naive_out_size(g.input_width, g.kernel_width, g.stride_width, g.padding_width,
                        g.dilation_width, g.ceil_mode) >= 1;
}

std::vector<std::uint8_t> naive_max_pool(const Pool2dNhwcGeometry& g,
                                         const std::vector<std::uint8_t>& x) {
  const std::int64_t OH = naive_out_size(g.input_height, g.kernel_height, g.stride_height,
                                         g.padding_height, g.dilation_height, g.ceil_mode);
  const std::int64_t OW = naive_out_size(g.input_width, g.kernel_width, g.stride_width,
                                         g.padding_width, g.dilation_width, g.ceil_mode);
  const std::int64_t H = g.input_height, W = g.input_width, C = g.channels;
  std::vector<std::uint8_t> y(static_cast<std::size_t>(g.batch * OH * OW * C));
  for (std::int64_t n = 0; n < g.batch; ++n)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t oy = 0; oy < OH; ++oy)
        for (std::int64_t ox = 0; ox < OW; ++ox) {
          int best = -1;  // stands for -inf: no cell inside the input seen yet
          for (int ky = 0; ky < g.kernel_height; ++ky)
            for (int kx = 0; kx < g.kernel_width; ++kx) {
              const std::int64_t iy =
                  oy * g.stride_height - g.padding_height + std::int64_t{ky} * g.dilation_height;
              const std::int64_t ix =
                  ox * g.stride_width - g.padding_width + std::int64_t{kx} * g.dilation_width;
              if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                best = std::max(best,
                                int{x[static_cast<std::size_t>(((n * H + iy) * W + ix) * C + c)]});
            }
          y[static_cast<std::size_t>(((n * OH + oy) * OW + ox) * C + c)] =
              static_cast<std::uint8_t>(best < 0 ? 0 : best);
        }
  return y;
}

// The divisor along one axis, from PyTorch's definition: the window [start, start + k) cut at
// the end of the padded input; with count_include_pad that many cells, else those inside.
std::int64_t naive_axis_count(std::int64_t o, int k, int s, int p, std::int64_t in,
                              bool include_pad) {
  std::int64_t count = 0;
  for (std::int64_t i = o * s - p; i < o * s - p + k; ++i) {
    if (i >= in + p) break;
    if (include_pad || (i >= 0 && i < in)) ++count;
  }
  return count;
}

std::vector<std::uint8_t> naive_avg_pool(const Pool2dNhwcGeometry& g, bool include_pad,
                                         const std::vector<std::uint8_t>& x,
                                         const QuantizationParams& in,
                                         const QuantizationParams& out) {
  const std::int64_t OH = naive_out_size(g.input_height, g.kernel_height, g.stride_height,
                                         g.padding_height, 1, g.ceil_mode);
  const std::int64_t OW = naive_out_size(g.input_width, g.kernel_width, g.stride_width,
                                         g.padding_width, 1, g.ceil_mode);
  const std::int64_t H = g.input_height, W = g.input_width, C = g.channels;
  std::vector<std::uint8_t> y(static_cast<std::size_t>(g.batch * OH * OW * C));
  for (std::int64_t n = 0; n < g.batch; ++n)
    for (std::int64_t oy = 0; oy < OH; ++oy)
      for (std::int64_t ox = 0; ox < OW; ++ox) {
        const std::int64_t divisor =
            naive_axis_count(oy, g.kernel_height, g.stride_height, g.padding_height, H,
                             include_pad) *
            naive_axis_count(ox, g.kernel_width, g.stride_width, g.padding_width, W, include_pad);
        const float m = static_cast<float>(static_cast<double>(in.scale) /
                                           (static_cast<double>(out.scale) * divisor));
        for (std::int64_t c = 0; c < C; ++c) {
          std::int32_t acc = 0;
          for (int ky = 0; ky < g.kernel_height; ++ky)
            for (int kx = 0; kx < g.kernel_width; ++kx) {
              const std::int64_t iy = oy * g.stride_height - g.padding_height + ky;
              const std::int64_t ix = ox * g.stride_width - g.padding_width + kx;
              if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                acc += x[static_cast<std::size_t>(((n * H + iy) * W + ix) * C + c)] - in.zero_point;
            }
          y[static_cast<std::size_t>(((n * OH + oy) * OW + ox) * C + c)] =
              static_cast<std::uint8_t>(exact_requantize(acc, m, full_range(out.zero_point)));
        }
      }
  return y;
}

Pool2dNhwcGeometry pool_geometry(Shape4 s, int k, int stride, int padding, int dilation,
                                 bool ceil_mode) {
  Pool2dNhwcGeometry g;
  g.batch = s.n;
  g.input_height = s.h;
  g.input_width = s.w;
  g.channels = s.c;
  g.kernel_height = g.kernel_width = k;
  g.stride_height = g.stride_width = stride;
  g.padding_height = g.padding_width = padding;
  g.dilation_height = g.dilation_width = dilation;
  g.ceil_mode = ceil_mode;
  return g;
}

// NHWC codes -> NCHW reals (double: the float reference below then rounds only once).
std::vector<double> dequantized_nchw(const Pool2dNhwcGeometry& g,
                                     const std::vector<std::uint8_t>& x,
                                     const QuantizationParams& q) {
  const std::int64_t H = g.input_height, W = g.input_width, C = g.channels;
  std::vector<double> out(x.size());
  for (std::int64_t n = 0; n < g.batch; ++n)
    for (std::int64_t y = 0; y < H; ++y)
      for (std::int64_t xx = 0; xx < W; ++xx)
        for (std::int64_t c = 0; c < C; ++c)
          out[static_cast<std::size_t>(((n * C + c) * H + y) * W + xx)] =
              static_cast<double>(q.scale) *
              (x[static_cast<std::size_t>(((n * H + y) * W + xx) * C + c)] - q.zero_point);
  return out;
}

// Round half to even of real / scale + zero point, clamped: the quantization of a double.
int quantize_real(double real, const QuantizationParams& q) {
  if (std::isinf(real)) return real < 0 ? 0 : 255;
  return static_cast<int>(
      std::clamp(std::nearbyint(real / static_cast<double>(q.scale)) + q.zero_point, 0.0, 255.0));
}

const std::int64_t kChannels[] = {1, 3, 7, 16, 17, 33};

}  // namespace

// ---- max pool -----------------------------------------------------------------------------

TEST_CASE("qu8_maxpool: hand-computed windows", "[engine][int8][pool]") {
  // One 3x3 image, one channel:  1 9 2 / 4 3 8 / 7 5 6.
  const std::vector<std::uint8_t> x = {1, 9, 2, 4, 3, 8, 7, 5, 6};
  std::vector<std::uint8_t> y(4, 0xA5);
  max_pool2d_nhwc_u8(pool_geometry({1, 3, 3, 1}, 2, 1, 0, 1, false), x.data(), y.data());
  CHECK(y == std::vector<std::uint8_t>{9, 9, 7, 8});
  // Kernel 3, stride 2, padding 1: windows centred on the corners; padding never wins even
  // though every code here is above 0.
  max_pool2d_nhwc_u8(pool_geometry({1, 3, 3, 1}, 3, 2, 1, 1, false), x.data(), y.data());
  CHECK(y == std::vector<std::uint8_t>{9, 9, 7, 8});
  // Dilation 2 on kernel 2: each window is the four corners of a 3x3 block.
  std::vector<std::uint8_t> one(1);
  max_pool2d_nhwc_u8(pool_geometry({1, 3, 3, 1}, 2, 1, 0, 2, false), x.data(), one.data());
  CHECK(int{one[0]} == 7);  // max(1, 2, 7, 6)
  // Height 1, kernel 2, padding 1, dilation 2: the window rows are -1 and 1, both padding; the
  // float kernel gives -inf there, whose quantization is code 0.
  const std::vector<std::uint8_t> row = {200, 100};
  Pool2dNhwcGeometry g = pool_geometry({1, 1, 2, 1}, 2, 1, 1, 2, false);
  REQUIRE(g.output_height() == 1);
  REQUIRE(g.output_width() == 2);
  std::vector<std::uint8_t> pad_only(2, 0xA5);
  max_pool2d_nhwc_u8(g, row.data(), pad_only.data());
  CHECK(pad_only == std::vector<std::uint8_t>{0, 0});
  // Several channels pool independently.
  const std::vector<std::uint8_t> two = {1, 200, 50, 3, 7, 9, 0, 255};  // 2x2 pixels x 2 channels
  std::vector<std::uint8_t> two_out(2);
  max_pool2d_nhwc_u8(pool_geometry({1, 2, 2, 2}, 2, 2, 0, 1, false), two.data(), two_out.data());
  CHECK(two_out == std::vector<std::uint8_t>{50, 255});
}

TEST_CASE("qu8_maxpool: bit-exact with naive loops over the geometry grid",
          "[engine][int8][pool]") {
  frost::Generator gen(101);
  ThreadCountGuard threads;
  int cases = 0;
  for (std::int64_t batch : {1, 2, 3})
    for (std::int64_t channels : kChannels)
      for (int k : {2, 3, 5})
        for (int stride : {1, 2})
          for (int padding : {0, 1})
            for (int dilation : {1, 2})
              for (bool ceil_mode : {false, true}) {
                const Shape4 s{batch, 1 + static_cast<std::int64_t>(gen.uniform_int(9)),
                               1 + static_cast<std::int64_t>(gen.uniform_int(9)), channels};
                Pool2dNhwcGeometry g = pool_geometry(s, k, stride, padding, dilation, ceil_mode);
                g.kernel_width = k == 5 ? 3 : k;  // non-square kernels too
                g.stride_width = 3 - stride;
                if (!naive_geometry_ok(g)) {
                  CHECK_THROWS_AS(check_pool2d_nhwc_geometry(g, "test"), frost::Error);
                  continue;
                }
                ++cases;
                const auto x = random_codes(gen, static_cast<std::size_t>(s.n * s.h * s.w * s.c));
                const auto expected = naive_max_pool(g, x);
                REQUIRE(g.output_pixels() * g.channels ==
                        static_cast<std::int64_t>(expected.size()));
                std::vector<std::uint8_t> spec(expected.size());
                max_pool2d_nhwc_u8_reference(g, x.data(), spec.data());
                REQUIRE(spec == expected);
                frost::set_num_threads(1 + cases % 2);
                std::vector<std::uint8_t> y(expected.size() + 8, 0xA5);
                max_pool2d_nhwc_u8(g, x.data(), y.data());
                INFO("input " << s.n << "x" << s.h << "x" << s.w << "x" << s.c << " kernel "
                              << g.kernel_height << "x" << g.kernel_width << " stride "
                              << g.stride_height << "x" << g.stride_width << " padding " << padding
                              << " dilation " << dilation << " ceil " << ceil_mode);
                REQUIRE(std::vector<std::uint8_t>(y.begin(), y.end() - 8) == expected);
                for (std::size_t i = expected.size(); i < y.size(); ++i) REQUIRE(y[i] == 0xA5);
              }
  CHECK(cases > 500);
}

TEST_CASE("qu8_maxpool: many pixels, 1 and 2 threads", "[engine][int8][pool]") {
  frost::Generator gen(102);
  ThreadCountGuard threads;
  const Pool2dNhwcGeometry g = pool_geometry({2, 33, 31, 40}, 3, 2, 1, 1, false);
  const auto x = random_codes(gen, static_cast<std::size_t>(2 * 33 * 31 * 40));
  const auto expected = naive_max_pool(g, x);
  for (int t : {1, 2}) {
    frost::set_num_threads(t);
    std::vector<std::uint8_t> y(expected.size());
    max_pool2d_nhwc_u8(g, x.data(), y.data());
    REQUIRE(y == expected);
  }
}

TEST_CASE("qu8_maxpool: equals frost's FP32 max_pool2d on dequantized values",
          "[engine][int8][pool]") {
  // Max commutes with the monotone quantization, so the float model's output, quantized with
  // the input's parameters, is exactly the INT8 output: shape rule, windows and all.
  frost::Generator gen(103);
  const QuantizationParams q{0.037f, 117};
  for (int k : {2, 3, 5})
    for (int stride : {1, 2})
      for (int padding : {0, 1})
        for (int dilation : {1, 2})
          for (bool ceil_mode : {false, true})
            for (std::int64_t h : {1, 2, 4, 7}) {
              const Shape4 s{2, h, 6, 3};
              const Pool2dNhwcGeometry g =
                  pool_geometry(s, k, stride, padding, dilation, ceil_mode);
              const fp32::Pool2dGeometry fg = g.fp32_geometry();
              bool fp32_ok = true;
              try {
                fp32::check_pool2d_geometry(fg, "fp32");
              } catch (const frost::Error&) {
                fp32_ok = false;
              }
              if (!fp32_ok) {
                CHECK_THROWS_AS(max_pool2d_nhwc_u8(g, nullptr, nullptr), frost::Error);
                continue;
              }
              REQUIRE(pool2d_nhwc_geometry(fg).output_height() == g.output_height());
              const auto x = random_codes(gen, static_cast<std::size_t>(2 * h * 6 * 3));
              const std::vector<double> real = dequantized_nchw(g, x, q);
              std::vector<double> pooled(static_cast<std::size_t>(fg.planes() * fg.output_plane()));
              fp32::max_pool2d_forward(fg, real.data(), pooled.data(),
                                       static_cast<std::int32_t*>(nullptr));
              std::vector<std::uint8_t> y(pooled.size());
              max_pool2d_nhwc_u8(g, x.data(), y.data());
              const std::int64_t OH = g.output_height(), OW = g.output_width();
              for (std::int64_t n = 0; n < 2; ++n)
                for (std::int64_t c = 0; c < 3; ++c)
                  for (std::int64_t p = 0; p < OH * OW; ++p) {
                    const double v = pooled[static_cast<std::size_t>((n * 3 + c) * OH * OW + p)];
                    REQUIRE(int{y[static_cast<std::size_t>((n * OH * OW + p) * 3 + c)]} ==
                            quantize_real(v, q));
                  }
            }
}

// ---- average pool -------------------------------------------------------------------------

TEST_CASE("qu8_avgpool: hand-computed windows and divisors", "[engine][int8][pool]") {
  // 2x2 image 10 20 / 30 42, scale 1, zero points 0: kernel 2, stride 2 -> 25.5 -> 26.
  const std::vector<std::uint8_t> x = {10, 20, 30, 42};
  const QuantizationParams unit{1.0f, 0};
  std::vector<std::uint8_t> y(4, 0xA5);
  avg_pool2d_nhwc_u8(pool_geometry({1, 2, 2, 1}, 2, 2, 0, 1, false), true, x.data(), y.data(), unit,
                     unit);
  CHECK(int{y[0]} == 26);
  // Kernel 2, stride 2, padding 1: output 2x2, each window holds one input cell and three
  // padded ones. count_include_pad: divisor 4 -> 10/4 = 2.5 -> 2, 20/4 = 5, 30/4 = 7.5 -> 8,
  // 42/4 = 10.5 -> 10 (half to even). Without: divisor 1, each cell itself.
  const Pool2dNhwcGeometry padded = pool_geometry({1, 2, 2, 1}, 2, 2, 1, 1, false);
  REQUIRE(padded.output_height() == 2);
  avg_pool2d_nhwc_u8(padded, true, x.data(), y.data(), unit, unit);
  CHECK(y == std::vector<std::uint8_t>{2, 5, 8, 10});
  avg_pool2d_nhwc_u8(padded, false, x.data(), y.data(), unit, unit);
  CHECK(y == x);
  // Padding holds real 0 (code zp_in): with zp_in 10 and scale 0.5, codes 10 20 30 42 are reals
  // 0, 5, 10, 16; kernel 3, stride 1, padding 1, output scale 0.25, zp 3: the top-left window
  // holds all four cells, sum 31 over divisor 9 -> 3.444 / 0.25 = 13.78 -> 14 + 3 = 17;
  // without padding counted, 31 / 4 = 7.75 / 0.25 = 31 + 3 = 34.
  const Pool2dNhwcGeometry k3 = pool_geometry({1, 2, 2, 1}, 3, 1, 1, 1, false);
  avg_pool2d_nhwc_u8(k3, true, x.data(), y.data(), {0.5f, 10}, {0.25f, 3});
  CHECK(int{y[0]} == 17);
  CHECK(y[0] == y[3]);  // every window covers the whole image
  avg_pool2d_nhwc_u8(k3, false, x.data(), y.data(), {0.5f, 10}, {0.25f, 3});
  CHECK(int{y[0]} == 34);
  // ceil_mode: 3 wide, kernel 2, stride 2 -> 2 outputs, the last window hangs past the input
  // (and past the padded input, which is the input here): divisor 1 in both modes.
  const std::vector<std::uint8_t> r = {10, 20, 31};
  std::vector<std::uint8_t> r_out(2);
  Pool2dNhwcGeometry ceil = pool_geometry({1, 1, 3, 1}, 1, 1, 0, 1, true);
  ceil.kernel_width = 2;
  ceil.stride_width = 2;
  REQUIRE(ceil.output_width() == 2);
  avg_pool2d_nhwc_u8(ceil, true, r.data(), r_out.data(), unit, unit);
  CHECK(r_out == std::vector<std::uint8_t>{15, 31});
  // The integer emulation of the requantization agrees with these hand values.
  CHECK(exact_requantize(51, 0.5f, full_range(0)) == 26);
  CHECK(exact_requantize(-51, 0.5f, full_range(0)) == 0);
  CHECK(exact_requantize(-51, 0.5f, full_range(100)) == 74);
  CHECK(exact_requantize(21, 0.5f, full_range(0)) == 10);
  CHECK(exact_requantize(23, 0.5f, full_range(0)) == 12);
}

TEST_CASE("qu8_avgpool: bit-exact with naive integer loops over the geometry grid",
          "[engine][int8][pool]") {
  frost::Generator gen(201);
  ThreadCountGuard threads;
  int cases = 0;
  for (std::int64_t batch : {1, 2, 3})
    for (std::int64_t channels : kChannels)
      for (int k : {2, 3, 5})
        for (int stride : {1, 2})
          for (int padding : {0, 1})
            for (bool ceil_mode : {false, true})
              for (bool include_pad : {true, false}) {
                const Shape4 s{batch, 1 + static_cast<std::int64_t>(gen.uniform_int(9)),
                               1 + static_cast<std::int64_t>(gen.uniform_int(9)), channels};
                Pool2dNhwcGeometry g = pool_geometry(s, k, stride, padding, 1, ceil_mode);
                g.kernel_width = k == 2 ? 3 : k;
                g.stride_width = 3 - stride;
                if (!naive_geometry_ok(g)) continue;
                ++cases;
                const QuantizationParams in{0.01f + 0.2f * gen.uniform_float(),
                                            static_cast<std::int32_t>(gen.uniform_int(256))};
                const QuantizationParams out{0.01f + 0.2f * gen.uniform_float(),
                                             static_cast<std::int32_t>(gen.uniform_int(256))};
                auto x = random_codes(gen, static_cast<std::size_t>(s.n * s.h * s.w * s.c));
                if (cases % 7 == 0) std::fill(x.begin(), x.end(), 255);
                if (cases % 7 == 1) std::fill(x.begin(), x.end(), 0);
                const auto expected = naive_avg_pool(g, include_pad, x, in, out);
                std::vector<std::uint8_t> spec(expected.size());
                avg_pool2d_nhwc_u8_reference(g, include_pad, x.data(), spec.data(), in, out);
                REQUIRE(spec == expected);
                frost::set_num_threads(1 + cases % 2);
                std::vector<std::uint8_t> y(expected.size() + 8, 0xA5);
                avg_pool2d_nhwc_u8(g, include_pad, x.data(), y.data(), in, out);
                INFO("input " << s.n << "x" << s.h << "x" << s.w << "x" << s.c << " kernel "
                              << g.kernel_height << "x" << g.kernel_width << " stride "
                              << g.stride_height << "x" << g.stride_width << " padding " << padding
                              << " ceil " << ceil_mode << " include_pad " << include_pad);
                REQUIRE(std::vector<std::uint8_t>(y.begin(), y.end() - 8) == expected);
                for (std::size_t i = expected.size(); i < y.size(); ++i) REQUIRE(y[i] == 0xA5);
              }
  CHECK(cases > 400);
}

TEST_CASE("qu8_avgpool: within one step of frost's FP32 avg_pool2d on dequantized values",
          "[engine][int8][pool]") {
  // Dequantize, average with the float kernel (its windows and divisor), quantize: the INT8
  // result may differ only where the one float rounding of the multiplier moves a near-tie.
  frost::Generator gen(202);
  std::int64_t values = 0, off_by_one = 0;
  for (int k : {2, 3, 5})
    for (int stride : {1, 2})
      for (int padding : {0, 1})
        for (bool ceil_mode : {false, true})
          for (bool include_pad : {true, false})
            for (std::int64_t h : {1, 2, 5, 8}) {
              const Shape4 s{2, h, 7, 3};
              const Pool2dNhwcGeometry g = pool_geometry(s, k, stride, padding, 1, ceil_mode);
              const fp32::Pool2dGeometry fg = g.fp32_geometry();
              if (!naive_geometry_ok(g)) continue;
              const QuantizationParams in{0.02f + 0.1f * gen.uniform_float(),
                                          static_cast<std::int32_t>(gen.uniform_int(256))};
              const QuantizationParams out{0.02f + 0.1f * gen.uniform_float(),
                                           static_cast<std::int32_t>(gen.uniform_int(256))};
              const auto x = random_codes(gen, static_cast<std::size_t>(2 * h * 7 * 3));
              const std::vector<double> real = dequantized_nchw(g, x, in);
              std::vector<double> pooled(static_cast<std::size_t>(fg.planes() * fg.output_plane()));
              fp32::avg_pool2d_forward(fg, include_pad, real.data(), pooled.data());
              std::vector<std::uint8_t> y(pooled.size());
              avg_pool2d_nhwc_u8(g, include_pad, x.data(), y.data(), in, out);
              const std::int64_t P = g.output_height() * g.output_width();
              for (std::int64_t n = 0; n < 2; ++n)
                for (std::int64_t c = 0; c < 3; ++c)
                  for (std::int64_t p = 0; p < P; ++p) {
                    const int expected =
                        quantize_real(pooled[static_cast<std::size_t>((n * 3 + c) * P + p)], out);
                    const int got = y[static_cast<std::size_t>((n * P + p) * 3 + c)];
                    REQUIRE(std::abs(got - expected) <= 1);
                    ++values;
                    off_by_one += got != expected;
                  }
            }
  CHECK(values > 5000);
  CHECK(off_by_one * 100 < values);  // near-ties are rare
}

TEST_CASE("qu8_avgpool: a window over the whole image equals global average pooling",
          "[engine][int8][pool]") {
  frost::Generator gen(203);
  const QuantizationParams in{0.07f, 131}, out{0.03f, 90};
  for (std::int64_t channels : kChannels) {
    const Shape4 s{3, 7, 5, channels};
    Pool2dNhwcGeometry g = pool_geometry(s, 7, 1, 0, 1, false);
    g.kernel_width = 5;
    const auto x = random_codes(gen, static_cast<std::size_t>(3 * 35 * channels));
    std::vector<std::uint8_t> pooled(static_cast<std::size_t>(3 * channels)), global(pooled.size());
    avg_pool2d_nhwc_u8(g, true, x.data(), pooled.data(), in, out);
    global_average_pool_nhwc_u8(3, channels, x.data(), global.data(),
                                make_global_avg_pool_params(35, in, out));
    REQUIRE(pooled == global);
  }
}

TEST_CASE("qu8_avgpool: many pixels, 1 and 2 threads", "[engine][int8][pool]") {
  frost::Generator gen(204);
  ThreadCountGuard threads;
  const Pool2dNhwcGeometry g = pool_geometry({2, 29, 34, 24}, 3, 1, 1, 1, false);
  const QuantizationParams in{0.05f, 128}, out{0.04f, 120};
  const auto x = random_codes(gen, static_cast<std::size_t>(2 * 29 * 34 * 24));
  for (bool include_pad : {true, false}) {
    const auto expected = naive_avg_pool(g, include_pad, x, in, out);
    for (int t : {1, 2}) {
      frost::set_num_threads(t);
      std::vector<std::uint8_t> y(expected.size());
      avg_pool2d_nhwc_u8(g, include_pad, x.data(), y.data(), in, out);
      REQUIRE(y == expected);
    }
  }
}

// ---- multiply -----------------------------------------------------------------------------

TEST_CASE("qu8_vmul: spec against hand-computed values and integer requantization",
          "[engine][int8][mul]") {
  // a: scale 0.5, zp 128; b: scale 0.25, zp 0; out: scale 0.5, zp 100 -> multiplier 0.25.
  const MulParams p = make_mul_params({0.5f, 128}, {0.25f, 0}, {0.5f, 100});
  CHECK(p.multiplier == 0.25f);
  CHECK(int{mul_u8(132, 8, p)} == 108);    // 4 * 8 * 0.25 = 8
  CHECK(int{mul_u8(130, 5, p)} == 102);    // 2 * 5 / 4 = 2.5 -> 2 (half to even)
  CHECK(int{mul_u8(130, 7, p)} == 104);    // 3.5 -> 4
  CHECK(int{mul_u8(120, 10, p)} == 80);    // -8 * 10 / 4 = -20
  CHECK(int{mul_u8(255, 255, p)} == 255);  // 127 * 255 / 4 clamped
  CHECK(int{mul_u8(0, 255, p)} == 0);
  const MulParams relu6 = make_mul_params({0.5f, 128}, {0.25f, 0}, {0.5f, 100},
                                          FusedActivation::relu6);  // [100, 112]
  CHECK(int{mul_u8(120, 10, relu6)} == 100);
  CHECK(int{mul_u8(140, 20, relu6)} == 112);  // 12 * 20 / 4 = 60 -> real 30 -> clamped at 6
  CHECK(int{mul_u8(132, 8, relu6)} == 108);
  // The multiplier is rounded once from double: in float, 1e-20 * 1e-20 would first underflow
  // to a subnormal and lose most of its digits.
  const MulParams tiny = make_mul_params({1e-20f, 0}, {1e-20f, 0}, {1e-30f, 0});
  CHECK(tiny.multiplier ==
        static_cast<float>(static_cast<double>(1e-20f) * static_cast<double>(1e-20f) /
                           static_cast<double>(1e-30f)));
  CHECK(std::abs(tiny.multiplier - 1e-10f) < 1e-16f);
  // Every input pair of random parameters: the spec equals the integer emulation.
  frost::Generator gen(301);
  for (FusedActivation act : {FusedActivation::none, FusedActivation::relu}) {
    const QuantizationParams a{0.01f + 0.1f * gen.uniform_float(), 77};
    const QuantizationParams b{1.0f / 256.0f, 0};
    const QuantizationParams o{0.01f + 0.1f * gen.uniform_float(), 140};
    const MulParams q = make_mul_params(a, b, o, act);
    CHECK(q.multiplier == static_cast<float>(static_cast<double>(a.scale) * b.scale / o.scale));
    for (int x = 0; x < 256; ++x)
      for (int y = 0; y < 256; ++y) {
        const int expected = exact_requantize((x - 77) * y, q.multiplier, q.output);
        REQUIRE(int{mul_u8(static_cast<std::uint8_t>(x), static_cast<std::uint8_t>(y), q)} ==
                expected);
      }
  }
}

TEST_CASE("qu8_vmul kernels: bit-exact with the spec on every path", "[engine][int8][mul]") {
  frost::Generator gen(302);
  const std::size_t sizes[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1023};
  for (const auto* k : runnable(kVmulKernels)) {
    SECTION(std::string(k->name)) {
      for (std::int32_t zp : {0, 128, 255})
        for (FusedActivation act :
             {FusedActivation::none, FusedActivation::relu, FusedActivation::relu6})
          for (std::size_t n : sizes) {
            const QuantizationParams a{0.02f + 0.1f * gen.uniform_float(), zp};
            const QuantizationParams b{0.002f + 0.01f * gen.uniform_float(), 255 - zp};
            const QuantizationParams o{0.01f + 0.05f * gen.uniform_float(),
                                       static_cast<std::int32_t>(gen.uniform_int(256))};
            const MulParams p = make_mul_params(a, b, o, act);
            auto x = random_codes(gen, n), y = random_codes(gen, n);
            if (n == 64) std::fill(x.begin(), x.end(), 255);
            if (n == 65) std::fill(y.begin(), y.end(), 0);
            std::vector<std::uint8_t> out(n + 16, 0xA5);
            k->fn(n, x.data(), y.data(), out.data(), p);
            for (std::size_t i = 0; i < n; ++i) {
              INFO("n " << n << " i " << i << " a " << int{x[i]} << " b " << int{y[i]});
              REQUIRE(int{out[i]} ==
                      exact_requantize((x[i] - p.a_zero_point) * (y[i] - p.b_zero_point),
                                       p.multiplier, p.output));
            }
            for (std::size_t i = n; i < out.size(); ++i) REQUIRE(out[i] == 0xA5);
            // In place: out is a.
            std::vector<std::uint8_t> in_place = x;
            k->fn(n, in_place.data(), y.data(), in_place.data(), p);
            REQUIRE(std::equal(in_place.begin(), in_place.end(), out.begin()));
          }
      // All 65536 pairs, including the extremes |acc| = 255 * 255 and exact ties
      // (multiplier 0.5: every odd product lands on .5).
      std::vector<std::uint8_t> a(65536), b(65536), out(65536);
      for (std::size_t i = 0; i < 65536; ++i) {
        a[i] = static_cast<std::uint8_t>(i & 255);
        b[i] = static_cast<std::uint8_t>(i >> 8);
      }
      for (const MulParams& p :
           {make_mul_params({1.0f, 0}, {0.5f, 255}, {1.0f, 128}),
            make_mul_params({0.1f, 255}, {0.1f, 0}, {100.0f, 128}),
            make_mul_params({0.05f, 3}, {1.0f / 256, 0}, {0.05f, 0}, FusedActivation::relu)}) {
        k->fn(65536, a.data(), b.data(), out.data(), p);
        for (std::size_t i = 0; i < 65536; ++i) {
          INFO("a " << int{a[i]} << " b " << int{b[i]});
          REQUIRE(out[i] == mul_u8(a[i], b[i], p));
        }
      }
    }
  }
}

TEST_CASE("qu8_vmul entry points: dispatch on every path, 1 and 2 threads", "[engine][int8][mul]") {
  frost::Generator gen(303);
  ThreadCountGuard threads;
  const std::size_t n = 200003;  // several parallel chunks plus a tail
  const auto a = random_codes(gen, n), b = random_codes(gen, n);
  const MulParams p = make_mul_params({0.03f, 100}, {0.07f, 140}, {0.08f, 60});
  for (Isa isa : runnable_isas()) {
    const IsaGuard guard(isa);
    for (int t : {1, 2}) {
      frost::set_num_threads(t);
      std::vector<std::uint8_t> out(n);
      mul_u8_array(n, a.data(), b.data(), out.data(), p);
      for (std::size_t i = 0; i < n; ++i) {
        INFO(isa_name(isa) << " threads " << t << " i " << i);
        REQUIRE(int{out[i]} ==
                exact_requantize((a[i] - 100) * (b[i] - 140), p.multiplier, p.output));
      }
    }
  }
}

TEST_CASE("qu8_vmul channel broadcast (squeeze-excite): bit-exact on every path",
          "[engine][int8][mul]") {
  frost::Generator gen(304);
  ThreadCountGuard threads;
  const QuantizationParams xq{0.04f, 30}, gq{1.0f / 256.0f, 0}, oq{0.035f, 25};
  const MulParams p = make_mul_params(xq, gq, oq);
  for (const auto* k : runnable(kVmulKernels)) {
    SECTION(std::string(k->name)) {
      for (std::int64_t batch : {1, 2, 3})
        for (std::int64_t channels : kChannels)
          for (std::int64_t pixels : {1, 5, 49, 2000}) {
            const auto x = random_codes(gen, static_cast<std::size_t>(batch * pixels * channels));
            const auto gate = random_codes(gen, static_cast<std::size_t>(batch * channels));
            std::vector<std::uint8_t> expected(x.size());
            for (std::int64_t n = 0; n < batch; ++n)
              for (std::int64_t i = 0; i < pixels; ++i)
                for (std::int64_t c = 0; c < channels; ++c) {
                  const auto at = static_cast<std::size_t>((n * pixels + i) * channels + c);
                  const int g = gate[static_cast<std::size_t>(n * channels + c)];
                  expected[at] = static_cast<std::uint8_t>(
                      exact_requantize((x[at] - 30) * g, p.multiplier, p.output));
                }
            std::vector<std::uint8_t> spec(x.size());
            mul_channel_broadcast_reference(batch, pixels, channels, x.data(), gate.data(),
                                            spec.data(), p);
            REQUIRE(spec == expected);
            for (int t : {1, 2}) {
              frost::set_num_threads(t);
              std::vector<std::uint8_t> out(x.size());
              mul_channel_broadcast_nhwc_u8(batch, pixels, channels, x.data(), gate.data(),
                                            out.data(), p, *k);
              REQUIRE(out == expected);
              std::vector<std::uint8_t> in_place = x;
              mul_channel_broadcast_nhwc_u8(batch, pixels, channels, in_place.data(), gate.data(),
                                            in_place.data(), p, *k);
              REQUIRE(in_place == expected);
            }
          }
      // The dispatched overload.
      const auto x = random_codes(gen, 2 * 9 * 17), gate = random_codes(gen, 2 * 17);
      std::vector<std::uint8_t> out(x.size()), spec(x.size());
      mul_channel_broadcast_nhwc_u8(2, 9, 17, x.data(), gate.data(), out.data(), p);
      mul_channel_broadcast_reference(2, 9, 17, x.data(), gate.data(), spec.data(), p);
      REQUIRE(out == spec);
    }
  }
}

// ---- layout -------------------------------------------------------------------------------

TEST_CASE("layout: NCHW <-> NHWC transposes and the engine's quantizing entry and exit",
          "[engine][int8][layout]") {
  frost::Generator gen(401);
  ThreadCountGuard threads;
  const QuantizationParams q{0.043f, 121};
  const float inf = std::numeric_limits<float>::infinity();
  for (Isa isa : runnable_isas()) {
    const IsaGuard guard(isa);
    for (std::int64_t batch : {1, 2, 3})
      for (std::int64_t channels : {1, 2, 3, 4, 7, 16, 17, 33})
        for (auto [h, w] : {std::pair<std::int64_t, std::int64_t>{1, 1},
                            {1, 7},
                            {1, 3},
                            {2, 2},
                            {5, 3},
                            {9, 13},
                            {40, 41}}) {
          const std::int64_t plane = h * w, total = batch * channels * plane;
          INFO(isa_name(isa) << " [" << batch << ", " << channels << ", " << h << ", " << w << "]");
          const auto codes = random_codes(gen, static_cast<std::size_t>(total));
          // Naive index maps: NCHW index of (n, c, p) and NHWC index of the same element.
          const auto nchw = [&](std::int64_t n, std::int64_t c, std::int64_t p) {
            return static_cast<std::size_t>((n * channels + c) * plane + p);
          };
          const auto nhwc = [&](std::int64_t n, std::int64_t c, std::int64_t p) {
            return static_cast<std::size_t>((n * plane + p) * channels + c);
          };
          std::vector<std::uint8_t> t1(codes.size(), 0xA5), t2(codes.size(), 0xA5);
          nhwc_to_nchw_u8(batch, channels, h, w, codes.data(), t1.data());
          nchw_to_nhwc_u8(batch, channels, h, w, codes.data(), t2.data());
          for (std::int64_t n = 0; n < batch; ++n)
            for (std::int64_t c = 0; c < channels; ++c)
              for (std::int64_t p = 0; p < plane; ++p) {
                REQUIRE(t1[nchw(n, c, p)] == codes[nhwc(n, c, p)]);
                REQUIRE(t2[nhwc(n, c, p)] == codes[nchw(n, c, p)]);
              }
          // Entry: quantize the NCHW floats, including ties, NaN, infinities.
          std::vector<float> x(codes.size());
          for (std::size_t i = 0; i < x.size(); ++i)
            x[i] = i % 11 == 3   ? std::numeric_limits<float>::quiet_NaN()
                   : i % 11 == 4 ? (i % 2 ? inf : -inf)
                   : i % 11 == 5
                       ? (static_cast<float>(gen.uniform_int(300)) - 150.0f + 0.5f) * q.scale
                       : 12.0f * (gen.uniform_float() - 0.5f);
          std::vector<std::uint8_t> flat(x.size()), entry(x.size(), 0xA5);
          quantize_u8_array(x.size(), x.data(), flat.data(), q);
          frost::set_num_threads(1 + static_cast<int>(total % 2));
          quantize_nchw_to_nhwc_u8(batch, channels, h, w, x.data(), entry.data(), q);
          // Exit: dequantize the NHWC codes into NCHW floats.
          std::vector<float> flat_real(codes.size()), exit(codes.size(), -1.0f);
          dequantize_u8_array(codes.size(), codes.data(), flat_real.data(), q);
          dequantize_nhwc_to_nchw_u8(batch, channels, h, w, codes.data(), exit.data(), q);
          for (std::int64_t n = 0; n < batch; ++n)
            for (std::int64_t c = 0; c < channels; ++c)
              for (std::int64_t p = 0; p < plane; ++p) {
                REQUIRE(entry[nhwc(n, c, p)] == flat[nchw(n, c, p)]);
                REQUIRE(entry[nhwc(n, c, p)] == quantize_u8(x[nchw(n, c, p)], q));
                REQUIRE(std::bit_cast<std::uint32_t>(exit[nchw(n, c, p)]) ==
                        std::bit_cast<std::uint32_t>(flat_real[nhwc(n, c, p)]));
              }
        }
  }
}

// ---- bad arguments ------------------------------------------------------------------------

TEST_CASE("qu8 pool, mul and layout ops reject bad arguments with frost::Error", "[engine][int8]") {
  std::uint8_t a[64] = {}, b[64] = {};
  float f[64] = {};
  const QuantizationParams unit{1.0f, 0};
  const Pool2dNhwcGeometry ok = pool_geometry({1, 4, 4, 2}, 2, 2, 0, 1, false);
  CHECK_NOTHROW(max_pool2d_nhwc_u8(ok, a, b));
  CHECK_NOTHROW(avg_pool2d_nhwc_u8(ok, true, a, b, unit, unit));
  const auto rejects = [&](Pool2dNhwcGeometry g) {
    CHECK_THROWS_AS(check_pool2d_nhwc_geometry(g, "test"), frost::Error);
    CHECK_THROWS_AS(max_pool2d_nhwc_u8(g, a, b), frost::Error);
    CHECK_THROWS_AS(avg_pool2d_nhwc_u8(g, true, a, b, unit, unit), frost::Error);
  };
  Pool2dNhwcGeometry g = ok;
  g.channels = 0;
  rejects(g);
  g = ok;
  g.input_height = -1;
  rejects(g);
  g = ok;
  g.batch = -1;
  rejects(g);
  g = ok;
  g.kernel_width = 0;
  rejects(g);
  g = ok;
  g.stride_height = 0;
  rejects(g);
  g = ok;
  g.dilation_width = 0;
  rejects(g);
  g = ok;
  g.padding_height = 2;  // more than half of kernel 2
  rejects(g);
  g = ok;
  g.padding_width = -1;
  rejects(g);
  g = ok;
  g.kernel_height = 5;  // larger than the 4-high input
  rejects(g);
  g = ok;
  g.input_height = g.input_width = std::int64_t{1} << 40;  // more elements than any index holds
  rejects(g);
  // The message names the op and the sizes.
  g = ok;
  g.kernel_height = 5;
  try {
    max_pool2d_nhwc_u8(g, a, b);
    FAIL("no error");
  } catch (const frost::Error& e) {
    const std::string what = e.what();
    CHECK(what.find("max_pool2d_nhwc_u8") != std::string::npos);
    CHECK(what.find("5x2") != std::string::npos);
    CHECK(what.find("4x4") != std::string::npos);
  }
  // Average pooling alone: no dilation, bad quantization, an overflowing window sum.
  g = ok;
  g.dilation_height = 2;
  CHECK_NOTHROW(max_pool2d_nhwc_u8(g, a, b));
  CHECK_THROWS_AS(avg_pool2d_nhwc_u8(g, true, a, b, unit, unit), frost::Error);
  CHECK_THROWS_AS(avg_pool2d_nhwc_u8(ok, true, a, b, {0.0f, 0}, unit), frost::Error);
  CHECK_THROWS_AS(avg_pool2d_nhwc_u8(ok, true, a, b, unit, {1.0f, 256}), frost::Error);
  // The multiplier is checked for the divisors that occur: every window of `ok` has 4 cells,
  // so 1000 / 4 = 250 is in range, 2000 / 4 = 500 is not.
  CHECK_NOTHROW(avg_pool2d_nhwc_u8(ok, true, a, b, {1000.0f, 0}, unit));
  CHECK_THROWS_AS(avg_pool2d_nhwc_u8(ok, true, a, b, {2000.0f, 0}, unit), frost::Error);
  // Null pointers and overlapping buffers.
  CHECK_THROWS_AS(max_pool2d_nhwc_u8(ok, nullptr, b), frost::Error);
  CHECK_THROWS_AS(max_pool2d_nhwc_u8(ok, a, nullptr), frost::Error);
  CHECK_THROWS_AS(avg_pool2d_nhwc_u8(ok, false, nullptr, b, unit, unit), frost::Error);
  CHECK_THROWS_AS(max_pool2d_nhwc_u8(ok, a, a + 4), frost::Error);
  CHECK_THROWS_AS(avg_pool2d_nhwc_u8(ok, true, a, a, unit, unit), frost::Error);
  // Multiply.
  CHECK_THROWS_AS(make_mul_params({0.0f, 0}, unit, unit), frost::Error);
  CHECK_THROWS_AS(make_mul_params(unit, {1.0f, -1}, unit), frost::Error);
  CHECK_THROWS_AS(make_mul_params(unit, unit, {std::nanf(""), 0}), frost::Error);
  CHECK_THROWS_AS(make_mul_params({100.0f, 0}, {10.0f, 0}, unit), frost::Error);   // 1000 >= 256
  CHECK_THROWS_AS(make_mul_params({1e-30f, 0}, {1e-30f, 0}, unit), frost::Error);  // underflow
  const MulParams mp = make_mul_params(unit, unit, unit);
  CHECK_THROWS_AS(mul_u8_array(4, nullptr, b, a, mp), frost::Error);
  CHECK_NOTHROW(mul_u8_array(0, nullptr, nullptr, nullptr, mp));
  CHECK_THROWS_AS(mul_channel_broadcast_nhwc_u8(1, 4, 4, a, nullptr, b, mp), frost::Error);
  CHECK_THROWS_AS(mul_channel_broadcast_nhwc_u8(1, -4, 4, a, b, b, mp), frost::Error);
  CHECK_THROWS_AS(
      mul_channel_broadcast_nhwc_u8(std::int64_t{1} << 40, std::int64_t{1} << 40, 4, a, b, b, mp),
      frost::Error);
  CHECK_NOTHROW(mul_channel_broadcast_nhwc_u8(0, 4, 4, nullptr, nullptr, nullptr, mp));
  for (const auto& k : kVmulKernels)
    if (!isa_supported(k.isa)) {
      CHECK_THROWS_AS(mul_u8_array(4, a, b, a, mp, k), frost::Error);
      CHECK_THROWS_AS(mul_channel_broadcast_nhwc_u8(1, 1, 4, a, b, a, mp, k), frost::Error);
    }
  // Layout.
  CHECK_THROWS_AS(quantize_nchw_to_nhwc_u8(1, 2, 2, 2, f, a, {0.0f, 0}), frost::Error);
  CHECK_THROWS_AS(quantize_nchw_to_nhwc_u8(1, 2, 2, 2, nullptr, a, unit), frost::Error);
  CHECK_THROWS_AS(quantize_nchw_to_nhwc_u8(1, -2, 2, 2, f, a, unit), frost::Error);
  CHECK_THROWS_AS(dequantize_nhwc_to_nchw_u8(1, 2, 2, 2, a, nullptr, unit), frost::Error);
  CHECK_THROWS_AS(dequantize_nhwc_to_nchw_u8(1, 2, 2, 2, a, f, {1.0f, 300}), frost::Error);
  CHECK_THROWS_AS(nhwc_to_nchw_u8(1, 2, 2, 2, a, a + 3), frost::Error);
  CHECK_THROWS_AS(nchw_to_nhwc_u8(1, 2, 2, 2, nullptr, b), frost::Error);
  CHECK_THROWS_AS(nchw_to_nhwc_u8(std::int64_t{1} << 30, std::int64_t{1} << 30, 2, 2, a, b),
                  frost::Error);
  CHECK_NOTHROW(nchw_to_nhwc_u8(0, 2, 2, 2, nullptr, nullptr));
}
