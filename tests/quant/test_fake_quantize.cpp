// Fake quantization: the kernels (kernels/fp32/fake_quantize.hpp) on hand-computed cases
// (ties to even, clamping at both ends, zero points at qmin and qmax, NaN and Inf), xsimd vs
// scalar bit for bit on sizes 0..67 and per-channel layouts, the differentiable functions
// (per tensor, per channel along axes 0 and 1, the STE, LSQ gradients against hand-computed
// sums), and the FakeQuantize / LearnableFakeQuantize modules (flags, buffers, state_dict).
//
// Until quant/minmax_observer.hpp exists the modules are tested with a small min/max observer
// defined here.

#include <frost/core/tensor.hpp>
#include <frost/kernels/fp32/fake_quantize.hpp>
#include <frost/quant/fake_quantize.hpp>
#include <frost/quant/observer.hpp>
#include <frost/quant/qparams.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

using frost::Shape;
using frost::Tensor;
namespace fp32 = frost::kernels::fp32;
namespace quant = frost::quant;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Min / max of the finite values seen, per tensor or per channel along ch_axis.
class TestMinMaxObserver : public quant::Observer {
 public:
  explicit TestMinMaxObserver(quant::ObserverOptions o = {})
      : quant::Observer("TestMinMaxObserver", o) {
    if (!per_channel()) {
      min_val_ = register_buffer("min_val", Tensor<float>::scalar(kInf));
      max_val_ = register_buffer("max_val", Tensor<float>::scalar(-kInf));
    }
  }
  void observe(const Tensor<float>& x) override {
    ++calls;
    const Tensor<float> c = x.contiguous();
    if (!per_channel()) {
      for (std::int64_t i = 0; i < c.numel(); ++i) {
        const float v = c.data()[i];
        if (!std::isfinite(v)) continue;
        min_val_.data()[0] = std::min(min_val_.data()[0], v);
        max_val_.data()[0] = std::max(max_val_.data()[0], v);
      }
      return;
    }
    const std::int64_t axis = options().ch_axis, C = c.size(axis);
    std::int64_t inner = 1;
    for (std::int64_t d = axis + 1; d < c.dim(); ++d) inner *= c.size(d);
    if (mins.empty()) mins.assign(static_cast<std::size_t>(C), kInf), maxs.assign(C, -kInf);
    for (std::int64_t i = 0; i < c.numel(); ++i) {
      const auto ch = static_cast<std::size_t>((i / inner) % C);
      const float v = c.data()[i];
      if (!std::isfinite(v)) continue;
      mins[ch] = std::min(mins[ch], v);
      maxs[ch] = std::max(maxs[ch], v);
    }
  }
  quant::QParams calculate_qparams() const override {
    if (per_channel())
      return quant::choose_qparams_per_channel(mins, maxs, options().ch_axis, range(), scheme());
    return quant::choose_qparams(min_val_.data()[0], max_val_.data()[0], range(), scheme());
  }
  void reset() override {}

  int calls = 0;
  std::vector<float> mins, maxs;

 private:
  Tensor<float> min_val_, max_val_;
};

std::uint32_t bits(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// Runs the xsimd and scalar forward (with mask) and backward on `x` and checks they agree bit
// for bit; returns the scalar results.
struct Results {
  std::vector<float> y, grad;
  std::vector<std::uint8_t> mask;
};
Results run_both(const std::vector<float>& x, float scale, std::int32_t zp, std::int32_t qmin,
                 std::int32_t qmax) {
  const std::size_t n = x.size();
  std::vector<float> dy(n);
  for (std::size_t i = 0; i < n; ++i) dy[i] = 1.0f + static_cast<float>(i % 7);
  Results s{std::vector<float>(n), std::vector<float>(n), std::vector<std::uint8_t>(n)};
  Results v{std::vector<float>(n), std::vector<float>(n), std::vector<std::uint8_t>(n)};
  fp32::fake_quantize_forward_scalar(n, x.data(), s.y.data(), s.mask.data(), scale, zp, qmin, qmax);
  fp32::fake_quantize_forward(n, x.data(), v.y.data(), v.mask.data(), scale, zp, qmin, qmax);
  fp32::fake_quantize_backward_scalar(n, x.data(), dy.data(), s.grad.data(), scale, zp, qmin, qmax);
  fp32::fake_quantize_backward(n, x.data(), dy.data(), v.grad.data(), scale, zp, qmin, qmax);
  for (std::size_t i = 0; i < n; ++i) {
    INFO("n " << n << " i " << i << " x " << x[i] << " scale " << scale << " zp " << zp);
    REQUIRE(bits(v.y[i]) == bits(s.y[i]));
    REQUIRE(v.mask[i] == s.mask[i]);
    REQUIRE(bits(v.grad[i]) == bits(s.grad[i]));
    // The backward is the mask applied to dy.
    REQUIRE(s.grad[i] == (s.mask[i] ? dy[i] : 0.0f));
  }
  return s;
}

// A hand case: each value checked at every position of a buffer long enough for the SIMD loop
// (so both the batches and the scalar tail meet it).
void check_case(const std::vector<float>& x, const std::vector<float>& expected_y,
                const std::vector<std::uint8_t>& expected_mask, float scale, std::int32_t zp,
                std::int32_t qmin, std::int32_t qmax) {
  std::vector<float> buffer;
  while (buffer.size() < 70) buffer.insert(buffer.end(), x.begin(), x.end());
  const Results r = run_both(buffer, scale, zp, qmin, qmax);
  for (std::size_t i = 0; i < buffer.size(); ++i) {
    const std::size_t k = i % x.size();
    INFO("x " << x[k] << " -> " << r.y[i] << ", expected " << expected_y[k]);
    REQUIRE(bits(r.y[i]) == bits(expected_y[k]));
    REQUIRE(r.mask[i] == expected_mask[k]);
  }
}

template <class T>
std::vector<T> values(const Tensor<T>& t) {
  const Tensor<T> c = t.contiguous();
  return std::vector<T>(c.data(), c.data() + c.numel());
}

}  // namespace

TEST_CASE("fake_quantize kernel: ties round to even", "[quant][fake_quantize]") {
  // scale 1 and 0.5: x / scale = +-0.5, 1.5, 2.5, 3.5 exactly.
  check_case({0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f},
             {0.0f, 2.0f, 2.0f, 4.0f, -0.0f, -2.0f, -2.0f}, {1, 1, 1, 1, 1, 1, 1}, 1.0f, 0, -128,
             127);
  check_case({0.25f, 0.75f, 1.25f, -0.75f}, {0.0f, 1.0f, 1.0f, -1.0f}, {1, 1, 1, 1}, 0.5f, 0, -128,
             127);
  // With a zero point the tie is broken on x / scale, before the zero point is added (as
  // round(x / scale) + zero_point): 2.5 -> 2 with zp 3 gives q = 5, y = 2.
  check_case({2.5f}, {2.0f}, {1}, 1.0f, 3, 0, 255);
}

TEST_CASE("fake_quantize kernel: clamping at both ends", "[quant][fake_quantize]") {
  // scale 0.25, zp 4, q in [0, 15]: representable [-1, 2.75].
  check_case({-3.0f, -1.0f, -0.9f, 2.75f, 2.8f, 2.9f, 100.0f, 0.0f},
             {-1.0f, -1.0f, -1.0f, 2.75f, 2.75f, 2.75f, 2.75f, 0.0f}, {0, 1, 1, 1, 1, 0, 0, 1},
             0.25f, 4, 0, 15);
}

TEST_CASE("fake_quantize kernel: zero point at qmin and at qmax", "[quant][fake_quantize]") {
  // zp = qmin = 0: nothing below 0. -0.1 / 0.5 rounds to -0 (inside; the clamp to lo = +0
  // gives +0, as (clamp(-0 + 0, 0, 255) - 0) * 0.5 does), -0.3 / 0.5 to -1 (outside).
  check_case({-0.1f, -0.3f, 0.4f, 127.5f, 128.0f}, {0.0f, 0.0f, 0.5f, 127.5f, 127.5f},
             {1, 0, 1, 1, 0}, 0.5f, 0, 0, 255);
  // zp = qmax = 255: nothing above 0; representable [-127.5, 0].
  check_case({0.3f, -100.0f, -200.0f, -127.5f}, {0.0f, -100.0f, -127.5f, -127.5f}, {0, 1, 0, 1},
             0.5f, 255, 0, 255);
}

TEST_CASE("fake_quantize kernel: NaN gives qmin's value, Inf the bounds, no gradient",
          "[quant][fake_quantize]") {
  // (qmin - zp) * scale = (0 - 4) * 0.25 = -1; (qmax - zp) * scale = 11 * 0.25 = 2.75.
  check_case({kNaN, kInf, -kInf, 0.5f}, {-1.0f, 2.75f, -1.0f, 0.5f}, {0, 0, 0, 1}, 0.25f, 4, 0, 15);
  // The INT8 engine's quantize maps NaN to the lower bound too (kernels/reference/elementwise).
  std::vector<float> y(1);
  fp32::fake_quantize_forward_scalar<float>(1, &kNaN, y.data(), nullptr, 0.25f, 4, 0, 255);
  REQUIRE(y[0] == -1.0f);
  // Division overflow (huge x, tiny scale) is a bound too.
  check_case({3e38f, -3e38f}, {127.0f * 1e-7f, -128.0f * 1e-7f}, {0, 0}, 1e-7f, 0, -128, 127);
}

TEST_CASE("fake_quantize kernel: xsimd and scalar bit-identical on sizes 0..67",
          "[quant][fake_quantize]") {
  frost::Generator gen(71);
  for (std::size_t n = 0; n <= 67; ++n)
    for (const float scale : {1.0f, 0.5f, 0.0123f, 3.7f}) {
      std::vector<float> x(n);
      for (std::size_t i = 0; i < n; ++i) {
        const double u = gen.uniform_double();
        if (i % 11 == 5) {
          x[i] = static_cast<float>(std::floor(u * 40 - 20) + 0.5) * scale;  // ties
        } else if (i % 23 == 7) {
          x[i] = i % 2 ? kNaN : -kInf;
        } else {
          x[i] = static_cast<float>((u * 2 - 1) * 300 * scale);
        }
      }
      run_both(x, scale, 3, -128, 127);
      run_both(x, scale, 0, 0, 255);
      run_both(x, scale, 255, 0, 255);
    }
}

TEST_CASE("fake_quantize kernel: per channel, xsimd and scalar bit-identical",
          "[quant][fake_quantize]") {
  frost::Generator gen(5);
  // inner 1 with many channels takes the across-channels path; the others run per block.
  for (const auto [outer, channels, inner] :
       {std::array<std::size_t, 3>{3, 37, 1}, {2, 5, 1}, {2, 3, 17}, {1, 4, 64}, {4, 2, 3}}) {
    const std::size_t n = outer * channels * inner;
    std::vector<float> x(n), dy(n), scale(channels);
    std::vector<std::int32_t> zp(channels);
    for (std::size_t c = 0; c < channels; ++c) {
      scale[c] = static_cast<float>(0.01 + gen.uniform_double());
      zp[c] = static_cast<std::int32_t>(c * 37 % 256);
    }
    for (std::size_t i = 0; i < n; ++i) {
      x[i] = static_cast<float>((gen.uniform_double() * 2 - 1) * 200);
      dy[i] = static_cast<float>(gen.uniform_double());
    }
    x[n / 2] = kNaN;
    std::vector<float> ys(n), yv(n), gs(n), gv(n);
    std::vector<std::uint8_t> ms(n), mv(n);
    fp32::fake_quantize_per_channel_forward_scalar(outer, channels, inner, x.data(), ys.data(),
                                                   ms.data(), scale.data(), zp.data(), 0, 255);
    fp32::fake_quantize_per_channel_forward(outer, channels, inner, x.data(), yv.data(), mv.data(),
                                            scale.data(), zp.data(), 0, 255);
    fp32::fake_quantize_per_channel_backward_scalar(outer, channels, inner, x.data(), dy.data(),
                                                    gs.data(), scale.data(), zp.data(), 0, 255);
    fp32::fake_quantize_per_channel_backward(outer, channels, inner, x.data(), dy.data(), gv.data(),
                                             scale.data(), zp.data(), 0, 255);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t c = (i / inner) % channels;
      INFO("layout " << outer << "x" << channels << "x" << inner << " i " << i);
      REQUIRE(bits(yv[i]) == bits(ys[i]));
      REQUIRE(mv[i] == ms[i]);
      REQUIRE(bits(gv[i]) == bits(gs[i]));
      // Each channel's values are the per-tensor kernel with that channel's parameters.
      float ref;
      fp32::fake_quantize_forward_scalar<float>(1, &x[i], &ref, nullptr, scale[c], zp[c], 0, 255);
      REQUIRE(bits(ys[i]) == bits(ref));
    }
  }
}

TEST_CASE("fake_quantize kernel: double version", "[quant][fake_quantize]") {
  const std::vector<double> x{0.25, 0.75, -3.0, 2.9, std::nan("")};
  std::vector<double> y(x.size());
  std::vector<std::uint8_t> m(x.size());
  fp32::fake_quantize_forward(x.size(), x.data(), y.data(), m.data(), 0.5, 2, 0, 7);
  // lo = -2, hi = 5: 0.5 -> 0 (even), 1.5 -> 2, -6 -> -2, 5.8 -> 6 -> 5, NaN -> -2.
  REQUIRE(y == std::vector<double>{0.0, 1.0, -1.0, 2.5, -1.0});
  REQUIRE(m == std::vector<std::uint8_t>{1, 1, 0, 0, 0});
}

TEST_CASE("fake_quantize: per tensor values and the straight-through gradient",
          "[quant][fake_quantize]") {
  quant::QParams p{{0.25f}, {4}, -1, {0, 15}};
  auto x =
      Tensor<float>::from_vector({-3.0f, -1.0f, 0.1f, 2.75f, 2.9f, kNaN}, {2, 3}).requires_grad_();
  Tensor<float> y = quant::fake_quantize(x, p);
  REQUIRE(y.shape() == Shape{2, 3});
  const auto v = values(y);
  REQUIRE(std::vector<float>(v.begin(), v.end()) ==
          std::vector<float>{-1.0f, -1.0f, 0.0f, 2.75f, 2.75f, -1.0f});
  y.backward(Tensor<float>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}));
  REQUIRE(values(x.grad()) == std::vector<float>{0, 2, 3, 4, 0, 0});

  // Double: the same values (the scale widened to double).
  auto xd = Tensor<double>::from_vector({-3.0, -1.0, 0.1, 2.75, 2.9, 1.3}, {6});
  REQUIRE(values(quant::fake_quantize(xd, p)) ==
          std::vector<double>{-1.0, -1.0, 0.0, 2.75, 2.75, 1.25});
  // No gradient recorded for an input that needs none; empty input gives empty output.
  REQUIRE_FALSE(quant::fake_quantize(Tensor<float>::ones({3}), p).requires_grad());
  REQUIRE(quant::fake_quantize(Tensor<float>::zeros({0, 4}), p).shape() == Shape{0, 4});
}

TEST_CASE("fake_quantize: per channel along axis 0 and axis 1", "[quant][fake_quantize]") {
  SECTION("axis 1 of [2, 3]") {
    // scales 1, 0.5, 0.25; zero points 0, 1, 2; q in [0, 7].
    quant::QParams p{{1.0f, 0.5f, 0.25f}, {0, 1, 2}, 1, {0, 7}};
    auto x = Tensor<float>::from_vector({2.5f, 2.5f, 2.5f, -1.0f, -1.0f, -1.0f}, {2, 3})
                 .requires_grad_();
    Tensor<float> y = quant::fake_quantize(x, p);
    // ch0: 2.5 -> 2; ch1: 5 -> q 6 -> 2.5; ch2: 10 -> q 12 -> 7 -> (7 - 2) * 0.25 = 1.25;
    // -1: ch0 -> q -1 -> 0 -> 0; ch1: -2 -> q -1 -> 0 -> -0.5; ch2: -4 -> q -2 -> 0 -> -0.5.
    REQUIRE(values(y) == std::vector<float>{2.0f, 2.5f, 1.25f, 0.0f, -0.5f, -0.5f});
    y.backward(Tensor<float>::ones({2, 3}));
    REQUIRE(values(x.grad()) == std::vector<float>{1, 1, 0, 0, 0, 0});
  }
  SECTION("axis 0 of [2, 2, 2]") {
    quant::QParams p{{0.5f, 2.0f}, {0, 3}, 0, {-8, 7}};
    auto x =
        Tensor<float>::from_vector({1.0f, 5.0f, -5.0f, 0.74f, 1.0f, 5.0f, -20.0f, 9.0f}, {2, 2, 2});
    // ch0 (0.5, zp 0, r in [-8, 7]): 2 -> 1, 10 -> 7 -> 3.5, -10 -> -8 -> -4, 1.48 -> 1 -> 0.5.
    // ch1 (2, zp 3, r in [-11, 4]): 0.5 -> 0 -> 0, 2.5 -> 2 -> 4, -10 -> -20, 4.5 -> 4 -> 8.
    REQUIRE(values(quant::fake_quantize(x, p)) ==
            std::vector<float>{1.0f, 3.5f, -4.0f, 0.5f, 0.0f, 4.0f, -20.0f, 8.0f});
  }
  SECTION("errors name the shapes") {
    quant::QParams p{{1.0f, 1.0f}, {0, 0}, 1, {0, 255}};
    REQUIRE_THROWS_WITH(quant::fake_quantize(Tensor<float>::ones({2, 3}), p),
                        Catch::Contains("3 channels along axis 1"));
    p.axis = 2;
    REQUIRE_THROWS_WITH(quant::fake_quantize(Tensor<float>::ones({2, 3}), p),
                        Catch::Contains("out of range"));
    REQUIRE_THROWS_WITH(quant::fake_quantize(Tensor<float>::ones({2}), quant::QParams{{0.0f}, {0}}),
                        Catch::Contains("must be finite and > 0"));
  }
}

TEST_CASE("fake_quantize: large tensors split across threads give the kernel's values",
          "[quant][fake_quantize]") {
  frost::Generator gen(9);
  const Tensor<float> x = Tensor<float>::uniform({3, 5, 40000}, -3.0f, 3.0f, gen);
  const quant::QParams per_tensor{{0.02f}, {128}, -1, {0, 255}};
  const quant::QParams per_channel{
      {0.01f, 0.02f, 0.03f, 0.04f, 0.05f}, {0, 10, 20, 30, 40}, 1, {-128, 127}};
  std::vector<float> ref(static_cast<std::size_t>(x.numel()));
  fp32::fake_quantize_forward_scalar<float>(ref.size(), x.data(), ref.data(), nullptr, 0.02f, 128,
                                            0, 255);
  REQUIRE(values(quant::fake_quantize(x, per_tensor)) == ref);
  fp32::fake_quantize_per_channel_forward_scalar<float>(3, 5, 40000, x.data(), ref.data(), nullptr,
                                                        per_channel.scale.data(),
                                                        per_channel.zero_point.data(), -128, 127);
  REQUIRE(values(quant::fake_quantize(x, per_channel)) == ref);
}

TEST_CASE("fake_quantize_learnable: LSQ gradients against hand-computed sums",
          "[quant][fake_quantize][lsq]") {
  // scale 0.5, zero point 2, q in [0, 7]: r = round(x / 0.5) inside [-2, 5].
  //   x = 0.3:  v = 0.6, r = 1 inside: dscale = r - v = 0.4
  //   x = -2:   v = -4, below:         dscale = qmin - zp = -2, dzp = -scale = -0.5
  //   x = 3:    v = 6, above:          dscale = qmax - zp = 5,  dzp = -0.5
  //   x = 0.75: v = 1.5 -> 2 inside:   dscale = 0.5
  // dy = 1, 2, 3, 4: dx = 1, 0, 0, 4; dscale = 0.4 - 4 + 15 + 2 = 13.4; dzp = -1 - 1.5 = -2.5.
  for (const double factor : {1.0, 0.25}) {
    auto x = Tensor<float>::from_vector({0.3f, -2.0f, 3.0f, 0.75f}, {4}).requires_grad_();
    auto scale = Tensor<float>::scalar(0.5f).requires_grad_();
    auto zp = Tensor<float>::scalar(2.0f).requires_grad_();
    Tensor<float> y = quant::fake_quantize_learnable(x, scale, zp, {0, 7}, -1, factor);
    REQUIRE(values(y) == std::vector<float>{0.5f, -1.0f, 2.5f, 1.0f});
    y.backward(Tensor<float>::from_vector({1, 2, 3, 4}, {4}));
    REQUIRE(values(x.grad()) == std::vector<float>{1, 0, 0, 4});
    REQUIRE(scale.grad().shape() == Shape{});
    REQUIRE(scale.grad().item() == Approx(13.4 * factor).epsilon(1e-6));
    REQUIRE(zp.grad().item() == Approx(-2.5 * factor).epsilon(1e-6));
  }
  // The learned zero point is rounded half to even and clamped: 2.5 -> 2 (so -3 clamps to
  // qmin - 2 = -2, not -3 as with 3), 9 -> 7 (so 1 clamps to qmax - 7 = 0).
  REQUIRE(quant::fake_quantize_learnable(Tensor<float>::scalar(-3.0f), Tensor<float>::scalar(1.0f),
                                         Tensor<float>::scalar(2.5f), {0, 7})
              .item() == -2.0f);
  REQUIRE(quant::fake_quantize_learnable(Tensor<float>::scalar(1.0f), Tensor<float>::scalar(1.0f),
                                         Tensor<float>::scalar(9.0f), {0, 7})
              .item() == 0.0f);
}

TEST_CASE("fake_quantize_learnable: per channel sums per channel", "[quant][fake_quantize][lsq]") {
  // [2, 2] along axis 1: channel 0 scale 1 zp 0, channel 1 scale 0.5 zp 0; q in [-4, 3].
  auto x = Tensor<float>::from_vector({0.25f, 1.0f, -10.0f, 0.3f}, {2, 2}).requires_grad_();
  auto scale = Tensor<float>::from_vector({1.0f, 0.5f}, {2}).requires_grad_();
  auto zp = Tensor<float>::from_vector({0.0f, 0.0f}, {2}).requires_grad_();
  Tensor<float> y = quant::fake_quantize_learnable(x, scale, zp, {-4, 3}, 1);
  // ch0: 0.25 -> 0 (dscale -0.25), -10 -> below (dscale -4, dzp -1);
  // ch1: 1 -> v 2 inside (dscale 0), 0.3 -> v 0.6 -> 1 (dscale 0.4).
  REQUIRE(values(y) == std::vector<float>{0.0f, 1.0f, -4.0f, 0.5f});
  y.backward(Tensor<float>::ones({2, 2}));
  REQUIRE(values(x.grad()) == std::vector<float>{1, 1, 0, 1});
  const auto gs = values(scale.grad()), gz = values(zp.grad());
  REQUIRE(gs[0] == Approx(-4.25));
  REQUIRE(gs[1] == Approx(0.4).epsilon(1e-6));
  REQUIRE(gz[0] == Approx(-1.0));
  REQUIRE(gz[1] == 0.0f);
}

TEST_CASE("FakeQuantize: buffers, flags and state_dict", "[quant][fake_quantize][module]") {
  auto obs = std::make_shared<TestMinMaxObserver>();
  auto fq = std::make_shared<quant::FakeQuantize>(obs);
  REQUIRE(fq->observer() == obs);
  REQUIRE(fq->observer_enabled());
  REQUIRE(fq->fake_quant_enabled());
  const auto keys = fq->state_dict().keys();
  REQUIRE(keys == std::vector<std::string>{"fake_quant_enabled", "observer_enabled", "scale",
                                           "zero_point", "activation_post_process.min_val",
                                           "activation_post_process.max_val"});
  REQUIRE(fq->scale().shape() == Shape{});
  REQUIRE(fq->child("activation_post_process") == obs);

  // Nothing observed yet: passes x through, and qparams() is the nothing-observed rule.
  const auto x = Tensor<float>::from_vector({-1.0f, 0.3f, 2.0f, 3.0f}, {4});
  fq->disable_observer();
  REQUIRE_FALSE(fq->has_qparams());
  REQUIRE(values((*fq)(x)) == values(x));
  REQUIRE(fq->qparams().scale == std::vector<float>{1.0f});
  REQUIRE(fq->qparams().zero_point == std::vector<std::int32_t>{0});
  REQUIRE(obs->calls == 0);
  // An empty input is not observed.
  fq->enable_observer();
  (*fq)(Tensor<float>::zeros({0}));
  REQUIRE(obs->calls == 0);
  REQUIRE_FALSE(fq->has_qparams());

  // Observed: [-1, 3] -> scale 4 / 255, zero point 0 - round(-1 / scale) = 64.
  const Tensor<float> y = (*fq)(x);
  REQUIRE(obs->calls == 1);
  REQUIRE(fq->has_qparams());
  const quant::QParams p =
      quant::choose_qparams(-1.0f, 3.0f, quant::kQuint8, quant::QScheme::affine);
  REQUIRE(fq->scale().item() == p.scale[0]);
  REQUIRE(fq->zero_point().item() == 64.0f);
  REQUIRE(fq->qparams().zero_point == std::vector<std::int32_t>{64});
  REQUIRE(values(y) == values(quant::fake_quantize(x, p)));
  REQUIRE(values(y) != values(x));

  // Observer off: the parameters stay; fake quant off: x itself.
  fq->disable_observer();
  REQUIRE_FALSE(fq->observer_enabled());
  REQUIRE(fq->buffer("observer_enabled").item() == 0.0f);
  const auto wide = Tensor<float>::from_vector({-10.0f, 10.0f}, {2});
  REQUIRE(values((*fq)(wide)) == values(quant::fake_quantize(wide, p)));
  REQUIRE(fq->scale().item() == p.scale[0]);
  fq->disable_fake_quant();
  REQUIRE(values((*fq)(wide)) == values(wide));
  REQUIRE(fq->buffer("fake_quant_enabled").item() == 0.0f);

  // The straight-through gradient reaches x through the module.
  fq->enable_fake_quant();
  auto xg = Tensor<float>::from_vector({-10.0f, 0.5f}, {2}).requires_grad_();
  (*fq)(xg).backward(Tensor<float>::ones({2}));
  REQUIRE(values(xg.grad()) == std::vector<float>{0, 1});

  // A fresh FakeQuantize loading the state: same parameters and flags, applied at once.
  auto fresh = std::make_shared<quant::FakeQuantize>(std::make_shared<TestMinMaxObserver>());
  fresh->load_state_dict(fq->state_dict());
  REQUIRE(fresh->has_qparams());
  REQUIRE_FALSE(fresh->observer_enabled());
  REQUIRE(fresh->fake_quant_enabled());
  REQUIRE(values((*fresh)(wide)) == values((*fq)(wide)));

  // A corrupted zero point is reported, not cast.
  fresh->buffer("zero_point").data()[0] = 300.0f;
  REQUIRE_THROWS_WITH(fresh->qparams(), Catch::Contains("zero point 300"));
}

TEST_CASE("FakeQuantize: per channel buffers", "[quant][fake_quantize][module]") {
  const quant::ObserverOptions o{quant::kQint8Narrow, quant::QScheme::symmetric, 0, 0.01};
  auto w = Tensor<float>::from_vector({1.0f, -0.5f, 0.25f, 4.0f, -2.0f, 1.0f}, {3, 2});
  SECTION("channel count given: buffers exist from the start") {
    auto fq = std::make_shared<quant::FakeQuantize>(std::make_shared<TestMinMaxObserver>(o), 3);
    REQUIRE(fq->scale().shape() == Shape{3});
    REQUIRE(fq->channels() == 3);
    REQUIRE_THROWS_WITH(fq->set_channels(4), Catch::Contains("cannot change to 4"));
    const Tensor<float> y = (*fq)(w);
    const quant::QParams p = fq->qparams();
    REQUIRE(p.axis == 0);
    // max |w| per channel / 127: 1, 4, 2.
    REQUIRE(p.scale == std::vector<float>{1.0f / 127.0f, 4.0f / 127.0f, 2.0f / 127.0f});
    REQUIRE(p.zero_point == std::vector<std::int32_t>{0, 0, 0});
    REQUIRE(values(y) == values(quant::fake_quantize(w, p)));
  }
  SECTION("unknown channel count: registered by the first forward") {
    auto fq = std::make_shared<quant::FakeQuantize>(std::make_shared<TestMinMaxObserver>(o));
    REQUIRE(fq->channels() == -1);
    REQUIRE_FALSE(fq->state_dict().contains("scale"));
    REQUIRE(fq->qparams().scale.size() == 1);
    (*fq)(w);
    REQUIRE(fq->scale().shape() == Shape{3});
    REQUIRE(fq->state_dict().contains("scale"));
  }
}

TEST_CASE("LearnableFakeQuantize: initialised by the observer, then learned",
          "[quant][fake_quantize][lsq][module]") {
  auto obs = std::make_shared<TestMinMaxObserver>(
      quant::ObserverOptions{{0, 7}, quant::QScheme::affine, -1, 0.01});
  auto lsq = std::make_shared<quant::LearnableFakeQuantize>(
      obs, quant::LearnableFakeQuantizeOptions{.use_grad_scaling = true});
  REQUIRE(lsq->named_parameters().keys() == std::vector<std::string>{"scale", "zero_point"});
  REQUIRE_FALSE(lsq->has_qparams());

  // Observer on: scale and zero point come from the observer ([-1, 2.5] -> 0.5, zp 2) and get
  // no gradient.
  auto x = Tensor<float>::from_vector({0.3f, -1.0f, 2.5f, 0.75f}, {4}).requires_grad_();
  (*lsq)(x).backward(Tensor<float>::ones({4}));
  REQUIRE(lsq->scale().item() == 0.5f);
  REQUIRE(lsq->zero_point().item() == 2.0f);
  REQUIRE_FALSE(lsq->scale().grad().defined());

  // Learning: the hand case of fake_quantize_learnable, times 1 / sqrt(numel * qmax).
  lsq->enable_param_learning();
  REQUIRE_FALSE(lsq->observer_enabled());
  auto x2 = Tensor<float>::from_vector({0.3f, -2.0f, 3.0f, 0.75f}, {4}).requires_grad_();
  (*lsq)(x2).backward(Tensor<float>::from_vector({1, 2, 3, 4}, {4}));
  const double factor = 1.0 / std::sqrt(4.0 * 7.0);
  REQUIRE(lsq->grad_factor(4) == factor);
  REQUIRE(lsq->scale().grad().item() == Approx(13.4 * factor).epsilon(1e-6));
  REQUIRE(lsq->zero_point().grad().item() == Approx(-2.5 * factor).epsilon(1e-6));
  REQUIRE(values(x2.grad()) == std::vector<float>{1, 0, 0, 4});
  REQUIRE(obs->calls == 1);

  // qparams(): scale clamped to >= kMinScale, zero point rounded half to even.
  lsq->zero_point().data()[0] = 2.5f;
  lsq->scale().data()[0] = 1e-12f;
  const quant::QParams p = lsq->qparams();
  REQUIRE(p.scale[0] == quant::kMinScale);
  REQUIRE(p.zero_point[0] == 2);
  // A learned scale gone negative is clamped before use as PyTorch does.
  lsq->scale().data()[0] = -1.0f;
  (*lsq)(Tensor<float>::ones({2}));
  REQUIRE(lsq->scale().item() == quant::kMinScale);
}

TEST_CASE("LearnableFakeQuantize: a symmetric scheme keeps its zero point",
          "[quant][fake_quantize][lsq][module]") {
  auto lsq = std::make_shared<quant::LearnableFakeQuantize>(std::make_shared<TestMinMaxObserver>(
      quant::ObserverOptions{quant::kQint8, quant::QScheme::symmetric, -1, 0.01}));
  (*lsq)(Tensor<float>::from_vector({-1.0f, 2.0f}, {2}));
  lsq->enable_param_learning();
  lsq->zero_point().data()[0] = 5.0f;  // drifted: reset to the symmetric 0
  auto x = Tensor<float>::from_vector({-1.0f, 0.5f}, {2}).requires_grad_();
  (*lsq)(x).backward(Tensor<float>::ones({2}));
  REQUIRE(lsq->zero_point().item() == 0.0f);
  REQUIRE_FALSE(lsq->zero_point().grad().defined());
  REQUIRE(lsq->scale().grad().defined());
  REQUIRE(lsq->qparams().zero_point == std::vector<std::int32_t>{0});
}
