// INT8 element-wise ops: the scalar specs against hand-computed values, every SIMD path of the
// kernel lists this CPU runs bit-exact against the specs, the threaded entry points, bad input.

#include <frost/core/parallel.hpp>
#include <frost/core/rng.hpp>
#include <frost/kernels/elementwise/elementwise.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
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

std::vector<std::uint8_t> random_codes(frost::Generator& gen, std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (auto& x : v) x = static_cast<std::uint8_t>(gen.uniform_int(256));
  return v;
}

const std::size_t kSizes[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1023, 1024};

}  // namespace

TEST_CASE("element-wise specs: hand-computed values", "[kernels][elementwise]") {
  const QuantizationParams q{0.5f, 10};
  CHECK(int{quantize_u8(0.25f, q)} == 10);   // 0.5 -> 0 (half to even)
  CHECK(int{quantize_u8(0.75f, q)} == 12);   // 1.5 -> 2
  CHECK(int{quantize_u8(1.25f, q)} == 12);   // 2.5 -> 2
  CHECK(int{quantize_u8(-100.0f, q)} == 0);  // clamped
  CHECK(int{quantize_u8(1e30f, q)} == 255);
  CHECK(int{quantize_u8(std::numeric_limits<float>::infinity(), q)} == 255);
  CHECK(int{quantize_u8(-std::numeric_limits<float>::infinity(), q)} == 0);
  CHECK(int{quantize_u8(std::numeric_limits<float>::quiet_NaN(), q)} == 0);
  CHECK(dequantize_u8(12, q) == 1.0f);
  CHECK(dequantize_u8(0, q) == -5.0f);

  // a: scale 0.5, zp 128; b: scale 0.25, zp 128; out: scale 0.5, zp 100.
  const AddParams p = make_add_params({0.5f, 128}, {0.25f, 128}, {0.5f, 100});
  CHECK(int{add_u8(130, 120, p)} == 98);   // 2 * 1 + (-8) * 0.5 = -2
  CHECK(int{add_u8(129, 127, p)} == 100);  // 1 - 0.5 = 0.5 -> 0
  CHECK(int{add_u8(130, 127, p)} == 102);  // 2 - 0.5 = 1.5 -> 2
  CHECK(int{add_u8(255, 255, p)} == 255);  // 127 + 63.5 -> clamped
  const AddParams relu =
      make_add_params({0.5f, 128}, {0.25f, 128}, {0.5f, 100}, FusedActivation::relu);
  CHECK(int{add_u8(128, 100, relu)} == 100);  // -14 clamped at real 0
  CHECK(int{add_u8(130, 120, relu)} == 100);

  // Average of 10, 20, 30, 42 = 25.5 -> 26 (half to even); of 10, 20, 30, 40 = 25.
  const GlobalAvgPoolParams gp = make_global_avg_pool_params(4, {1.0f, 0}, {1.0f, 0});
  const std::uint8_t pool_in[] = {10, 20, 30, 42};
  std::uint8_t pool_out[1];
  global_average_pool_reference(1, pool_in, pool_out, gp);
  CHECK(int{pool_out[0]} == 26);
  const std::uint8_t pool_in2[] = {10, 20, 30, 40};
  global_average_pool_reference(1, pool_in2, pool_out, gp);
  CHECK(int{pool_out[0]} == 25);
  // With zero points: input zp 20 subtracts, output zp 3 adds: (25 - 20) + 3.
  global_average_pool_reference(1, pool_in2, pool_out,
                                make_global_avg_pool_params(4, {1.0f, 20}, {1.0f, 3}));
  CHECK(int{pool_out[0]} == 8);

  // Requantization for concat: (q - 10) * (0.5 / 0.25) + 7.
  CHECK(int{requantize_u8(13, 10, 2.0f, full_range(7))} == 13);
  CHECK(int{requantize_u8(0, 10, 2.0f, full_range(7))} == 0);
}

TEST_CASE("unary lookup tables match their float definitions", "[kernels][elementwise]") {
  const QuantizationParams in{0.1f, 128};
  const LookupTable hs = make_unary_lookup_table(UnaryOp::hardsigmoid, in, {1.0f / 256.0f, 0});
  CHECK(int{hs[128]} == 128);  // hardsigmoid(0) = 0.5
  CHECK(int{hs[158]} == 255);  // x = 3 -> 1, clamped to 255
  CHECK(int{hs[98]} == 0);     // x = -3 -> 0
  const LookupTable hw = make_unary_lookup_table(UnaryOp::hardswish, in, {0.05f, 20});
  CHECK(int{hw[148]} == 53);  // x = 2: 2 * 5 / 6 = 1.667 -> 33.3 + 20
  CHECK(int{hw[128]} == 20);  // hardswish(0) = 0
  CHECK(int{hw[78]} == 20);   // x = -5 -> 0
  const LookupTable sg = make_unary_lookup_table(UnaryOp::sigmoid, in, {1.0f / 256.0f, 0});
  CHECK(int{sg[128]} == 128);
  const QuantizationParams out{2.0f / 256.0f, 128};
  const LookupTable th = make_unary_lookup_table(UnaryOp::tanh, in, out);
  for (int q = 0; q < 256; ++q) {
    const double expected = std::tanh(0.1 * (q - 128)) / (2.0 / 256.0) + 128;
    CHECK(std::abs(th[static_cast<std::size_t>(q)] - std::clamp(expected, 0.0, 255.0)) <= 0.51);
  }
  std::vector<std::uint8_t> codes = {0, 128, 158, 98, 255}, mapped(5);
  apply_lookup_table(5, hs, codes.data(), mapped.data());
  CHECK(mapped == std::vector<std::uint8_t>{hs[0], 128, 255, 0, hs[255]});
}

TEST_CASE("vadd kernels: bit-exact with the spec", "[kernels][elementwise]") {
  frost::Generator gen(11);
  for (const auto* k : runnable(kVaddKernels)) {
    SECTION(std::string(k->name)) {
      for (std::int32_t zp : {0, 128, 255})
        for (FusedActivation act :
             {FusedActivation::none, FusedActivation::relu, FusedActivation::relu6})
          for (std::size_t n : kSizes) {
            const QuantizationParams a{0.02f + 0.1f * gen.uniform_float(), zp};
            const QuantizationParams b{0.02f + 0.1f * gen.uniform_float(), 255 - zp};
            const QuantizationParams o{0.05f + 0.1f * gen.uniform_float(),
                                       static_cast<std::int32_t>(gen.uniform_int(256))};
            const AddParams p = make_add_params(a, b, o, act);
            auto x = random_codes(gen, n), y = random_codes(gen, n);
            if (n == 64) std::fill(x.begin(), x.end(), 255);
            if (n == 65) std::fill(y.begin(), y.end(), 0);
            std::vector<std::uint8_t> out(n + 16, 0xA5);
            k->fn(n, x.data(), y.data(), out.data(), p);
            for (std::size_t i = 0; i < n; ++i) {
              INFO("n " << n << " i " << i << " a " << int{x[i]} << " b " << int{y[i]});
              REQUIRE(out[i] == add_u8(x[i], y[i], p));
            }
            for (std::size_t i = n; i < out.size(); ++i) REQUIRE(out[i] == 0xA5);
          }
      // Exact ties: multipliers 1 and 0.5 make every odd b - zb land on .5.
      const AddParams ties = make_add_params({1.0f, 128}, {0.5f, 128}, {1.0f, 128});
      std::vector<std::uint8_t> x(256), y(256), out(256);
      for (int i = 0; i < 256; ++i) {
        x[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
        y[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(255 - i);
      }
      k->fn(256, x.data(), y.data(), out.data(), ties);
      for (std::size_t i = 0; i < 256; ++i) REQUIRE(out[i] == add_u8(x[i], y[i], ties));
    }
  }
}

// Parameters for which the spec's fused multiply-add differs from a separately rounded multiply
// and add for at least one (a, b): a path that does not fuse fails on them.
AddParams params_where_fma_matters() {
  frost::Generator gen(21);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const AddParams p =
        make_add_params({0.01f + gen.uniform_float(), 128}, {0.01f + gen.uniform_float(), 77},
                        {0.05f + gen.uniform_float(), 128});
    for (int a = 0; a < 256; ++a)
      for (int b = 0; b < 256; ++b) {
        volatile float product = static_cast<float>(a - p.a_zero_point) * p.a_multiplier;
        const float unfused = product + static_cast<float>(b - p.b_zero_point) * p.b_multiplier;
        const OutputQuantization& o = p.output;
        if (clamp_round_u8(unfused, o) !=
            add_u8(static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b), p))
          return p;
      }
  }
  FAIL("no parameters found where the fused multiply-add matters");
  return {};
}

TEST_CASE("vadd kernels: all 65536 input pairs, where fusing matters", "[kernels][elementwise]") {
  const AddParams p = params_where_fma_matters();
  std::vector<std::uint8_t> a(65536), b(65536);
  for (std::size_t i = 0; i < 65536; ++i) {
    a[i] = static_cast<std::uint8_t>(i & 255);
    b[i] = static_cast<std::uint8_t>(i >> 8);
  }
  for (const auto* k : runnable(kVaddKernels)) {
    std::vector<std::uint8_t> out(65536);
    k->fn(65536, a.data(), b.data(), out.data(), p);
    for (std::size_t i = 0; i < 65536; ++i) {
      INFO(k->name << " a " << int{a[i]} << " b " << int{b[i]});
      REQUIRE(out[i] == add_u8(a[i], b[i], p));
    }
  }
}

TEST_CASE("quantize and dequantize kernels: bit-exact with the spec", "[kernels][elementwise]") {
  frost::Generator gen(5);
  const float inf = std::numeric_limits<float>::infinity();
  for (const auto* k : runnable(kVquantizeKernels)) {
    SECTION(std::string(k->name)) {
      for (std::int32_t zp : {0, 128, 255})
        for (std::size_t n : kSizes) {
          const QuantizationParams p{0.01f + gen.uniform_float(), zp};
          std::vector<float> x(n);
          for (std::size_t i = 0; i < n; ++i) {
            switch (i % 8) {
              case 0:
                x[i] = (static_cast<float>(gen.uniform_int(600)) - 300.0f + 0.5f) * p.scale;
                break;  // ties
              case 1:
                x[i] = std::numeric_limits<float>::quiet_NaN();
                break;
              case 2:
                x[i] = i % 16 == 2 ? inf : -inf;
                break;
              case 3:
                x[i] = -0.0f;
                break;
              case 4:
                x[i] = 3e38f * (gen.uniform_float() - 0.5f);
                break;
              default:
                x[i] = 300.0f * (gen.uniform_float() - 0.5f) * p.scale;
            }
          }
          std::vector<std::uint8_t> out(n + 16, 0xA5);
          k->fn(n, x.data(), out.data(), p);
          for (std::size_t i = 0; i < n; ++i) {
            INFO("n " << n << " i " << i << " x " << x[i] << " scale " << p.scale << " zp " << zp);
            REQUIRE(out[i] == quantize_u8(x[i], p));
          }
          for (std::size_t i = n; i < out.size(); ++i) REQUIRE(out[i] == 0xA5);
        }
    }
  }
  for (const auto* k : runnable(kVdequantizeKernels)) {
    SECTION(std::string(k->name)) {
      for (std::int32_t zp : {0, 128, 255})
        for (std::size_t n : kSizes) {
          const QuantizationParams p{0.001f + gen.uniform_float(), zp};
          const auto q = random_codes(gen, n);
          std::vector<float> out(n);
          k->fn(n, q.data(), out.data(), p);
          for (std::size_t i = 0; i < n; ++i)
            REQUIRE(std::bit_cast<std::uint32_t>(out[i]) ==
                    std::bit_cast<std::uint32_t>(dequantize_u8(q[i], p)));
        }
    }
  }
}

TEST_CASE("channel-sum kernels and global average pooling: exact", "[kernels][elementwise]") {
  frost::Generator gen(9);
  for (const auto* k : runnable(kChannelSumsKernels)) {
    SECTION(std::string(k->name)) {
      for (std::int64_t channels : {1, 3, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 129})
        for (std::int64_t pixels : {1, 7, 49}) {
          auto in = random_codes(gen, static_cast<std::size_t>(pixels * channels));
          if (channels == 64) std::fill(in.begin(), in.end(), 255);
          std::vector<std::int32_t> sums(static_cast<std::size_t>(channels) + 4, -7),
              expected(sums.size(), -7);
          k->fn(pixels, channels, in.data(), sums.data());
          for (std::int64_t c = 0; c < channels; ++c)
            for (std::int64_t i = 0; i < pixels; ++i)
              expected[static_cast<std::size_t>(c)] +=
                  in[static_cast<std::size_t>(i * channels + c)];
          for (std::int64_t c = 0; c < channels; ++c) expected[static_cast<std::size_t>(c)] += 7;
          REQUIRE(sums == expected);
        }
      // Through the entry point: batch of 3, 1 and 2 threads, against the reference.
      const std::int64_t pixels = 49, channels = 40;
      const auto params = make_global_avg_pool_params(pixels, {0.1f, 120}, {0.05f, 10});
      const auto in = random_codes(gen, static_cast<std::size_t>(3 * pixels * channels));
      std::vector<std::uint8_t> expected(3 * channels);
      for (int n = 0; n < 3; ++n)
        global_average_pool_reference(channels, in.data() + n * pixels * channels,
                                      expected.data() + n * channels, params);
      for (int threads : {1, 2}) {
        frost::set_num_threads(threads);
        std::vector<std::uint8_t> out(3 * channels);
        global_average_pool_nhwc_u8(3, channels, in.data(), out.data(), params, *k);
        REQUIRE(out == expected);
      }
    }
  }
}

TEST_CASE("element-wise entry points: dispatch, 1 and 2 threads", "[kernels][elementwise]") {
  frost::Generator gen(3);
  const std::size_t n = 200003;  // several chunks of the parallel grain plus a tail
  const auto a = random_codes(gen, n), b = random_codes(gen, n);
  const AddParams p =
      make_add_params({0.03f, 100}, {0.07f, 140}, {0.08f, 60}, FusedActivation::relu6);
  std::vector<float> x(n);
  for (auto& v : x) v = 10.0f * (gen.uniform_float() - 0.5f);
  const QuantizationParams q{0.04f, 128};
  for (int threads : {1, 2}) {
    frost::set_num_threads(threads);
    std::vector<std::uint8_t> sum(n), quantized(n);
    std::vector<float> restored(n);
    add_u8_array(n, a.data(), b.data(), sum.data(), p);
    quantize_u8_array(n, x.data(), quantized.data(), q);
    dequantize_u8_array(n, a.data(), restored.data(), q);
    for (std::size_t i = 0; i < n; ++i) {
      REQUIRE(sum[i] == add_u8(a[i], b[i], p));
      REQUIRE(quantized[i] == quantize_u8(x[i], q));
      REQUIRE(restored[i] == dequantize_u8(a[i], q));
    }
  }
}

TEST_CASE("concat requantizes each input to the output parameters", "[kernels][elementwise]") {
  frost::Generator gen(4);
  const std::int64_t pixels = 37;
  const auto a = random_codes(gen, pixels * 5), b = random_codes(gen, pixels * 19),
             c = random_codes(gen, pixels * 2);
  const QuantizationParams out{0.1f, 128};
  const ConcatInput inputs[] = {
      {a.data(), 5, {0.05f, 100}}, {b.data(), 19, out}, {c.data(), 2, {0.3f, 0}}};
  for (int threads : {1, 2}) {
    frost::set_num_threads(threads);
    std::vector<std::uint8_t> result(pixels * 26);
    concat_channels_nhwc_u8(pixels, inputs, out, result.data());
    for (std::int64_t p = 0; p < pixels; ++p) {
      const std::uint8_t* row = result.data() + p * 26;
      for (int ch = 0; ch < 5; ++ch)
        REQUIRE(row[ch] == requantize_u8(a[p * 5 + ch], 100, 0.05f / 0.1f, full_range(128)));
      for (int ch = 0; ch < 19; ++ch) REQUIRE(row[5 + ch] == b[p * 19 + ch]);  // identity
      for (int ch = 0; ch < 2; ++ch)
        REQUIRE(row[24 + ch] == requantize_u8(c[p * 2 + ch], 0, 0.3f / 0.1f, full_range(128)));
    }
    // Hand-checked: input code 102 with zp 100, scale 0.05 -> real 0.1 -> output code 129.
    REQUIRE(requantize_u8(102, 100, 0.05f / 0.1f, full_range(128)) == 129);
  }
}

TEST_CASE("element-wise ops reject bad arguments with frost::Error", "[kernels][elementwise]") {
  CHECK_THROWS_AS(make_add_params({0.0f, 0}, {1.0f, 0}, {1.0f, 0}), frost::Error);
  CHECK_THROWS_AS(make_add_params({1.0f, 256}, {1.0f, 0}, {1.0f, 0}), frost::Error);
  CHECK_THROWS_AS(make_add_params({1.0f, 0}, {1.0f, 0}, {std::nanf(""), 0}), frost::Error);
  CHECK_THROWS_AS(make_add_params({1000.0f, 0}, {1.0f, 0}, {1.0f, 0}),
                  frost::Error);  // multiplier >= 256
  CHECK_THROWS_AS(make_global_avg_pool_params(0, {1.0f, 0}, {1.0f, 0}), frost::Error);
  CHECK_THROWS_AS(make_unary_lookup_table(UnaryOp::tanh, {-1.0f, 0}, {1.0f, 0}), frost::Error);
  float x[4] = {};
  std::uint8_t q[4] = {};
  CHECK_THROWS_AS(quantize_u8_array(4, x, q, {0.0f, 0}), frost::Error);
  CHECK_THROWS_AS(quantize_u8_array(4, nullptr, q, {1.0f, 0}), frost::Error);
  CHECK_THROWS_AS(dequantize_u8_array(4, q, x, {1.0f, -1}), frost::Error);
  CHECK_THROWS_AS(
      global_average_pool_nhwc_u8(1, 0, q, q, make_global_avg_pool_params(1, {1.0f, 0}, {1.0f, 0})),
      frost::Error);
  CHECK_THROWS_AS(concat_channels_nhwc_u8(1, {}, {1.0f, 0}, q), frost::Error);
  const ConcatInput bad[] = {{q, 0, {1.0f, 0}}};
  CHECK_THROWS_AS(concat_channels_nhwc_u8(1, bad, {1.0f, 0}, q), frost::Error);
}
