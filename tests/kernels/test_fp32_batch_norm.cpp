// Batch-norm kernels against plain double loops of PyTorch's formulas and against a central
// finite difference of a scalar loss (backward), for float and double, 1 and 2 threads.

#include <frost/core/error.hpp>
#include <frost/core/parallel.hpp>
#include <frost/kernels/fp32/batch_norm.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "test_fp32_reference.hpp"

namespace {

using Catch::Matchers::Contains;
using frost::kernels::fp32::BatchNormShape;

struct Stats {
  std::vector<double> mean, biased_var;
};

Stats channel_stats(const BatchNormShape& s, const std::vector<double>& x) {
  Stats st{std::vector<double>(static_cast<std::size_t>(s.channels)),
           std::vector<double>(static_cast<std::size_t>(s.channels))};
  for (std::int64_t c = 0; c < s.channels; ++c) {
    double sum = 0, sq = 0;
    for (std::int64_t n = 0; n < s.batch; ++n)
      for (std::int64_t i = 0; i < s.plane; ++i)
        sum += x[static_cast<std::size_t>((n * s.channels + c) * s.plane + i)];
    const double mean = sum / static_cast<double>(s.count());
    for (std::int64_t n = 0; n < s.batch; ++n)
      for (std::int64_t i = 0; i < s.plane; ++i) {
        const double d = x[static_cast<std::size_t>((n * s.channels + c) * s.plane + i)] - mean;
        sq += d * d;
      }
    st.mean[static_cast<std::size_t>(c)] = mean;
    st.biased_var[static_cast<std::size_t>(c)] = sq / static_cast<double>(s.count());
  }
  return st;
}

// loss(x, w, b) = sum(batch_norm_train(x, w, b) * r) in double, for finite differences.
double training_loss(const BatchNormShape& s, const std::vector<double>& x,
                     const std::vector<double>& w, const std::vector<double>& b,
                     const std::vector<double>& r, double eps) {
  const Stats st = channel_stats(s, x);
  double loss = 0;
  for (std::int64_t n = 0; n < s.batch; ++n)
    for (std::int64_t c = 0; c < s.channels; ++c)
      for (std::int64_t i = 0; i < s.plane; ++i) {
        const auto k = static_cast<std::size_t>((n * s.channels + c) * s.plane + i);
        const auto cc = static_cast<std::size_t>(c);
        loss += ((x[k] - st.mean[cc]) / std::sqrt(st.biased_var[cc] + eps) * w[cc] + b[cc]) * r[k];
      }
  return loss;
}

}  // namespace

TEST_CASE("fp32 batch_norm2d: training forward, saved statistics and running update",
          "[kernels][fp32][batch_norm]") {
  const int threads = GENERATE(1, 2);
  frost::set_num_threads(threads);
  const BatchNormShape s{3, 5, 4 * 3};
  const std::int64_t numel = s.batch * s.channels * s.plane;
  const auto x = frost_test::random_values<float>(numel, 11, -2, 3);
  const auto w = frost_test::random_values<float>(s.channels, 12);
  const auto b = frost_test::random_values<float>(s.channels, 13);
  std::vector<float> running_mean(5, 0.5f), running_var(5, 2.0f), y(x.size()), mean(5), invstd(5);
  const float eps = 1e-5f, momentum = 0.1f;
  frost::kernels::fp32::batch_norm2d_forward_training(
      s, x.data(), w.data(), b.data(), eps, momentum, running_mean.data(), running_var.data(),
      y.data(), mean.data(), invstd.data());
  const Stats st = channel_stats(s, std::vector<double>(x.begin(), x.end()));
  for (std::int64_t c = 0; c < s.channels; ++c) {
    const auto cc = static_cast<std::size_t>(c);
    const double inv = 1 / std::sqrt(st.biased_var[cc] + eps);
    CHECK(mean[cc] == Approx(st.mean[cc]).margin(1e-6));
    CHECK(invstd[cc] == Approx(inv).epsilon(1e-5));
    CHECK(running_mean[cc] == Approx(0.9 * 0.5 + 0.1 * st.mean[cc]).epsilon(1e-5));
    const double unbiased = st.biased_var[cc] * s.count() / (s.count() - 1.0);
    CHECK(running_var[cc] == Approx(0.9 * 2.0 + 0.1 * unbiased).epsilon(1e-5));
    for (std::int64_t n = 0; n < s.batch; ++n)
      for (std::int64_t i = 0; i < s.plane; ++i) {
        const auto k = static_cast<std::size_t>((n * s.channels + c) * s.plane + i);
        CHECK(y[k] == Approx((x[k] - st.mean[cc]) * inv * w[cc] + b[cc]).margin(1e-5));
      }
  }
  frost::set_num_threads(2);
}

TEST_CASE("fp32 batch_norm2d: hand-computed training forward without affine parameters",
          "[kernels][fp32][batch_norm]") {
  // One channel holding 1, 2, 3, 4: mean 2.5, biased var 1.25, unbiased 5/3.
  const BatchNormShape s{2, 1, 2};
  std::vector<float> x{1, 2, 3, 4}, y(4), rm{0}, rv{1};
  float mean = 0, invstd = 0;
  frost::kernels::fp32::batch_norm2d_forward_training<float>(
      s, x.data(), nullptr, nullptr, 0.0f, 0.1f, rm.data(), rv.data(), y.data(), &mean, &invstd);
  CHECK(mean == 2.5f);
  CHECK(invstd == Approx(1 / std::sqrt(1.25)));
  const double d = 1 / std::sqrt(1.25);
  CHECK(y[0] == Approx(-1.5 * d));
  CHECK(y[3] == Approx(1.5 * d));
  CHECK(rm[0] == Approx(0.25));
  CHECK(rv[0] == Approx(0.9 + 0.1 * 5.0 / 3.0));
}

TEST_CASE("fp32 batch_norm2d: eval forward uses the running statistics",
          "[kernels][fp32][batch_norm]") {
  const BatchNormShape s{2, 2, 3};
  const auto x = frost_test::random_values<float>(12, 21);
  const std::vector<float> w{2, -1}, b{0.5f, 0}, rm{0.25f, -1}, rv{4, 0.5f};
  std::vector<float> y(12);
  frost::kernels::fp32::batch_norm2d_forward_inference(s, x.data(), w.data(), b.data(), rm.data(),
                                                       rv.data(), 1e-5f, y.data());
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::size_t c = 0; c < 2; ++c)
      for (std::int64_t i = 0; i < 3; ++i) {
        const auto k = static_cast<std::size_t>((n * 2 + static_cast<std::int64_t>(c)) * 3 + i);
        CHECK(y[k] == Approx((x[k] - rm[c]) / std::sqrt(rv[c] + 1e-5) * w[c] + b[c]).margin(1e-6));
      }
}

TEST_CASE("fp32 batch_norm2d: training backward matches finite differences",
          "[kernels][fp32][batch_norm]") {
  const int threads = GENERATE(1, 2);
  frost::set_num_threads(threads);
  const BatchNormShape s{2, 3, 5};
  const std::int64_t numel = s.batch * s.channels * s.plane;
  const double eps = 1e-5;
  auto x = frost_test::random_values<double>(numel, 31, -1, 2);
  auto w = frost_test::random_values<double>(s.channels, 32);
  auto b = frost_test::random_values<double>(s.channels, 33);
  const auto r = frost_test::random_values<double>(numel, 34);  // grad_output
  std::vector<double> y(x.size()), mean(3), invstd(3), gx(x.size()), gw(3), gb(3);
  frost::kernels::fp32::batch_norm2d_forward_training<double>(s, x.data(), w.data(), b.data(), eps,
                                                              0.1, nullptr, nullptr, y.data(),
                                                              mean.data(), invstd.data());
  frost::kernels::fp32::batch_norm2d_backward(s, r.data(), x.data(), w.data(), mean.data(),
                                              invstd.data(), true, gx.data(), gw.data(), gb.data());
  const double h = 1e-6;
  auto numeric = [&](std::vector<double>& v, std::size_t i) {
    const double saved = v[i];
    v[i] = saved + h;
    const double up = training_loss(s, x, w, b, r, eps);
    v[i] = saved - h;
    const double down = training_loss(s, x, w, b, r, eps);
    v[i] = saved;
    return (up - down) / (2 * h);
  };
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(gx[i] == Approx(numeric(x, i)).margin(1e-6));
  for (std::size_t c = 0; c < 3; ++c) {
    CHECK(gw[c] == Approx(numeric(w, c)).margin(1e-6));
    CHECK(gb[c] == Approx(numeric(b, c)).margin(1e-6));
  }
  // Float kernels agree with the double ones.
  std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end()), rf(r.begin(), r.end());
  std::vector<float> meanf(3), invf(3), yf(x.size()), gxf(x.size()), gwf(3), gbf(3);
  frost::kernels::fp32::batch_norm2d_forward_training<float>(s, xf.data(), wf.data(), nullptr,
                                                             1e-5f, 0.1f, nullptr, nullptr,
                                                             yf.data(), meanf.data(), invf.data());
  frost::kernels::fp32::batch_norm2d_backward(s, rf.data(), xf.data(), wf.data(), meanf.data(),
                                              invf.data(), true, gxf.data(), gwf.data(),
                                              gbf.data());
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(gxf[i] == Approx(gx[i]).margin(1e-5));
  for (std::size_t c = 0; c < 3; ++c) CHECK(gwf[c] == Approx(gw[c]).margin(1e-5));
  frost::set_num_threads(2);
}

TEST_CASE("fp32 batch_norm2d: eval backward is a per-channel scale",
          "[kernels][fp32][batch_norm]") {
  const BatchNormShape s{2, 2, 2};
  const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8}, go{1, -1, 2, 0.5f, 3, 1, -2, 1};
  const std::vector<float> w{2, 3}, rm{1, 2}, invstd{0.5f, 0.25f};
  std::vector<float> gx(8), gw(2), gb(2);
  frost::kernels::fp32::batch_norm2d_backward(s, go.data(), x.data(), w.data(), rm.data(),
                                              invstd.data(), false, gx.data(), gw.data(),
                                              gb.data());
  // Channel 0 holds x 1, 2, 5, 6 with dy 1, -1, 3, 1; channel 1 holds 3, 4, 7, 8 with 2, 0.5,
  // -2, 1.
  CHECK(gx == std::vector<float>{1, -1, 1.5f, 0.375f, 3, 1, -1.5f, 0.75f});
  CHECK(gb == std::vector<float>{4, 1.5f});
  CHECK(gw[0] == Approx((1 * 0 - 1 * 1 + 3 * 4 + 1 * 5) * 0.5));
  CHECK(gw[1] == Approx((2 * 1 + 0.5 * 2 - 2 * 5 + 1 * 6) * 0.25));
}

TEST_CASE("fp32 batch_norm2d: one value per channel cannot be trained",
          "[kernels][fp32][batch_norm]") {
  const BatchNormShape s{1, 2, 1};
  std::vector<float> x{1, 2}, y(2), m(2), v(2);
  CHECK_THROWS_WITH(frost::kernels::fp32::batch_norm2d_forward_training<float>(
                        s, x.data(), nullptr, nullptr, 1e-5f, 0.1f, nullptr, nullptr, y.data(),
                        m.data(), v.data()),
                    Contains("batch_norm2d") && Contains("more than 1 value per channel"));
}
