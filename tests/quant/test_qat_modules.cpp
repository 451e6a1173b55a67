// QAT modules (quant/qat_modules.hpp): gradchecks (double) of the Conv-BN folding arithmetic in
// training and eval, QatConvBn2d against a conv with the weight folded and fake-quantized by hand
// and against the float Conv2d + BatchNorm2d, running statistics and freeze_bn_stats, gamma == 0
// and tiny variances, QatConv2d / QatLinear forward and STE gradients on hand-computed cases,
// and constructor errors.

#include <frost/autograd/gradcheck.hpp>
#include <frost/core/tensor.hpp>
#include <frost/nn/batch_norm.hpp>
#include <frost/nn/conv.hpp>
#include <frost/nn/linear.hpp>
#include <frost/ops/conv.hpp>
#include <frost/ops/elementwise.hpp>
#include <frost/ops/reduction.hpp>
#include <frost/quant/fake_quantize.hpp>
#include <frost/quant/qat_modules.hpp>
#include <frost/quant/qconfig.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

using Catch::Matchers::Contains;
using frost::Shape;
using frost::Tensor;
using Inputs = std::vector<Tensor<double>>;
namespace nn = frost::nn;
namespace quant = frost::quant;

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

void set(const Tensor<float>& t, const std::vector<float>& v) {
  REQUIRE(static_cast<std::int64_t>(v.size()) == t.numel());
  std::copy(v.begin(), v.end(), t.data());
}

double max_abs_diff(const Tensor<float>& a, const Tensor<float>& b) {
  REQUIRE(a.shape() == b.shape());
  const auto va = values(a), vb = values(b);
  double m = 0;
  for (std::size_t i = 0; i < va.size(); ++i)
    m = std::max(m, std::abs(static_cast<double>(va[i]) - vb[i]));
  return m;
}

bool all_finite(const Tensor<float>& t) {
  const auto v = values(t);
  return std::all_of(v.begin(), v.end(), [](float e) { return std::isfinite(e); });
}

// max |y[n, ch, ...] - value| over the samples n.
double channel_deviation(const Tensor<float>& y, std::int64_t ch, double value) {
  const std::int64_t C = y.size(1), P = y.numel() / (y.size(0) * C);
  double m = 0;
  for (std::int64_t i = 0; i < y.numel(); ++i)
    if ((i / P) % C == ch) m = std::max(m, std::abs(y.data()[i] - value));
  return m;
}

std::shared_ptr<quant::FakeQuantize> weight_fake_quant() {
  return std::make_shared<quant::FakeQuantize>(quant::default_qat_qconfig().weight());
}

// Per-output-channel symmetric [-127, 127] fake quantization (DESIGN.md §3) with given scales.
std::vector<float> fake_quantize_rows(const std::vector<float>& w,
                                      const std::vector<float>& scale) {
  const std::size_t per = w.size() / scale.size();
  std::vector<float> out(w.size());
  for (std::size_t i = 0; i < w.size(); ++i)
    out[i] = std::clamp(std::nearbyint(w[i] / scale[i / per]), -127.0f, 127.0f) * scale[i / per];
  return out;
}

// The DESIGN.md rule for a symmetric narrow int8 range: max(|min|, |max|) / 127.
std::vector<float> symmetric_scales(const std::vector<float>& w, std::size_t channels) {
  const std::size_t per = w.size() / channels;
  std::vector<float> s(channels, 0.0f);
  for (std::size_t i = 0; i < w.size(); ++i) s[i / per] = std::max(s[i / per], std::abs(w[i]));
  for (float& v : s) v = std::max(v / 127.0f, quant::kMinScale);
  return s;
}

// Per-channel mean and biased variance of c [N, C, H, W] over N, H, W.
template <class T>
std::pair<std::vector<double>, std::vector<double>> batch_stats(const Tensor<T>& c) {
  const std::int64_t N = c.size(0), C = c.size(1), P = c.size(2) * c.size(3);
  std::vector<double> mean(static_cast<std::size_t>(C), 0.0), var(mean);
  for (std::int64_t i = 0; i < c.numel(); ++i) mean[std::size_t((i / P) % C)] += c.data()[i];
  for (double& m : mean) m /= double(N * P);
  for (std::int64_t i = 0; i < c.numel(); ++i)
    var[std::size_t((i / P) % C)] += std::pow(c.data()[i] - mean[std::size_t((i / P) % C)], 2);
  for (double& v : var) v /= double(N * P);
  return {mean, var};
}

// max |y - ((c - mean) / sqrt(var + eps) * gamma + beta)| over every element.
template <class T>
double max_bn_error(const Tensor<T>& y, const Tensor<T>& c, const std::vector<double>& mean,
                    const std::vector<double>& var, const Tensor<T>& gamma, const Tensor<T>& beta) {
  const std::int64_t C = c.size(1), P = c.size(2) * c.size(3);
  double err = 0;
  for (std::int64_t i = 0; i < c.numel(); ++i) {
    const auto ch = std::size_t((i / P) % C);
    const double ref =
        (c.data()[i] - mean[ch]) / std::sqrt(var[ch] + 1e-5) * gamma.data()[ch] + beta.data()[ch];
    err = std::max(err, std::abs(y.data()[i] - ref));
  }
  return err;
}

// A 4 -> 4 channel conv 3x3 (padding 1) and its batch norm with non-trivial statistics.
struct ConvBn {
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::BatchNorm2d> bn;
  std::shared_ptr<quant::FakeQuantize> fq;
  std::shared_ptr<quant::QatConvBn2d> qat;
};

ConvBn make_conv_bn(std::int64_t groups, bool bias, std::vector<float> gamma,
                    std::vector<float> running_var, std::uint64_t seed) {
  ConvBn m;
  m.conv = std::make_shared<nn::Conv2d>(
      4, 4, 3, nn::Conv2dOptions{.stride = 1, .padding = 1, .groups = groups, .bias = bias});
  set(m.conv->weight(), values(random_tensor<float>(m.conv->weight().shape(), seed)));
  if (bias) set(m.conv->bias(), {0.3f, -0.2f, 0.1f, 0.05f});
  m.bn = std::make_shared<nn::BatchNorm2d>(4);
  set(m.bn->weight(), gamma);
  set(m.bn->bias(), {0.1f, -0.3f, 0.25f, 0.7f});
  set(m.bn->running_mean(), {0.2f, -0.1f, 0.05f, 0.3f});
  set(m.bn->running_var(), running_var);
  m.fq = weight_fake_quant();
  m.qat = std::make_shared<quant::QatConvBn2d>(m.conv, m.bn, m.fq);
  return m;
}

// w * gamma / sqrt(var + eps) and beta + (b - mean) * gamma / sqrt(var + eps), in loops.
struct Folded {
  std::vector<float> w, b;
};
Folded fold_by_hand(const ConvBn& m) {
  const auto w = values(m.conv->weight()), g = values(m.bn->weight()), be = values(m.bn->bias());
  const auto rm = values(m.bn->running_mean()), rv = values(m.bn->running_var());
  const auto eps = static_cast<float>(m.bn->options().eps);
  Folded f{w, std::vector<float>(4)};
  const std::size_t per = w.size() / 4;
  for (std::size_t c = 0; c < 4; ++c) {
    const float s = g[c] / std::sqrt(rv[c] + eps);
    for (std::size_t k = 0; k < per; ++k) f.w[c * per + k] = w[c * per + k] * s;
    const float b = m.conv->bias().defined() ? m.conv->bias().data()[c] : 0.0f;
    f.b[c] = (b - rm[c]) * s + be[c];
  }
  return f;
}

Tensor<float> folded_conv(const ConvBn& m, const Tensor<float>& x, const std::vector<float>& w,
                          const std::vector<float>& b) {
  const auto& o = m.conv->options();
  return frost::conv2d(x, Tensor<float>::from_vector(w, m.conv->weight().shape()),
                       Tensor<float>::from_vector(b, {4}), o.stride, o.padding, o.dilation,
                       o.groups);
}

}  // namespace

TEST_CASE("conv_bn2d_approximate: gradcheck (double) in training and eval",
          "[quant][qat][gradcheck]") {
  struct Case {
    int stride, padding;
    std::int64_t groups;
    bool bias, batch_stats, zero_gamma;
  };
  const std::vector<Case> cases = {
      {1, 0, 1, false, true, false}, {1, 0, 1, false, false, false}, {2, 1, 2, true, true, false},
      {2, 1, 2, true, false, false}, {1, 1, 4, true, true, true},    {1, 1, 4, true, false, true},
  };
  std::uint64_t seed = 100;
  for (const Case& k : cases) {
    INFO("stride " << k.stride << " padding " << k.padding << " groups " << k.groups << " bias "
                   << k.bias << " batch_stats " << k.batch_stats << " zero_gamma " << k.zero_gamma);
    auto x = random_tensor<double>({2, 4, 5, 5}, seed++).requires_grad_();
    auto w = random_tensor<double>({4, 4 / k.groups, 3, 3}, seed++).requires_grad_();
    auto b = random_tensor<double>({4}, seed++).requires_grad_();
    auto gamma = Tensor<double>::from_vector({0.8, -1.3, 1.7, 0.6}, {4});
    if (k.zero_gamma) gamma.data()[1] = 0.0;
    gamma.requires_grad_();
    auto beta = random_tensor<double>({4}, seed++).requires_grad_();
    const auto mean0 = Tensor<double>::from_vector({0.1, -0.2, 0.3, 0.0}, {4});
    const auto var0 = Tensor<double>::from_vector({0.5, 1.2, 0.05, 2.0}, {4});
    const nn::Conv2dOptions opt{.stride = k.stride, .padding = k.padding, .groups = k.groups};
    // Fresh running statistics on every call: training updates them in place.
    auto fn = [&](const Inputs& in) {
      return quant::conv_bn2d_approximate<double>(
          in[0], in[1], k.bias ? in[2] : Tensor<double>(), in[3], in[4], mean0.clone(),
          var0.clone(), opt, k.batch_stats, 0.1, 1e-5, [](const Tensor<double>& t) { return t; });
    };
    const auto result = frost::gradcheck(fn, {x, w, b, gamma, beta});
    INFO(result.message);
    REQUIRE(result.ok);
    if (k.zero_gamma) REQUIRE(gamma.grad().data()[1] != 0.0);  // a zero gamma can still move

    // Values: eval is the folded conv; training normalises the plain conv's output.
    const frost::NoGradGuard no_grad;
    const Tensor<double> y = fn({x, w, b, gamma, beta});
    Tensor<double> c = frost::conv2d(x.detach(), w.detach(), k.bias ? b.detach() : Tensor<double>(),
                                     k.stride, k.padding, 1, k.groups);
    auto [mean, var] = batch_stats(c);
    if (!k.batch_stats) mean = values(mean0), var = values(var0);
    CHECK(max_bn_error(y, c, mean, var, gamma.detach(), beta.detach()) < 1e-12);
  }
}

TEST_CASE("QatConvBn2d eval: the conv with the weight folded and fake-quantized by hand",
          "[quant][qat]") {
  for (std::int64_t groups : {1, 2}) {
    for (bool bias : {false, true}) {
      INFO("groups " << groups << " bias " << bias);
      ConvBn m = make_conv_bn(groups, bias, {0.5f, -1.2f, 2.0f, 0.8f}, {0.5f, 1.5f, 0.04f, 2.0f},
                              7 + static_cast<std::uint64_t>(groups));
      const auto x = random_tensor<float>({2, 4, 5, 5}, 3);
      m.qat->eval();
      (void)(*m.qat)(x);  // the observer sees the folded weight once
      m.fq->disable_observer();
      const Tensor<float> y = (*m.qat)(x);

      const Folded f = fold_by_hand(m);
      const auto [w_fold, b_fold] = m.qat->folded_weight_and_bias();
      CHECK(max_abs_diff(w_fold, Tensor<float>::from_vector(f.w, w_fold.shape())) == 0.0);
      CHECK(max_abs_diff(b_fold, Tensor<float>::from_vector(f.b, {4})) < 1e-6);
      const quant::QParams p = m.fq->qparams();
      REQUIRE((p.axis == 0 && p.scale.size() == 4));
      const auto hand_scale = symmetric_scales(f.w, 4);
      for (std::size_t c = 0; c < 4; ++c) {
        CHECK(p.scale[c] == Approx(hand_scale[c]).epsilon(1e-6));
        CHECK(p.zero_point[c] == 0);
      }
      const Tensor<float> ref = folded_conv(m, x, fake_quantize_rows(f.w, p.scale), f.b);
      CHECK(max_abs_diff(y, ref) < 1e-5);
      // The fake quantization does something here: the unquantized fold differs.
      CHECK(max_abs_diff(y, folded_conv(m, x, f.w, f.b)) > 1e-4);

      // Fake quantization off: exactly conv then batch norm (eval) of the float layers.
      m.fq->disable_fake_quant();
      m.conv->eval();
      m.bn->eval();
      CHECK(max_abs_diff((*m.qat)(x), (*m.bn)((*m.conv)(x))) < 1e-5);
    }
  }
}

TEST_CASE("QatConvBn2d training: batch statistics, running statistics, freeze_bn_stats",
          "[quant][qat]") {
  ConvBn m = make_conv_bn(2, true, {0.5f, -1.2f, 2.0f, 0.8f}, {0.5f, 1.5f, 0.04f, 2.0f}, 11);
  m.fq->disable_fake_quant();
  const auto x = random_tensor<float>({3, 4, 4, 4}, 5);
  const auto mean0 = values(m.bn->running_mean()), var0 = values(m.bn->running_var());
  m.qat->train();
  const Tensor<float> y = (*m.qat)(x);
  const auto mean1 = values(m.qat->running_mean()), var1 = values(m.qat->running_var());
  CHECK(m.qat->num_batches_tracked().data()[0] == 1.0f);

  // By hand: the batch statistics of the float conv output; momentum 0.1, unbiased variance.
  const Tensor<float> c =
      frost::conv2d(x, m.conv->weight().detach(), m.conv->bias().detach(), 1, 1, 1, 2);
  const auto [mean, var] = batch_stats(c);
  for (std::size_t ch = 0; ch < 4; ++ch) {
    CHECK(mean1[ch] == Approx(0.9 * mean0[ch] + 0.1 * mean[ch]).margin(1e-6));
    CHECK(var1[ch] == Approx(0.9 * var0[ch] + 0.1 * var[ch] * 48.0 / 47.0).margin(1e-6));
  }
  CHECK(max_bn_error(y, c, mean, var, m.bn->weight().detach(), m.bn->bias().detach()) < 1e-4);

  // The float Conv2d + BatchNorm2d in training, from the same starting statistics.
  set(m.bn->running_mean(), mean0);
  set(m.bn->running_var(), var0);
  m.bn->num_batches_tracked().data()[0] = 0.0f;
  m.conv->train();
  m.bn->train();
  CHECK(max_abs_diff(y, (*m.bn)((*m.conv)(x))) < 1e-4);
  for (std::size_t ch = 0; ch < 4; ++ch) {
    CHECK(m.bn->running_mean().data()[ch] == Approx(mean1[ch]).margin(1e-6));
    CHECK(m.bn->running_var().data()[ch] == Approx(var1[ch]).margin(1e-6));
  }

  // Frozen: training uses (and keeps) the running statistics: the eval formula.
  m.qat->freeze_bn_stats(true);
  REQUIRE(m.qat->bn_stats_frozen());
  const auto mean2 = values(m.qat->running_mean()), var2 = values(m.qat->running_var());
  const Tensor<float> y_frozen = (*m.qat)(x);
  CHECK(values(m.qat->running_mean()) == mean2);
  CHECK(values(m.qat->running_var()) == var2);
  CHECK(m.qat->num_batches_tracked().data()[0] == 1.0f);
  const Folded f = fold_by_hand(m);
  CHECK(max_abs_diff(y_frozen, folded_conv(m, x, f.w, f.b)) < 1e-5);
  CHECK(max_abs_diff(y_frozen, y) > 1e-3);  // not the batch-statistics output
  m.qat->eval();
  CHECK(max_abs_diff(y_frozen, (*m.qat)(x)) < 1e-6);

  // Unfrozen: batch statistics and updates again.
  m.qat->train();
  m.qat->freeze_bn_stats(false);
  (void)(*m.qat)(x);
  CHECK(m.qat->num_batches_tracked().data()[0] == 2.0f);
  CHECK(values(m.qat->running_mean()) != mean2);
}

TEST_CASE("QatConvBn2d: gamma == 0 and zero / tiny running variance stay finite", "[quant][qat]") {
  // Channel 0: gamma 0; channel 1: running_var 0; channel 2: running_var 1e-30.
  ConvBn m = make_conv_bn(1, true, {0.0f, 1.0f, 1.5f, 0.7f}, {1.0f, 0.0f, 1e-30f, 1.0f}, 21);
  const auto x = random_tensor<float>({2, 4, 4, 4}, 9);

  m.qat->eval();
  (void)(*m.qat)(x);
  m.fq->disable_observer();
  const Tensor<float> y = (*m.qat)(x);
  REQUIRE(all_finite(y));
  const auto [w_fold, b_fold] = m.qat->folded_weight_and_bias();
  REQUIRE(all_finite(w_fold));
  REQUIRE(all_finite(b_fold));
  for (std::int64_t k = 0; k < 36; ++k) CHECK(w_fold.data()[k] == 0.0f);
  CHECK(b_fold.data()[0] == Approx(0.1f));
  CHECK(channel_deviation(y, 0, 0.1f) < 1e-6);  // beta[0]
  const Folded f = fold_by_hand(m);
  const Tensor<float> ref = folded_conv(m, x, fake_quantize_rows(f.w, m.fq->qparams().scale), f.b);
  const auto vy = values(y), vr = values(ref);
  for (std::size_t i = 0; i < vy.size(); ++i)
    CHECK(vy[i] == Approx(vr[i]).epsilon(1e-5).margin(1e-4));

  // Training, fake quantization on: finite outputs and gradients, gamma[0] gets a gradient.
  m.qat->train();
  m.fq->enable_observer();
  const auto xg = x.clone().requires_grad_();
  const Tensor<float> yt = (*m.qat)(xg);
  REQUIRE(all_finite(yt));
  CHECK(channel_deviation(yt, 0, 0.1f) < 1e-6);
  frost::sum(frost::mul(yt, random_tensor<float>(yt.shape(), 4))).backward();
  for (const Tensor<float>* t :
       {&xg, &m.conv->weight(), &m.conv->bias(), &m.bn->weight(), &m.bn->bias()}) {
    REQUIRE(t->grad().defined());
    CHECK(all_finite(t->grad()));
  }
  CHECK(m.bn->weight().grad().data()[0] != 0.0f);
  CHECK(all_finite(m.bn->running_var()));

  // Every sample the same: zero batch variance in training (output beta).
  ConvBn z = make_conv_bn(1, false, {0.5f, 1.0f, 1.5f, 0.7f}, {1.0f, 1.0f, 1.0f, 1.0f}, 22);
  z.qat->train();
  const Tensor<float> yz = (*z.qat)(Tensor<float>::ones({2, 4, 1, 1}));
  REQUIRE(all_finite(yz));
  for (std::int64_t ch = 0; ch < 4; ++ch)
    CHECK(channel_deviation(yz, ch, z.bn->bias().data()[ch]) < 1e-4);
  frost::sum(yz).backward();
  CHECK(all_finite(z.conv->weight().grad()));
  CHECK(all_finite(z.bn->weight().grad()));
}

TEST_CASE("QatConv2d: forward with the per-channel fake-quantized weight, STE gradient",
          "[quant][qat]") {
  auto conv = std::make_shared<nn::Conv2d>(2, 3, 2, nn::Conv2dOptions{.padding = 1});
  set(conv->weight(), values(random_tensor<float>(conv->weight().shape(), 31)));
  set(conv->bias(), {0.1f, -0.2f, 0.3f});
  auto fq = weight_fake_quant();
  auto qat = std::make_shared<quant::QatConv2d>(conv, fq);
  CHECK(qat->weight().data() == conv->weight().data());  // shared, not copied
  CHECK(qat->state_dict().contains("weight_fake_quant.scale"));
  REQUIRE(fq->scale().shape() == Shape{3});  // sized by the module before any forward

  const auto x = random_tensor<float>({2, 2, 3, 3}, 32);
  const Tensor<float> y = (*qat)(x);
  const auto w = values(conv->weight());
  const auto scale = symmetric_scales(w, 3);
  for (std::size_t c = 0; c < 3; ++c) CHECK(fq->qparams().scale[c] == Approx(scale[c]));
  auto wq = fake_quantize_rows(w, fq->qparams().scale);
  CHECK(max_abs_diff(y, frost::conv2d(x, Tensor<float>::from_vector(wq, conv->weight().shape()),
                                      conv->bias().detach(), 1, 1)) < 1e-6);

  // Freeze the range, push one weight out of it: its gradient is 0, the others the conv's.
  fq->disable_observer();
  conv->weight().data()[0] = 3.0f * scale[0] * 127.0f;
  wq[0] = 127.0f * fq->qparams().scale[0];
  const auto v = random_tensor<float>(y.shape(), 33);
  frost::sum(frost::mul((*qat)(x), v)).backward();
  auto w_ref = Tensor<float>::from_vector(wq, conv->weight().shape()).requires_grad_();
  frost::sum(frost::mul(frost::conv2d(x, w_ref, conv->bias().detach(), 1, 1), v)).backward();
  const auto g = values(conv->weight().grad()), g_ref = values(w_ref.grad());
  CHECK(g[0] == 0.0f);
  CHECK(g_ref[0] != 0.0f);
  for (std::size_t i = 1; i < g.size(); ++i) CHECK(g[i] == Approx(g_ref[i]).margin(1e-5));
}

TEST_CASE("QatLinear: hand-computed forward and STE gradient", "[quant][qat]") {
  auto lin = std::make_shared<nn::Linear>(3, 2);
  set(lin->weight(), {0.3f, -1.0f, 0.25f, 2.0f, 0.3f, -0.7f});
  set(lin->bias(), {0.1f, -0.2f});
  auto fq = weight_fake_quant();
  auto qat = std::make_shared<quant::QatLinear>(lin, fq);
  const auto x = Tensor<float>::from_vector({1.0f, 2.0f, 3.0f, -1.0f, 0.5f, 2.0f}, {2, 3});
  const Tensor<float> y = (*qat)(x);
  // Scales 1 / 127 and 2 / 127: w / s = 38.1, -127, 31.75 | 127, 19.05, -44.45.
  CHECK(fq->qparams().scale[0] == Approx(1.0f / 127));
  CHECK(fq->qparams().scale[1] == Approx(2.0f / 127));
  const double a = 1.0 / 127, b = 2.0 / 127;
  const double wq[2][3] = {{38 * a, -1.0, 32 * a}, {2.0, 19 * b, -44 * b}};
  const double xs[2][3] = {{1, 2, 3}, {-1, 0.5, 2}};
  const double bias[2] = {0.1, -0.2};
  for (int n = 0; n < 2; ++n)
    for (int o = 0; o < 2; ++o) {
      double ref = bias[o];
      for (int i = 0; i < 3; ++i) ref += xs[n][i] * wq[o][i];
      CHECK(y.data()[n * 2 + o] == Approx(ref).margin(1e-6));
    }

  // w[1][2] = -3 is out of [-127, 127] * 2 / 127 with the range frozen: clamped, no gradient.
  fq->disable_observer();
  lin->weight().data()[5] = -3.0f;
  const auto xg = x.clone().requires_grad_();
  const Tensor<float> y2 = (*qat)(xg);
  // y[1][1] = -1 * 2 + 0.5 * 19 * 2/127 + 2 * (-127 * 2/127) - 0.2
  CHECK(y2.data()[3] == Approx(-1.0 * 2.0 + 0.5 * 19 * b + 2.0 * -2.0 - 0.2).margin(1e-6));
  frost::sum(y2).backward();
  CHECK(values(lin->weight().grad()) == std::vector<float>{0.0f, 2.5f, 5.0f, 0.0f, 2.5f, 0.0f});
  CHECK(values(lin->bias().grad()) == std::vector<float>{2.0f, 2.0f});
  const auto gx = values(xg.grad());
  const double col[3] = {38 * a + 2.0, -1.0 + 19 * b, 32 * a - 2.0};
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 3; ++i) CHECK(gx[static_cast<std::size_t>(n * 3 + i)] == Approx(col[i]));
}

TEST_CASE("QAT layers in eval: the bias on the INT8 model's int32 grid s_in * s_w, STE gradient",
          "[quant][qat]") {
  auto lin = std::make_shared<nn::Linear>(3, 2);
  set(lin->weight(), {0.3f, -1.0f, 0.25f, 2.0f, 0.3f, -0.7f});
  set(lin->bias(), {0.1f, -0.2f});
  auto fq = weight_fake_quant();
  auto qat = std::make_shared<quant::QatLinear>(lin, fq);
  auto input_fq = std::make_shared<quant::FakeQuantize>(quant::default_qat_qconfig().activation());
  const auto x = Tensor<float>::from_vector({1.0f, 2.0f, 3.0f, -1.0f, 0.5f, 2.0f}, {2, 3});
  const Tensor<float> xq = (*input_fq)(x);  // observes [-1, 3]
  input_fq->disable_observer();
  const float s_in = input_fq->qparams().scalar_scale();
  REQUIRE(s_in == Approx(4.0f / 255));

  const Tensor<float> y_float_bias = (*qat)(xq);  // no input quantizer known: float bias
  fq->disable_observer();
  qat->set_input_fake_quant(input_fq);
  const Tensor<float> y_train = (*qat)(xq);  // training: float bias still
  CHECK(max_abs_diff(y_train, y_float_bias) == 0.0);

  qat->eval();
  const Tensor<float> y = (*qat)(xq);
  const auto sw = fq->qparams().scale;  // 1 / 127, 2 / 127
  std::vector<float> snapped(2);
  for (std::size_t c = 0; c < 2; ++c) {
    const double unit = double(s_in) * double(sw[c]);
    snapped[c] = static_cast<float>(std::nearbyint(double(values(lin->bias())[c]) / unit) * unit);
  }
  const Tensor<float> wq = (*fq)(lin->weight().detach());
  const Tensor<float> ref = frost::linear(xq, wq, Tensor<float>::from_vector(snapped, {2}));
  CHECK(max_abs_diff(y, ref) < 1e-6);
  // The grid moved the bias (0.1 / (s_in / 127) = 806.6 units): the result differs from the
  // float-bias one by that fraction of a unit.
  CHECK(max_abs_diff(y, y_float_bias) > 1e-6);
  CHECK(max_abs_diff(y, y_float_bias) < 0.5 * s_in * sw[1] + 1e-7);

  // Straight through: the bias gets the gradient of the float op.
  frost::sum((*qat)(xq)).backward();
  CHECK(values(lin->bias().grad()) == std::vector<float>{2.0f, 2.0f});

  // The same rule in the conv layers: QatConvBn2d in eval adds the folded bias on the grid.
  ConvBn m = make_conv_bn(1, true, {0.5f, -1.2f, 2.0f, 0.8f}, {0.5f, 1.5f, 0.04f, 2.0f}, 9);
  const auto xc = random_tensor<float>({2, 4, 5, 5}, 4);
  auto conv_in = std::make_shared<quant::FakeQuantize>(quant::default_qat_qconfig().activation());
  const Tensor<float> xcq = (*conv_in)(xc);
  conv_in->disable_observer();
  m.qat->eval();
  (void)(*m.qat)(xcq);
  m.fq->disable_observer();
  m.qat->set_input_fake_quant(conv_in);
  const Tensor<float> yc = (*m.qat)(xcq);
  const Folded f = fold_by_hand(m);
  const quant::QParams p = m.fq->qparams();
  const float sc_in = conv_in->qparams().scalar_scale();
  std::vector<float> b_grid(4);
  for (std::size_t c = 0; c < 4; ++c) {
    const double unit = double(sc_in) * double(p.scale[c]);
    b_grid[c] = static_cast<float>(std::nearbyint(double(f.b[c]) / unit) * unit);
  }
  const auto wq_rows = fake_quantize_rows(f.w, p.scale);
  CHECK(max_abs_diff(yc, folded_conv(m, xcq, wq_rows, b_grid)) < 2e-6);
  CHECK(max_abs_diff(yc, folded_conv(m, xcq, wq_rows, f.b)) > 4e-6);
}

TEST_CASE("QAT modules: construction and input errors name the op", "[quant][qat]") {
  auto conv = std::make_shared<nn::Conv2d>(4, 4, 3);
  auto bn4 = std::make_shared<nn::BatchNorm2d>(4);
  auto lin = std::make_shared<nn::Linear>(3, 2);
  CHECK_THROWS_AS(quant::QatConv2d(conv, nullptr), frost::Error);
  CHECK_THROWS_WITH(quant::QatConv2d(conv, nullptr), Contains("QatConv2d") && Contains("null"));
  CHECK_THROWS_WITH(quant::QatLinear(lin, nullptr), Contains("QatLinear") && Contains("null"));
  CHECK_THROWS_WITH(quant::QatConvBn2d(conv, bn4, nullptr), Contains("QatConvBn2d"));
  CHECK_THROWS_WITH(
      quant::QatConvBn2d(conv, std::make_shared<nn::BatchNorm2d>(3), weight_fake_quant()),
      Contains("QatConvBn2d") && Contains("4 output channels"));
  auto no_stats =
      std::make_shared<nn::BatchNorm2d>(4, nn::BatchNorm2dOptions{.track_running_stats = false});
  CHECK_THROWS_WITH(quant::QatConvBn2d(conv, no_stats, weight_fake_quant()),
                    Contains("QatConvBn2d") && Contains("running statistics"));
  // A per-channel fake quantizer along an axis the weight does not have.
  auto axis2 = std::make_shared<quant::FakeQuantize>(
      std::make_shared<quant::MovingAveragePerChannelMinMaxObserver>(
          quant::ObserverOptions{quant::kQint8Narrow, quant::QScheme::symmetric, 2, 0.01}));
  CHECK_THROWS_WITH(quant::QatLinear(lin, axis2), Contains("QatLinear") && Contains("axis 2"));
  // A wrong input shape.
  quant::QatConvBn2d qat(conv, bn4, weight_fake_quant());
  CHECK_THROWS_WITH(qat.forward(Tensor<float>::zeros({1, 3, 5, 5})),
                    Contains("QatConvBn2d") && Contains("[1, 3, 5, 5]"));
  // The folding arithmetic itself.
  const auto w = Tensor<float>::zeros({4, 4, 3, 3}), x = Tensor<float>::zeros({1, 4, 5, 5});
  const auto ones4 = Tensor<float>::ones({4}), ones3 = Tensor<float>::ones({3});
  auto id = [](const Tensor<float>& t) { return t; };
  CHECK_THROWS_WITH(quant::conv_bn2d_approximate(x, w, Tensor<float>(), ones4, ones4, ones3, ones3,
                                                 {}, false, 0.1, 1e-5, id),
                    Contains("conv_bn2d_approximate") && Contains("[4]"));
  CHECK_THROWS_WITH(quant::conv_bn2d_approximate(x, w, Tensor<float>(), ones3, ones4, ones4, ones4,
                                                 {}, false, 0.1, 1e-5, id),
                    Contains("conv_bn2d_approximate") && Contains("bn weight shape [3]"));
  CHECK_THROWS_WITH(quant::bn_fold_scale(ones4, Tensor<float>::full({4}, -1.0f), 1e-5),
                    Contains("bn_fold_scale") && Contains("running_var[0]"));
  // bn_fold_scale by hand: gamma / sqrt(var + eps), and 1 / sqrt(var + eps) without gamma.
  const auto s = quant::bn_fold_scale(Tensor<float>::from_vector({2.0f, -3.0f}, {2}),
                                      Tensor<float>::from_vector({3.0f, 0.0f}, {2}), 1.0);
  CHECK(values(s) == std::vector<float>{1.0f, -3.0f});
  const auto s1 =
      quant::bn_fold_scale(Tensor<float>(), Tensor<float>::from_vector({3.0f}, {1}), 1.0);
  CHECK(s1.data()[0] == 0.5f);
}
