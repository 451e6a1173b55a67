// Observers (quant/observers.hpp) and their inner loops (kernels/fp32/range.hpp):
//   - scale / zero point computed by hand for ranges with and without 0, affine and symmetric,
//     full, narrow and reduced integer ranges, per tensor and per channel;
//   - per-channel reduction along any axis of any-rank tensors against a naive loop;
//   - moving-average updates (values from a float32 emulation in Python, see the end);
//   - the rule for empty, constant, all-zero, NaN and Inf input, for every observer;
//   - HistogramObserver, EntropyObserver and PercentileObserver against an independent Python
//     transcription of PyTorch's / MXNet's algorithms (reproduced at the end of this file), and
//     on known distributions (uniform data; data with a few huge outliers);
//   - state_dict holds the buffers and a reloaded observer gives the same qparams;
//   - the xsimd kernels are bit-identical to their scalar twins on sizes 0..67.

#include <frost/core/tensor.hpp>
#include <frost/kernels/fp32/range.hpp>
#include <frost/quant/observers.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using frost::Shape;
using frost::Tensor;
namespace fp32 = frost::kernels::fp32;
namespace quant = frost::quant;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Tensor<float> vec(const std::vector<float>& v) {
  return Tensor<float>::from_vector(v, {static_cast<std::int64_t>(v.size())});
}

// The LCG of the Python reference (ref.py below): s = (s * 1103515245 + 12345) mod 2^31,
// x = float(lo + (hi - lo) * s / 2^31). hi - lo is a small integer or a power of two, so the
// double product is exact and an FMA could not change x.
std::vector<float> lcg_data(int n, double lo, double hi, std::uint64_t seed) {
  std::vector<float> out;
  std::uint64_t s = seed;
  for (int i = 0; i < n; ++i) {
    s = (s * 1103515245u + 12345u) % 2147483648u;
    out.push_back(static_cast<float>(lo + (hi - lo) * (static_cast<double>(s) / 2147483648.0)));
  }
  return out;
}

quant::ObserverOptions opts(quant::QuantRange range, quant::QScheme scheme,
                            std::int64_t axis = -1) {
  return quant::ObserverOptions{range, scheme, axis, 0.01};
}

void require_same_bits(float a, float b) {
  INFO(a << " vs " << b);
  REQUIRE(std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b));
}

struct Named {
  std::string name;
  std::function<std::shared_ptr<quant::Observer>(quant::ObserverOptions)> make;
};

// Every per-tensor observer.
std::vector<Named> per_tensor_observers() {
  return {
      {"MinMax", [](auto o) { return std::make_shared<quant::MinMaxObserver>(o); }},
      {"MovingAverageMinMax",
       [](auto o) { return std::make_shared<quant::MovingAverageMinMaxObserver>(o); }},
      {"Histogram", [](auto o) { return std::make_shared<quant::HistogramObserver>(o); }},
      {"Entropy", [](auto o) { return std::make_shared<quant::EntropyObserver>(o); }},
      {"Percentile", [](auto o) { return std::make_shared<quant::PercentileObserver>(o); }},
  };
}

}  // namespace

// ---- hand-computed parameters ----------------------------------------------------------------

TEST_CASE("MinMaxObserver: hand-computed scale and zero point", "[quant][observer]") {
  struct Case {
    const char* what;
    std::vector<float> data;
    quant::QuantRange range;
    quant::QScheme scheme;
    float scale;
    std::int32_t zero_point;
  };
  using quant::QScheme;
  const std::vector<Case> cases = {
      // [-1, 3] contains 0: scale = 4 / 255, zero_point = 0 - round(-1 / (4/255)) = -round(-63.75)
      // = 64.
      {"[-1, 3] u8 affine",
       {0.5f, -1.0f, 3.0f, 2.0f},
       quant::kQuint8,
       QScheme::affine,
       4.0f / 255.0f,
       64},
      // [0.5, 2] is extended to [0, 2]: scale = 2 / 255, zero_point = 0 - round(0) = 0.
      {"[0.5, 2] u8 affine", {0.5f, 2.0f, 1.0f}, quant::kQuint8, QScheme::affine, 2.0f / 255.0f, 0},
      // [-3, -1] is extended to [-3, 0]: scale = 3 / 255, zero_point = 0 - round(-255) = 255.
      {"[-3, -1] u8 affine",
       {-1.0f, -3.0f, -2.0f},
       quant::kQuint8,
       QScheme::affine,
       3.0f / 255.0f,
       255},
      // s8 affine: zero_point = -128 - round(-63.75) = -128 + 64 = -64.
      {"[-1, 3] s8 affine", {-1.0f, 3.0f}, quant::kQint8, QScheme::affine, 4.0f / 255.0f, -64},
      // 7-bit u8: scale = 4 / 127, zero_point = -round(-1 / (4/127)) = -round(-31.75) = 32.
      {"[-1, 3] u7 affine",
       {-1.0f, 3.0f},
       quant::kQuint8Reduced,
       QScheme::affine,
       4.0f / 127.0f,
       32},
      // symmetric s8 [-128, 127]: scale = max(1, 3) / (255 / 2) = 3 / 127.5, zero_point 0.
      {"[-1, 3] s8 symmetric", {-1.0f, 3.0f}, quant::kQint8, QScheme::symmetric, 3.0f / 127.5f, 0},
      // narrow [-127, 127]: scale = 3 / (254 / 2) = 3 / 127.
      {"[-1, 3] s8 narrow symmetric",
       {-1.0f, 3.0f},
       quant::kQint8Narrow,
       QScheme::symmetric,
       3.0f / 127.0f,
       0},
      // |min| wins: scale = 4 / 127, zero_point 0.
      {"[-4, 1] s8 narrow symmetric",
       {-4.0f, 1.0f},
       quant::kQint8Narrow,
       QScheme::symmetric,
       4.0f / 127.0f,
       0},
      // symmetric on u8: zero_point (0 + 255 + 1) / 2 = 128, scale 3 / 127.5.
      {"[-1, 3] u8 symmetric",
       {-1.0f, 3.0f},
       quant::kQuint8,
       QScheme::symmetric,
       3.0f / 127.5f,
       128},
      // [0.5, 2] symmetric: [0, 2], scale 2 / 127.5.
      {"[0.5, 2] s8 symmetric", {0.5f, 2.0f}, quant::kQint8, QScheme::symmetric, 2.0f / 127.5f, 0},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    quant::MinMaxObserver obs(opts(c.range, c.scheme));
    obs.observe(vec(c.data));
    const quant::QParams p = obs.calculate_qparams();
    REQUIRE(p.axis == -1);
    REQUIRE(p.range == c.range);
    require_same_bits(p.scalar_scale(), c.scale);
    REQUIRE(p.scalar_zero_point() == c.zero_point);
    quant::check_qparams(p, "test");
  }
}

TEST_CASE("MinMaxObserver: running min and max over batches", "[quant][observer]") {
  quant::MinMaxObserver obs;
  obs.observe(vec({0.5f, 1.0f}));
  REQUIRE(obs.min_val() == 0.5f);
  REQUIRE(obs.max_val() == 1.0f);
  obs.observe(vec({-2.0f, 0.75f}));
  obs.observe(vec({0.0f, 4.0f}));
  REQUIRE(obs.min_val() == -2.0f);
  REQUIRE(obs.max_val() == 4.0f);
  // [-2, 4]: scale 6 / 255, zero_point = -round(-2 / (6/255)) = -round(-85) = 85.
  const quant::QParams p = obs.calculate_qparams();
  require_same_bits(p.scalar_scale(), 6.0f / 255.0f);
  REQUIRE(p.scalar_zero_point() == 85);
  // forward() is the identity that observes.
  const Tensor<float> x = vec({-5.0f, 1.0f});
  const Tensor<float> y = obs(x);
  REQUIRE(y.data() == x.data());
  REQUIRE(obs.min_val() == -5.0f);
  obs.reset();
  REQUIRE(obs.min_val() == kInf);
  REQUIRE(obs.max_val() == -kInf);
}

TEST_CASE("Per-channel observers: hand-computed per-channel parameters", "[quant][observer]") {
  // Weights [3 out, 2 in, 1, 2], channel c on axis 0.
  const Tensor<float> w =
      Tensor<float>::from_vector({-1.0f, 0.5f, 2.0f, 3.0f,      // channel 0: [-1, 3]
                                  0.25f, 0.5f, 1.0f, 0.75f,     // channel 1: [0.25, 1]
                                  -4.0f, -0.5f, -1.0f, -2.0f},  // channel 2: [-4, -0.5]
                                 {3, 2, 1, 2});
  quant::PerChannelMinMaxObserver obs;  // default: s8 narrow symmetric on axis 0
  REQUIRE(obs.per_channel());
  obs.observe(w);
  REQUIRE(obs.min_vals() == std::vector<float>{-1.0f, 0.25f, -4.0f});
  REQUIRE(obs.max_vals() == std::vector<float>{3.0f, 1.0f, -0.5f});
  const quant::QParams p = obs.calculate_qparams();
  REQUIRE(p.axis == 0);
  REQUIRE(p.channels() == 3);
  // scale = max(|min|, |max|) / 127: 3 / 127, 1 / 127, 4 / 127; zero points 0.
  require_same_bits(p.scale[0], 3.0f / 127.0f);
  require_same_bits(p.scale[1], 1.0f / 127.0f);
  require_same_bits(p.scale[2], 4.0f / 127.0f);
  REQUIRE(p.zero_point == std::vector<std::int32_t>{0, 0, 0});

  // The same weights, u8 affine per channel: [-1, 3] -> 4/255, zp 64; [0, 1] -> 1/255, zp 0;
  // [-4, 0] -> 4/255, zp = -round(-4 / (4/255)) = 255.
  quant::PerChannelMinMaxObserver affine(opts(quant::kQuint8, quant::QScheme::affine, 0));
  affine.observe(w);
  const quant::QParams a = affine.calculate_qparams();
  require_same_bits(a.scale[0], 4.0f / 255.0f);
  require_same_bits(a.scale[1], 1.0f / 255.0f);
  require_same_bits(a.scale[2], 4.0f / 255.0f);
  REQUIRE(a.zero_point == std::vector<std::int32_t>{64, 0, 255});
}

TEST_CASE("Per-channel observers: any axis of any-rank tensors matches a naive loop",
          "[quant][observer]") {
  frost::Generator gen(7);
  struct Case {
    Shape shape;
    std::int64_t axis;
  };
  // Weights [O, I, kh, kw] on 0, NCHW activations on 1, [N, features] on 1 (the channel is the
  // last axis: the across-channel SIMD path for 40 channels), rank 1 and rank 5.
  const std::vector<Case> cases = {{{4, 3, 3, 3}, 0},    {{2, 5, 4, 6}, 1}, {{3, 40}, 1},
                                   {{6, 5}, 1},          {{2, 3, 5}, 2},    {{7}, 0},
                                   {{2, 2, 3, 2, 2}, 2}, {{1, 33, 2}, 1}};
  for (const Case& c : cases) {
    INFO("shape " << frost::shape_str(c.shape) << " axis " << c.axis);
    Tensor<float> x = Tensor<float>::uniform(c.shape, -3.0f, 3.0f, gen);
    x.data()[0] = kNaN;  // skipped
    x.data()[x.numel() - 1] = -kInf;
    quant::PerChannelMinMaxObserver obs(opts(quant::kQint8, quant::QScheme::affine, c.axis));
    obs.observe(x);
    const std::int64_t channels = c.shape[static_cast<std::size_t>(c.axis)];
    std::vector<float> lo(static_cast<std::size_t>(channels), kInf);
    std::vector<float> hi(static_cast<std::size_t>(channels), -kInf);
    // Naive: the channel of element i is (i / stride) % C with stride = product of later sizes.
    std::int64_t stride = 1;
    for (std::size_t d = static_cast<std::size_t>(c.axis) + 1; d < c.shape.size(); ++d)
      stride *= c.shape[d];
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const float v = x.data()[i];
      if (!std::isfinite(v)) continue;
      const auto ch = static_cast<std::size_t>((i / stride) % channels);
      lo[ch] = std::min(lo[ch], v);
      hi[ch] = std::max(hi[ch], v);
    }
    REQUIRE(obs.channels() == channels);
    REQUIRE(obs.min_vals() == lo);
    REQUIRE(obs.max_vals() == hi);
    // A transposed (non-contiguous) view observed along the moved axis gives the same ranges.
    if (c.shape.size() >= 2 && c.axis == 0) {
      quant::PerChannelMinMaxObserver t(opts(quant::kQint8, quant::QScheme::affine, 1));
      t.observe(x.transpose(0, 1));
      REQUIRE(t.min_vals() == lo);
      REQUIRE(t.max_vals() == hi);
    }
  }
}

TEST_CASE("Per-channel observers: errors name the axis and shape", "[quant][observer]") {
  quant::PerChannelMinMaxObserver obs(opts(quant::kQint8, quant::QScheme::symmetric, 2));
  REQUIRE_THROWS_WITH(obs.observe(Tensor<float>::ones({3, 4})),
                      Contains("ch_axis 2") && Contains("[3, 4]"));
  obs.observe(Tensor<float>::ones({2, 2, 5}));
  REQUIRE_THROWS_WITH(obs.observe(Tensor<float>::ones({2, 2, 6})),
                      Contains("observed 5 channels") && Contains("6"));
  REQUIRE_THROWS_WITH(quant::PerChannelMinMaxObserver(opts(quant::kQint8, quant::QScheme::affine)),
                      Contains("ch_axis >= 0"));
  REQUIRE_THROWS_WITH(quant::MinMaxObserver(opts(quant::kQint8, quant::QScheme::affine, 0)),
                      Contains("ch_axis = -1"));
  REQUIRE_THROWS_WITH(quant::MovingAverageMinMaxObserver(
                          quant::ObserverOptions{quant::kQuint8, quant::QScheme::affine, -1, 0.0}),
                      Contains("averaging_constant"));
  REQUIRE_THROWS_WITH(quant::HistogramObserver({}, quant::HistogramOptions{0, 16}),
                      Contains("bins"));
  REQUIRE_THROWS_WITH(quant::PercentileObserver({}, 101.0), Contains("percentile"));
}

// ---- moving averages -------------------------------------------------------------------------

TEST_CASE("MovingAverageMinMaxObserver: PyTorch's update, bit for bit", "[quant][observer]") {
  quant::MovingAverageMinMaxObserver obs;  // averaging constant 0.01
  REQUIRE(obs.averaging_constant() == 0.01);
  // Batches with (min, max) = (-1, 3), (-2, 5), (0.5, 1), (-1.5, 2.25). The first sets the
  // range; then min += fl(0.01f * (batch_min - min)) in float32, e.g. after the second batch
  // min = -1 + fl(0.01f * -1) = -1.0099999997... -> float -1.00999999046 (= -1.01f), max = 3 +
  // 0.02 -> 3.01999998093 (= 3.02f). Every value below was also computed by the Python float32
  // emulation ma.py at the end of this file.
  const std::vector<std::vector<float>> batches = {
      {-1.0f, 3.0f, 0.0f}, {-2.0f, 5.0f, 1.0f}, {0.5f, 1.0f}, {-1.5f, 2.25f, 0.0f}};
  const std::vector<std::pair<float, float>> expected = {
      {-1.0f, 3.0f},
      {-1.0099999904632568f, 3.0199999809265137f},
      {-0.9948999881744385f, 2.999799966812134f},
      {-0.9999510049819946f, 2.9923019409179688f}};
  for (std::size_t i = 0; i < batches.size(); ++i) {
    obs.observe(vec(batches[i]));
    INFO("after batch " << i);
    require_same_bits(obs.min_val(), expected[i].first);
    require_same_bits(obs.max_val(), expected[i].second);
  }
  // An empty batch and a batch of only NaN / Inf change nothing.
  obs.observe(Tensor<float>::empty({0}));
  obs.observe(vec({kNaN, kInf, -kInf}));
  require_same_bits(obs.min_val(), expected.back().first);
  require_same_bits(obs.max_val(), expected.back().second);
  // NaN mixed in is skipped: the batch's range is [-1.5, 2.25].
  quant::MovingAverageMinMaxObserver with_nan;
  with_nan.observe(vec({-1.0f, kNaN, 3.0f}));
  with_nan.observe(vec({-2.0f, kInf, 5.0f, kNaN}));
  require_same_bits(with_nan.min_val(), expected[1].first);
  require_same_bits(with_nan.max_val(), expected[1].second);
}

TEST_CASE("MovingAverageMinMaxObserver: a step that overflows float stays finite",
          "[quant][observer]") {
  quant::MovingAverageMinMaxObserver obs;
  obs.observe(vec({-3e38f, 3e38f}));
  // batch_min - min = 3e38 - (-3e38) overflows float; the step is taken in double:
  // -3e38 + 0.01f * 6e38 = -2.94e38.
  obs.observe(vec({3e38f}));
  REQUIRE(std::isfinite(obs.min_val()));
  REQUIRE(obs.min_val() == Approx(-2.94e38).epsilon(1e-6));
  REQUIRE(obs.max_val() == 3e38f);
  quant::check_qparams(obs.calculate_qparams(), "test");
}

TEST_CASE("MovingAveragePerChannelMinMaxObserver: per-channel update", "[quant][observer]") {
  quant::MovingAveragePerChannelMinMaxObserver obs(opts(quant::kQuint8, quant::QScheme::affine, 1));
  // [N = 1, C = 2, 2]: channel 0 as the per-tensor sequence above, channel 1 its own.
  const auto batch = [](float a0, float b0, float a1, float b1) {
    return Tensor<float>::from_vector({a0, b0, a1, b1}, {1, 2, 2});
  };
  obs.observe(batch(-1.0f, 3.0f, 0.25f, 0.75f));
  obs.observe(batch(-2.0f, 5.0f, -0.5f, 1.5f));
  REQUIRE(obs.min_vals() == std::vector<float>{-1.0099999904632568f, 0.24250000715255737f});
  REQUIRE(obs.max_vals() == std::vector<float>{3.0199999809265137f, 0.7574999928474426f});
  // A channel without a finite value in a batch keeps its range; the other one moves.
  obs.observe(batch(kNaN, kNaN, 0.125f, 0.5f));
  REQUIRE(obs.min_vals() == std::vector<float>{-1.0099999904632568f, 0.2413250058889389f});
  REQUIRE(obs.max_vals() == std::vector<float>{3.0199999809265137f, 0.754925012588501f});
}

// ---- empty, constant, all-zero and non-finite input -------------------------------------------

TEST_CASE("Observers: the rule for empty, constant, all-zero, NaN and Inf input",
          "[quant][observer]") {
  using quant::QScheme;
  for (const Named& o : per_tensor_observers()) {
    INFO(o.name);
    SECTION("nothing finite observed: scale 1 and the zero point of [0, 0]") {
      const auto check = [&](quant::QuantRange r, QScheme s, std::int32_t zero_point) {
        auto obs = o.make(opts(r, s));
        obs->observe(Tensor<float>::empty({0}));
        obs->observe(Tensor<float>::empty({2, 0, 3}));
        obs->observe(vec({kNaN, kInf, -kInf, kNaN}));
        const quant::QParams p = obs->calculate_qparams();
        quant::check_qparams(p, "test");
        REQUIRE(p.scalar_scale() == 1.0f);
        REQUIRE(p.scalar_zero_point() == zero_point);
      };
      check(quant::kQuint8, QScheme::affine, 0);
      check(quant::kQint8, QScheme::affine, -128);
      check(quant::kQint8, QScheme::symmetric, 0);
      check(quant::kQuint8, QScheme::symmetric, 128);
    }
    SECTION("all zero: [0, 0] gives the smallest scale, zero point qmin - 0") {
      auto obs = o.make(opts(quant::kQuint8, QScheme::affine));
      obs->observe(Tensor<float>::zeros({4, 5}));
      obs->observe(Tensor<float>::zeros({3}));
      const quant::QParams p = obs->calculate_qparams();
      REQUIRE(p.scalar_scale() == quant::kMinScale);
      REQUIRE(p.scalar_zero_point() == 0);
    }
    SECTION("constant: the range is extended to contain 0") {
      // 2.5 -> [0, 2.5]: scale 2.5 / 255, zero point 0; -2 -> [-2, 0]: 2 / 255, zero point 255.
      auto pos = o.make(opts(quant::kQuint8, QScheme::affine));
      pos->observe(Tensor<float>::full({3, 7}, 2.5f));
      pos->observe(Tensor<float>::full({2}, 2.5f));
      const quant::QParams p = pos->calculate_qparams();
      require_same_bits(p.scalar_scale(), 2.5f / 255.0f);
      REQUIRE(p.scalar_zero_point() == 0);
      auto neg = o.make(opts(quant::kQuint8, QScheme::affine));
      neg->observe(Tensor<float>::full({40}, -2.0f));
      const quant::QParams n = neg->calculate_qparams();
      require_same_bits(n.scalar_scale(), 2.0f / 255.0f);
      REQUIRE(n.scalar_zero_point() == 255);
    }
    SECTION("NaN and Inf mixed with finite values are skipped") {
      auto obs = o.make(opts(quant::kQuint8, QScheme::affine));
      auto clean = o.make(opts(quant::kQuint8, QScheme::affine));
      const std::vector<float> values = lcg_data(300, -1.0, 3.0, 11);
      std::vector<float> dirty = values;
      dirty.insert(dirty.begin() + 17, kNaN);
      dirty.insert(dirty.begin() + 40, kInf);
      dirty.insert(dirty.begin() + 99, -kInf);
      dirty.push_back(kNaN);
      obs->observe(vec(dirty));
      obs->observe(vec({kInf, 0.0f, -kInf}));  // non-finite values around one 0
      clean->observe(vec(values));
      clean->observe(vec({0.0f}));
      const quant::QParams p = obs->calculate_qparams(), q = clean->calculate_qparams();
      quant::check_qparams(p, "test");
      require_same_bits(p.scalar_scale(), q.scalar_scale());
      REQUIRE(p.scalar_zero_point() == q.scalar_zero_point());
    }
  }
}

TEST_CASE("Observers: ranges wider than FLT_MAX still give finite parameters",
          "[quant][observer]") {
  // hi - lo = 6e38 overflows float; the span is taken in double (qparams.hpp, the histograms'
  // bins and re-binning), so no scale or bound becomes inf or NaN.
  for (const Named& o : per_tensor_observers()) {
    INFO(o.name);
    auto obs = o.make(quant::ObserverOptions{});
    obs->observe(vec({-1e38f, 0.0f, 1.0f, 1e38f}));
    obs->observe(vec({-3e38f, 3e38f, 2.0f}));  // grows the range: re-binning over 6e38
    const quant::QParams p = obs->calculate_qparams();
    quant::check_qparams(p, "test");
    REQUIRE(p.scalar_scale() > 1e35f);
  }
  quant::MinMaxObserver obs;
  obs.observe(vec({-3e38f, 3e38f}));
  // scale = 6e38 / 255 = 2.35e36; zero point = -round(-3e38 / 2.35e36) = -round(-127.5) = 128.
  const quant::QParams p = obs.calculate_qparams();
  REQUIRE(p.scalar_scale() == Approx(6e38 / 255).epsilon(1e-6));
  REQUIRE((p.scalar_zero_point() == 127 || p.scalar_zero_point() == 128));
}

TEST_CASE("Per-channel observers: the rule before anything was observed", "[quant][observer]") {
  quant::PerChannelMinMaxObserver obs;
  obs.observe(Tensor<float>::empty({0, 3}));
  REQUIRE(obs.channels() == 0);
  // C unknown: one channel of scale 1, as PyTorch.
  const quant::QParams p = obs.calculate_qparams();
  REQUIRE(p.axis == 0);
  REQUIRE(p.scale == std::vector<float>{1.0f});
  REQUIRE(p.zero_point == std::vector<std::int32_t>{0});
  // A channel that saw only NaN keeps scale 1; an all-zero channel gets kMinScale.
  obs.observe(Tensor<float>::from_vector({kNaN, kInf, 0.0f, 0.0f, 1.0f, -2.0f}, {3, 2}));
  const quant::QParams q = obs.calculate_qparams();
  REQUIRE(q.scale[0] == 1.0f);
  REQUIRE(q.scale[1] == quant::kMinScale);
  require_same_bits(q.scale[2], 2.0f / 127.0f);
  quant::check_qparams(q, "test");
}

// ---- histogram-based observers ------------------------------------------------------------------

TEST_CASE("HistogramObserver: matches the Python transcription of PyTorch", "[quant][observer]") {
  SECTION("one batch, uniform in [-1, 3]: the range stays near the data range") {
    quant::HistogramObserver obs;
    obs.observe(vec(lcg_data(1000, -1.0, 3.0, 1)));
    REQUIRE(obs.min_val() == -0.994975209236145f);
    REQUIRE(obs.max_val() == 2.995572805404663f);
    double mass = 0.0;
    for (float h : obs.histogram()) mass += h;
    REQUIRE(mass == 1000.0);
    // ref.py, case A: the L2 search cuts 1 bin of 2048 on the right: [-0.994975, 2.993624].
    const quant::ObservedRange r = obs.chosen_range();
    REQUIRE(r.min == -0.994975209236145f);
    REQUIRE(r.max == 2.993624210357666f);
    const quant::QParams p = obs.calculate_qparams();
    require_same_bits(p.scalar_scale(), 0.01564156636595726f);
    REQUIRE(p.scalar_zero_point() == 64);
  }
  SECTION("three batches that grow the range, s8 symmetric") {
    quant::HistogramObserver obs(opts(quant::kQint8, quant::QScheme::symmetric));
    obs.observe(vec(lcg_data(500, -1.0, 1.0, 2)));
    obs.observe(vec(lcg_data(500, -2.0, 3.0, 3)));  // grows both ends: re-binning
    obs.observe(vec(lcg_data(300, 0.0, 0.5, 4)));   // inside: plain addition
    double mass = 0.0;
    for (float h : obs.histogram()) mass += h;
    REQUIRE(mass == 1300.0);  // re-binning moves counts, never loses them
    // ref.py, case B.
    const quant::ObservedRange r = obs.chosen_range();
    REQUIRE(r.min == -1.9897558689117432f);
    REQUIRE(r.max == 2.972074270248413f);
    const quant::QParams p = obs.calculate_qparams();
    require_same_bits(p.scalar_scale(), 0.023310385644435883f);
    REQUIRE(p.scalar_zero_point() == 0);
  }
  SECTION("a constant first batch, then a wider one: the old count moves as one value") {
    quant::HistogramObserver obs;
    obs.observe(Tensor<float>::full({10}, 1.0f));
    obs.observe(vec({-1.0f, 3.0f}));
    const std::vector<float> h = obs.histogram();
    // [-1, 3] in 2048 bins: 1.0 is in bin (1 - -1) * 2048 / 4 = 1024, -1 in bin 0, 3 in the last.
    REQUIRE(h[1024] == 10.0f);
    REQUIRE(h[0] == 1.0f);
    REQUIRE(h[2047] == 1.0f);
  }
}

TEST_CASE("Entropy and percentile observers clip a few huge outliers; MinMax does not",
          "[quant][observer]") {
  // ref.py, case C: 20000 values uniform in [0, 1) and 5 at 100, u8 affine (256 levels on
  // [0, T]). The KL search stops at 511 of 2048 bins: T = 511 * 100 / 2048 = 24.951171875.
  std::vector<float> data = lcg_data(20000, 0.0, 1.0, 5);
  for (int i = 0; i < 5; ++i) data.push_back(100.0f);
  quant::MinMaxObserver minmax;
  minmax.observe(vec(data));
  REQUIRE(minmax.calculate_qparams().scalar_scale() == 100.0f / 255.0f);
  quant::EntropyObserver entropy;
  entropy.observe(vec(data));
  REQUIRE(entropy.positive_levels() == 256);
  REQUIRE(entropy.threshold() == 24.951171875f);
  const quant::QParams e = entropy.calculate_qparams();
  require_same_bits(e.scalar_scale(), 0.09784772992134094f);
  REQUIRE(e.scalar_zero_point() == 0);

  // ref.py, case D: 10000 values uniform in [-1, 1), 10 at 50 and 10 at -50; the 1st and 99th
  // percentiles are inside the uniform part.
  std::vector<float> wide = lcg_data(10000, -1.0, 1.0, 6);
  for (int i = 0; i < 10; ++i) wide.push_back(50.0f);
  for (int i = 0; i < 10; ++i) wide.push_back(-50.0f);
  quant::PercentileObserver percentile(quant::ObserverOptions{}, 99.0);
  percentile.observe(vec(wide));
  const quant::ObservedRange r = percentile.chosen_range();
  REQUIRE(r.min == -0.9912487864494324f);
  REQUIRE(r.max == 0.986756443977356f);
  const quant::QParams p = percentile.calculate_qparams();
  require_same_bits(p.scalar_scale(), 0.0077568828128278255f);
  REQUIRE(p.scalar_zero_point() == 128);
  // With the default 99.99 % the 20 outliers (0.2 %) are kept: 99.99 % of 10020 values is
  // above the uniform part.
  quant::PercentileObserver keep;
  keep.observe(vec(wide));
  REQUIRE(keep.chosen_range().max > 40.0f);
}

TEST_CASE("EntropyObserver: levels and thresholds on known distributions", "[quant][observer]") {
  SECTION("uniform |x| without outliers keeps (nearly) the whole range") {
    // A smaller threshold piles the clipped mass into one bin that q cannot match. ref.py
    // (extra cases): 2046 of 2048 bins, T = 0.9989606738090515 of max 0.9999371767044067.
    quant::EntropyObserver obs;
    obs.observe(vec(lcg_data(20000, 0.0, 1.0, 8)));
    REQUIRE(obs.max_val() == 0.9999371767044067f);
    REQUIRE(obs.threshold() == 0.9989606738090515f);
  }
  SECTION("signed data uses half the levels and clips both sides") {
    quant::EntropyObserver obs(opts(quant::kQint8, quant::QScheme::symmetric));
    std::vector<float> data = lcg_data(20000, -1.0, 1.0, 9);
    for (int i = 0; i < 3; ++i) data.push_back(-80.0f);
    obs.observe(vec(data));
    REQUIRE(obs.positive_levels() == 128);
    // ref.py: 255 bins of 80 / 2048, T = 9.9609375 (at least the smallest candidate, 128 bins).
    const float t = obs.threshold();
    REQUIRE(t == 9.9609375f);
    const quant::ObservedRange r = obs.chosen_range();
    REQUIRE(r.min == -t);
    REQUIRE(r.max == obs.max_val());
  }
  SECTION("entropy_threshold_bins on hand-made histograms") {
    // 4 levels over 16 bins. Flat mass in bins 0..3 and one count in bin 15: at i = 16 the
    // groups of 4 bins reproduce p exactly (bins 0..3 flat, bin 15 the only nonzero one of its
    // group), KL = 0, so nothing is clipped.
    std::vector<float> h(16, 0.0f);
    h[0] = h[1] = h[2] = h[3] = 100.0f;
    h[15] = 1.0f;
    REQUIRE(quant::entropy_threshold_bins(h.data(), 16, 4) == 16);
    // Uneven mass 100, 50, 100, 50: at i = 16 the first group flattens it (KL about
    // 2/3 ln(4/3) + 1/3 ln(2/3) = 0.057), at i = 4 q keeps it and only the outlier moves
    // (p[3] = 51 against q[3] = 50, KL about 1e-5): i = 4. (ref.py agrees: 16 and 4.)
    h[1] = h[3] = 50.0f;
    REQUIRE(quant::entropy_threshold_bins(h.data(), 16, 4) == 4);
    REQUIRE(quant::entropy_threshold_bins(h.data(), 16, 16) == 16);
  }
}

TEST_CASE("histogram_percentile interpolates inside a bin", "[quant][observer]") {
  // 4 bins over [0, 4] with counts 1, 2, 3, 4 (total 10). The 50th percentile (5 values) lies
  // in bin 2 (3 values below it): 2 + (5 - 3) / 3 = 2.6667; the 100th is the top edge 4; the
  // 0th the bottom edge of the first non-empty bin.
  const std::vector<float> h = {1.0f, 2.0f, 3.0f, 4.0f};
  REQUIRE(quant::histogram_percentile(h.data(), 4, 0.0f, 4.0f, 50.0) ==
          Approx(2.0 + 2.0 / 3.0).epsilon(1e-6));
  REQUIRE(quant::histogram_percentile(h.data(), 4, 0.0f, 4.0f, 100.0) == 4.0f);
  REQUIRE(quant::histogram_percentile(h.data(), 4, 0.0f, 4.0f, 0.0) == 0.0f);
  // 10th percentile: 1 value -> the end of bin 0.
  REQUIRE(quant::histogram_percentile(h.data(), 4, 0.0f, 4.0f, 10.0) == 1.0f);
}

TEST_CASE("histogram_l2_range: PyTorch's search on hand-made histograms", "[quant][observer]") {
  // PyTorch's walk never evaluates the full range (norm_min starts at +inf), so its first step
  // is always taken: a flat histogram loses one bin of 64 on the right, 1 - 2/64 = 0.96875, and
  // then every further cut adds error.
  const std::vector<float> flat(64, 10.0f);
  const quant::ObservedRange f = quant::histogram_l2_range(flat.data(), 64, -1.0f, 1.0f, 256);
  REQUIRE(f.min == -1.0f);
  REQUIRE(f.max == 0.96875f);
  // Mass in bins 30..32 and one count in bin 63 over [0, 64]: the first step jumps the empty
  // bins 0..29 (more bins than the single one the right end would pass); cutting bin 63 next
  // raises the error (the range shrinks less than the clipped count costs), so the walk stops
  // at [30, 64]. (ref.py agrees on both.)
  std::vector<float> peaked(64, 0.0f);
  peaked[30] = peaked[31] = peaked[32] = 1000.0f;
  peaked[63] = 1.0f;
  const quant::ObservedRange p = quant::histogram_l2_range(peaked.data(), 64, 0.0f, 64.0f, 256);
  REQUIRE(p.min == 30.0f);
  REQUIRE(p.max == 64.0f);
}

// ---- state_dict ---------------------------------------------------------------------------------

TEST_CASE("Observers: state_dict holds the buffers; a reloaded observer gives the same qparams",
          "[quant][observer]") {
  const std::vector<float> a = lcg_data(700, -1.0, 3.0, 21), b = lcg_data(400, -2.0, 1.0, 22);
  for (const Named& o : per_tensor_observers()) {
    INFO(o.name);
    auto obs = o.make(quant::ObserverOptions{});
    obs->observe(vec(a));
    obs->observe(vec(b));
    const frost::nn::StateDict sd = obs->state_dict();
    REQUIRE(sd.contains("min_val"));
    REQUIRE(sd.contains("max_val"));
    REQUIRE(sd.find("min_val")->shape() == Shape{});
    REQUIRE(sd.find("max_val")->shape() == Shape{});
    const bool histogram = o.name == "Histogram" || o.name == "Entropy" || o.name == "Percentile";
    REQUIRE(sd.contains("histogram") == histogram);
    if (histogram) REQUIRE(sd.find("histogram")->shape() == Shape{2048});
    auto fresh = o.make(quant::ObserverOptions{});
    fresh->load_state_dict(sd);
    const quant::QParams p = obs->calculate_qparams(), q = fresh->calculate_qparams();
    require_same_bits(p.scalar_scale(), q.scalar_scale());
    REQUIRE(p.scalar_zero_point() == q.scalar_zero_point());
    // Both continue identically.
    const std::vector<float> c = lcg_data(300, -4.0, 4.0, 23);
    obs->observe(vec(c));
    fresh->observe(vec(c));
    require_same_bits(obs->calculate_qparams().scalar_scale(),
                      fresh->calculate_qparams().scalar_scale());
  }
}

TEST_CASE("Per-channel observers: state_dict of [C] buffers", "[quant][observer]") {
  frost::Generator gen(3);
  const Tensor<float> w = Tensor<float>::uniform({4, 2, 3, 3}, -1.0f, 1.0f, gen);
  quant::MovingAveragePerChannelMinMaxObserver obs;
  obs.observe(w);
  obs.observe(Tensor<float>::uniform({4, 2, 3, 3}, -2.0f, 2.0f, gen));
  const frost::nn::StateDict sd = obs.state_dict();
  REQUIRE(sd.find("min_val")->shape() == Shape{4});
  REQUIRE(sd.find("max_val")->shape() == Shape{4});
  // A fresh observer told C loads it; one that is not has no buffers to load into.
  quant::MovingAveragePerChannelMinMaxObserver fresh(quant::per_channel_observer_defaults(), 4);
  fresh.load_state_dict(sd);
  const quant::QParams p = obs.calculate_qparams(), q = fresh.calculate_qparams();
  REQUIRE(p.scale == q.scale);
  REQUIRE(p.zero_point == q.zero_point);
  quant::MovingAveragePerChannelMinMaxObserver unsized;
  REQUIRE_THROWS_WITH(unsized.load_state_dict(sd), Contains("unexpected keys"));
  unsized.ensure_channels(4);
  unsized.load_state_dict(sd);
  REQUIRE(unsized.min_vals() == obs.min_vals());
}

TEST_CASE("Observers: QConfig factories make fresh observers", "[quant][observer]") {
  const quant::ObserverFactory f =
      quant::observer_factory<quant::HistogramObserver>(quant::ObserverOptions{});
  auto one = f(), two = f();
  REQUIRE(one != two);
  one->observe(vec({1.0f, 2.0f}));
  REQUIRE(two->calculate_qparams().scalar_scale() == 1.0f);  // nothing observed by `two`
  REQUIRE(one->type_name() == "HistogramObserver");
}

// ---- kernels: xsimd against scalar ------------------------------------------------------------

namespace {

// Uniform values in [-10, 10) with NaN, +-Inf and signed zeros sprinkled in.
std::vector<float> sprinkled(std::size_t n, frost::Generator& gen, double special) {
  std::vector<float> v(n);
  for (float& x : v) {
    const double u = gen.uniform_double();
    if (u < special / 4)
      x = kNaN;
    else if (u < special / 2)
      x = kInf;
    else if (u < 3 * special / 4)
      x = -kInf;
    else if (u < special)
      x = gen.bernoulli(0.5) ? 0.0f : -0.0f;
    else
      x = static_cast<float>(gen.uniform_double() * 20.0 - 10.0);
  }
  return v;
}

}  // namespace

TEST_CASE("range kernels: xsimd and scalar are bit-identical on sizes 0..67",
          "[quant][kernels][range]") {
  frost::Generator gen(2024);
  for (std::size_t n = 0; n <= 67; ++n) {
    for (double special : {0.0, 0.1, 0.5, 1.0}) {
      // An offset of 1 float misaligns every load.
      std::vector<float> buf = sprinkled(n + 1, gen, special);
      const float* x = buf.data() + 1;
      INFO("n " << n << " special " << special);
      const fp32::FiniteRange s = fp32::finite_min_max_scalar(x, n);
      const fp32::FiniteRange v = fp32::finite_min_max(x, n);
      require_same_bits(s.min, v.min);
      require_same_bits(s.max, v.max);
      // The scalar rule itself: the finite extremes, +0 for a zero, {inf, -inf} for none.
      float lo = kInf, hi = -kInf;
      for (std::size_t i = 0; i < n; ++i)
        if (std::isfinite(x[i])) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
      REQUIRE((s.min == lo && s.max == hi));
      if (s.min == 0.0f) REQUIRE(!std::signbit(s.min));
      if (s.max == 0.0f) REQUIRE(!std::signbit(s.max));

      for (int bins : {1, 7, 2048}) {
        std::vector<std::int64_t> cs(static_cast<std::size_t>(bins), 0), cv = cs, as = cs, av = cs;
        fp32::accumulate_histogram_scalar(x, n, -5.0f, 7.5f, bins, cs.data());
        fp32::accumulate_histogram(x, n, -5.0f, 7.5f, bins, cv.data());
        REQUIRE(cs == cv);
        fp32::accumulate_abs_histogram_scalar(x, n, 6.0f, bins, as.data());
        fp32::accumulate_abs_histogram(x, n, 6.0f, bins, av.data());
        REQUIRE(as == av);
        // Counts are those of finite values inside the range.
        std::int64_t inside = 0, total = 0;
        for (std::size_t i = 0; i < n; ++i) inside += x[i] >= -5.0f && x[i] <= 7.5f;
        for (std::int64_t c : cs) total += c;
        REQUIRE(total == inside);
      }
    }
  }
}

TEST_CASE("range kernels: the bin rule and its overflow fallback", "[quant][kernels][range]") {
  // torch.histc's rule: bin = trunc((x - lo) * bins / (hi - lo)), the top edge in the last bin.
  // [0, 1] in 4 bins: 0 -> 0, 0.25 -> 1, 0.5 -> 2, 0.9 -> 3, 1 -> 3; -0.1 and 1.1 not counted.
  std::vector<float> x = {0.0f, 0.25f, 0.5f, 0.9f, 1.0f, -0.1f, 1.1f, kNaN};
  x.resize(40, 0.5f);  // long enough for the SIMD loop
  std::vector<std::int64_t> s(4, 0), v(4, 0);
  fp32::accumulate_histogram_scalar(x.data(), x.size(), 0.0f, 1.0f, 4, s.data());
  fp32::accumulate_histogram(x.data(), x.size(), 0.0f, 1.0f, 4, v.data());
  REQUIRE(s == std::vector<std::int64_t>{1, 1, 1 + 32, 2});
  REQUIRE(v == s);

  // (x - lo) * bins overflows float for x = 1e36 (1e36 * 2048 > FLT_MAX) though hi - lo does
  // not: the double formula gives trunc(1e36 * 2048 / 3e38) = trunc(6.83) = bin 6.
  std::vector<float> big(40, 1e36f);
  big[3] = 3e38f;  // the top edge: last bin
  std::vector<std::int64_t> bs(2048, 0), bv(2048, 0);
  fp32::accumulate_histogram_scalar(big.data(), big.size(), 0.0f, 3e38f, 2048, bs.data());
  fp32::accumulate_histogram(big.data(), big.size(), 0.0f, 3e38f, 2048, bv.data());
  REQUIRE(bs[6] == 39);
  REQUIRE(bs[2047] == 1);
  REQUIRE(bv == bs);

  // hi - lo overflows float: every value takes the double formula; 0 is in the middle bin.
  std::vector<float> wide = {-3e38f, 0.0f, 3e38f, 1e37f};
  wide.resize(40, 0.0f);
  std::vector<std::int64_t> ws(8, 0), wv(8, 0);
  fp32::accumulate_histogram_scalar(wide.data(), wide.size(), -3e38f, 3e38f, 8, ws.data());
  fp32::accumulate_histogram(wide.data(), wide.size(), -3e38f, 3e38f, 8, wv.data());
  REQUIRE(ws == std::vector<std::int64_t>{1, 0, 0, 0, 38, 0, 0, 1});
  REQUIRE(wv == ws);

  REQUIRE_THROWS_WITH(fp32::accumulate_histogram(x.data(), x.size(), 1.0f, 1.0f, 4, s.data()),
                      Contains("lo < hi"));
  REQUIRE_THROWS_WITH(fp32::accumulate_histogram(x.data(), x.size(), 0.0f, kInf, 4, s.data()),
                      Contains("finite"));
}

TEST_CASE("range kernels: per-channel xsimd and scalar are bit-identical",
          "[quant][kernels][range]") {
  frost::Generator gen(99);
  struct Block {
    std::size_t outer, channels, inner;
  };
  for (const Block& b : {Block{1, 3, 40}, Block{2, 5, 1}, Block{3, 40, 1}, Block{2, 3, 5},
                         Block{4, 17, 33}, Block{1, 1, 67}, Block{5, 2, 0}}) {
    INFO("outer " << b.outer << " channels " << b.channels << " inner " << b.inner);
    const std::vector<float> x = sprinkled(b.outer * b.channels * b.inner, gen, 0.2);
    std::vector<float> ls(b.channels, kInf), hs(b.channels, -kInf), lv = ls, hv = hs;
    fp32::finite_min_max_per_channel_scalar(x.data(), b.outer, b.channels, b.inner, ls.data(),
                                            hs.data());
    fp32::finite_min_max_per_channel(x.data(), b.outer, b.channels, b.inner, lv.data(), hv.data());
    for (std::size_t c = 0; c < b.channels; ++c) {
      require_same_bits(ls[c], lv[c]);
      require_same_bits(hs[c], hv[c]);
    }
  }
}

// ---- the independent reference ---------------------------------------------------------------
// The expected values of the histogram, entropy and percentile cases (A-D) and of the moving
// averages were computed by these Python scripts (plain Python 3, no numpy; float32 emulated
// with struct where PyTorch computes in float32), written from PyTorch's
// torch/ao/quantization/observer.py (2.x) and MXNet's _get_optimal_threshold, not from frost:
//
// ---- ref.py ----
// import math, struct, bisect
// def f32(v): return struct.unpack('f', struct.pack('f', v))[0]
// INF = float('inf')
// def lcg_data(n, lo, hi, seed):
//     s, out = seed, []
//     for _ in range(n):
//         s = (s * 1103515245 + 12345) % 2**31
//         out.append(f32(lo + (hi - lo) * (s / 2**31)))
//     return out
// def histc(xs, bins, lo, hi):
//     h = [0.0] * bins
//     if lo == hi:
//         h[bins // 2] = float(sum(1 for x in xs if x == lo)); return h
//     span = f32(hi - lo)
//     for x in xs:
//         if lo <= x <= hi:
//             p = f32(f32(f32(x - lo) * bins) / span)
//             h[min(int(p), bins - 1)] += 1
//     return h
// def linspace(a, b, steps):
//     step = f32(f32(b - a) / (steps - 1)); half = steps // 2
//     return [f32(a + f32(step * i)) if i < half else f32(b - f32(step * (steps - i - 1)))
//             for i in range(steps)]
// def upscale(h, bins, U, omin, omax, nmin, nmax):
//     part = f32(f32(omax - omin) / (bins * U)); halfp = f32(0.5 * part)
//     mids = linspace(omin, omax, bins * U + 1); edges = linspace(nmin, nmax, bins + 1)
//     out = [0.0] * bins
//     for k in range(bins * U):
//         w = f32(h[k // U] / U); m = f32(mids[k] + halfp)
//         b = min(max(bisect.bisect_right(edges, m) - 1, 0), bins - 1)
//         out[b] = f32(out[b] + w)
//     return out
// class Hist:
//     def __init__(self, bins=2048, U=16, absolute=False):
//         self.bins, self.U, self.abs = bins, U, absolute
//         self.h = [0.0] * bins; self.mn, self.mx = INF, -INF
//     def observe(self, xs):
//         xs = [x for x in xs if math.isfinite(x)]
//         if not xs: return
//         bmn, bmx = min(xs), max(xs)
//         vals = [abs(x) for x in xs] if self.abs else xs
//         blo, bhi = (0.0, max(-bmn, bmx)) if self.abs else (bmn, bmx)
//         if not (self.mn <= self.mx):
//             self.h = histc(vals, self.bins, blo, bhi)
//         else:
//             lo, hi = (0.0, max(-self.mn, self.mx)) if self.abs else (self.mn, self.mx)
//             nlo, nhi = min(lo, blo), max(hi, bhi)
//             upd = histc(vals, self.bins, nlo, nhi)
//             if nlo == lo and nhi == hi:
//                 self.h = [f32(a + b) for a, b in zip(self.h, upd)]
//             elif lo == hi:
//                 tot = f32(sum(self.h)); at = histc([lo], self.bins, nlo, nhi).index(1.0)
//                 self.h = upd; self.h[at] = f32(self.h[at] + tot)
//             else:
//                 t = upscale(self.h, self.bins, self.U, lo, hi, nlo, nhi)
//                 self.h = [f32(a + b) for a, b in zip(upd, t)]
//         self.mn, self.mx = min(self.mn, bmn), max(self.mx, bmx)
// def qerror(h, bins, lo, hi, s, e, levels):
//     bw = (hi - lo) / bins; dw = bw * (e - s + 1) / levels
//     if dw == 0: return 0.0
//     norm = lambda a, b: (b**3 - a**3) / 3
//     err = 0.0
//     for i in range(bins):
//         if h[i] == 0: continue
//         sb = (i - s) * bw; se = sb + bw
//         db = min(max(math.floor(sb / dw), 0), levels - 1)
//         de = min(max(math.floor(se / dw), 0), levels - 1)
//         d = h[i] / bw
//         err += (d * norm(sb - (db + 0.5) * dw, dw / 2) + (de - db - 1) * d * norm(-dw / 2, dw /
//         2)
//                 + d * norm(-dw / 2, se - (de * dw + dw / 2)))
//     return err
// def l2_range(h, bins, lo, hi, levels):
//     if lo == hi: return lo, hi
//     cs, run = [], 0.0
//     for v in h: run += v; cs.append(f32(run))
//     total = f32(run)
//     alpha, beta, s, e, nmin = 0.0, 1.0, 0, bins - 1, INF
//     while alpha < beta:
//         na, nb = alpha + 1e-5, beta - 1e-5
//         am, bm = f32(na * total), f32(nb * total)
//         l, r = s, e
//         while l < e and cs[l] < am: l += 1
//         while r > s and cs[r] > bm: r -= 1
//         ns, ne = s, e
//         if l - s > e - r: ns = l; alpha = na
//         else: ne = r; beta = nb
//         if ns == s and ne == e: continue
//         n = qerror(h, bins, lo, hi, ns, ne, levels)
//         if n > nmin: break
//         nmin, s, e = n, ns, ne
//     bw = f32(f32(hi - lo) / bins)
//     return f32(lo + f32(bw * s)), f32(lo + f32(bw * (e + 1)))
// def qparams(mn, mx, qmin, qmax, symmetric=False):
//     lo, hi = min(mn, 0.0), max(mx, 0.0)
//     if symmetric:
//         return max(f32(max(-lo, hi) / f32((qmax - qmin) / 2)), 2.0**-23), 0
//     sc = max(f32(f32(hi - lo) / (qmax - qmin)), 2.0**-23)
//     return sc, min(max(qmin - round(f32(lo / sc)), qmin), qmax)
// def smooth(d):
//     z = sum(1 for v in d if v == 0); nz = len(d) - z
//     if nz == 0: return None
//     e1 = 1e-4 * z / nz
//     out = [1e-4 if v == 0 else v - e1 for v in d]
//     return None if any(v <= 0 for v in out) else out
// def entropy_bins(h, bins, L):
//     if bins <= L: return bins
//     best, bkl = bins, INF
//     for i in range(L, bins + 1):
//         p = h[:i]; p[-1] += sum(h[i:]); m = i // L; q = [0.0] * i
//         for j in range(L):
//             a = j * m; b = i if j == L - 1 else a + m
//             cnt = sum(h[a:b]); nz = sum(1 for k in range(a, b) if p[k] != 0)
//             for k in range(a, b): q[k] = cnt / nz if (nz and p[k] != 0) else 0.0
//         ps, qs = smooth(p), smooth(q)
//         if ps is None or qs is None: continue
//         sp, sq = sum(ps), sum(qs)
//         kl = sum((a / sp) * math.log((a / sp) / (b / sq)) for a, b in zip(ps, qs))
//         if kl < bkl: bkl, best = kl, i
//     return best
// def percentile(h, bins, lo, hi, q):
//     if lo == hi: return lo
//     tot = sum(h); target = q / 100 * tot; w = (hi - lo) / bins; below = 0.0
//     for b, c in enumerate(h):
//         if c > 0 and below + c >= target:
//             return min(max(f32(lo + (b + min(max((target - below) / c, 0), 1)) * w), lo), hi)
//         below += c
//     return hi
// # A: 1000 uniform in [-1, 3], u8 affine -> range (-0.994975209236145, 2.993624210357666),
// #    scale 0.01564156636595726, zero_point 64
// o = Hist(); o.observe(lcg_data(1000, -1.0, 3.0, 1))
// r = l2_range(o.h, 2048, o.mn, o.mx, 256); print(r, qparams(*r, 0, 255))
// # B: three batches, s8 symmetric -> range (-1.9897558689117432, 2.972074270248413),
// #    scale 0.023310385644435883
// o = Hist()
// for n, lo, hi, seed in [(500, -1.0, 1.0, 2), (500, -2.0, 3.0, 3), (300, 0.0, 0.5, 4)]:
//     o.observe(lcg_data(n, lo, hi, seed))
// r = l2_range(o.h, 2048, o.mn, o.mx, 256); print(r, qparams(*r, -128, 127, True))
// # C: entropy, 20000 uniform [0, 1) + 5 x 100, 256 levels -> 511 bins, T = 24.951171875,
// #    scale 0.09784772992134094, zero_point 0
// o = Hist(absolute=True); o.observe(lcg_data(20000, 0.0, 1.0, 5) + [100.0] * 5)
// i = entropy_bins(o.h, 2048, 256); t = f32(f32(o.mx / 2048) * i)
// print(i, t, qparams(max(o.mn, -t), min(o.mx, t), 0, 255))
// # D: percentiles 1 / 99 of 10000 uniform [-1, 1) + 10 x 50 + 10 x -50 ->
// #    (-0.9912487864494324, 0.986756443977356), scale 0.0077568828128278255, zero_point 128
// o = Hist(); o.observe(lcg_data(10000, -1.0, 1.0, 6) + [50.0] * 10 + [-50.0] * 10)
// lo, hi = percentile(o.h, 2048, o.mn, o.mx, 1.0), percentile(o.h, 2048, o.mn, o.mx, 99.0)
// print(lo, hi, qparams(lo, hi, 0, 255))
//
// ---- ma.py (moving averages, c = f32(0.01)) ----
// def run(seq):
//     mn = mx = None
//     for bmn, bmx in seq:
//         if mn is None: mn, mx = f32(bmn), f32(bmx)
//         else:
//             mn = f32(mn + f32(c * f32(bmn - mn))); mx = f32(mx + f32(c * f32(bmx - mx)))
//         print(repr(mn), repr(mx))
// run([(-1, 3), (-2, 5), (0.5, 1), (-1.5, 2.25)])  # per tensor, and channel 0
// run([(0.25, 0.75), (-0.5, 1.5), (0.125, 0.5)])   # channel 1
