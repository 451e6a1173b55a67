#pragma once
// EntropyObserver: TensorRT's entropy (KL-divergence) calibration. The variant, exactly:
//
//   histogram  |x| over [0, max |x|] in `bins` (2048) equal bins, grown with the data as
//              HistogramObserver grows its histogram (histogram_observer.hpp); the signed
//              min_val / max_val are kept beside it. This is the form of TensorRT's
//              calibrator and of ncnn's threshold_distribution.
//   levels     L quantization levels cover [0, T]: all of the integer range (qmax - qmin + 1,
//              256 for u8) when the scheme is affine and the data never changed sign (a
//              post-ReLU activation in u8 uses every level on [0, T]); half of it otherwise
//              ((qmax - qmin + 1) / 2: 128 for s8 / u8, 127 for [-127, 127]).
//   candidates every i in [L, bins] (T = i * bin width; MXNet / ONNX Runtime's
//              get_optimal_threshold on the half histogram):
//                p = hist[0, i) with the outliers sum(hist[i, bins)) added to p[i - 1];
//                q: hist[0, i) merged into L groups of i / L bins (the remainder joins the last
//                   group), each group's count spread evenly over the bins where p != 0;
//                both smoothed as in MXNet / ONNX Runtime (zero entries get eps = 1e-4, the
//                nonzero ones give up eps * zeros / nonzeros; a candidate whose smoothing
//                leaves an entry <= 0 is skipped), then KL(p || q) of the normalised
//                distributions, in double.
//              The smallest KL wins (the first on ties); no candidate means T = max |x|.
//   range      [max(min_val, -T), min(max_val, T)], through choose_qparams (qparams.hpp).
//
// Buffers: "histogram" [bins], "min_val" [], "max_val" [] (HistogramObserverBase).

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/quant/histogram_observer.hpp"
#include "frost/quant/observer.hpp"
#include "frost/quant/qparams.hpp"

namespace frost::quant {

namespace detail {

// MXNet / ONNX Runtime's _smooth_distribution on d[0, n); false when it cannot be smoothed.
inline bool smooth_distribution(std::vector<double>& d, std::int64_t n) {
  constexpr double kEps = 1e-4;
  std::int64_t zeros = 0;
  for (std::int64_t k = 0; k < n; ++k) zeros += d[static_cast<std::size_t>(k)] == 0.0;
  const std::int64_t nonzeros = n - zeros;
  if (nonzeros == 0) return false;
  const double eps1 = kEps * static_cast<double>(zeros) / static_cast<double>(nonzeros);
  for (std::int64_t k = 0; k < n; ++k) {
    double& v = d[static_cast<std::size_t>(k)];
    v = v == 0.0 ? kEps : v - eps1;
    if (!(v > 0.0)) return false;
  }
  return true;
}

// KL(p || q) of p[0, n) and q[0, n) after normalising each to sum 1 (scipy.stats.entropy).
inline double kl_divergence(const std::vector<double>& p, const std::vector<double>& q,
                            std::int64_t n) {
  double sp = 0.0, sq = 0.0;
  for (std::int64_t k = 0; k < n; ++k) {
    sp += p[static_cast<std::size_t>(k)];
    sq += q[static_cast<std::size_t>(k)];
  }
  double kl = 0.0;
  for (std::int64_t k = 0; k < n; ++k) {
    const double pk = p[static_cast<std::size_t>(k)] / sp;
    const double qk = q[static_cast<std::size_t>(k)] / sq;
    kl += pk * std::log(pk / qk);
  }
  return kl;
}

}  // namespace detail

// The number of bins i in [levels, bins] whose threshold i * bin width minimises the smoothed
// KL divergence above, for the |x| histogram hist[bins]; `bins` when bins <= levels or no
// candidate could be evaluated.
inline std::int64_t entropy_threshold_bins(const float* hist, std::int64_t bins,
                                           std::int64_t levels) {
  FROST_CHECK(bins >= 1 && levels >= 1, "entropy_threshold_bins", "bins = ", bins,
              ", levels = ", levels);
  if (bins <= levels) return bins;
  std::vector<double> outliers(static_cast<std::size_t>(bins) + 1, 0.0);  // sum of hist[i, bins)
  for (std::int64_t i = bins; i-- > 0;)
    outliers[static_cast<std::size_t>(i)] = outliers[static_cast<std::size_t>(i) + 1] + hist[i];
  std::vector<double> p(static_cast<std::size_t>(bins)), q(static_cast<std::size_t>(bins));
  std::int64_t best = bins;
  double best_kl = std::numeric_limits<double>::infinity();
  for (std::int64_t i = levels; i <= bins; ++i) {
    for (std::int64_t k = 0; k < i; ++k) p[static_cast<std::size_t>(k)] = hist[k];
    p[static_cast<std::size_t>(i - 1)] += outliers[static_cast<std::size_t>(i)];
    const std::int64_t merged = i / levels;
    for (std::int64_t j = 0; j < levels; ++j) {
      const std::int64_t start = j * merged, stop = j == levels - 1 ? i : start + merged;
      double count = 0.0;
      std::int64_t nonzero = 0;
      for (std::int64_t k = start; k < stop; ++k) {
        count += hist[k];
        nonzero += p[static_cast<std::size_t>(k)] != 0.0;
      }
      const double spread = nonzero != 0 ? count / static_cast<double>(nonzero) : 0.0;
      for (std::int64_t k = start; k < stop; ++k)
        q[static_cast<std::size_t>(k)] = p[static_cast<std::size_t>(k)] != 0.0 ? spread : 0.0;
    }
    if (!detail::smooth_distribution(p, i) || !detail::smooth_distribution(q, i)) continue;
    const double kl = detail::kl_divergence(p, q, i);
    if (kl < best_kl) {
      best_kl = kl;
      best = i;
    }
  }
  return best;
}

class EntropyObserver : public HistogramObserverBase {
 public:
  explicit EntropyObserver(ObserverOptions options = {}, HistogramOptions histogram = {})
      : HistogramObserverBase("EntropyObserver", options, histogram, true) {}

  // The quantization levels that cover [0, T] (see the top of this file).
  std::int64_t positive_levels() const {
    const std::int64_t all = detail::levels(range());
    const bool one_sign = min_val() >= 0.0f || max_val() <= 0.0f;
    return scheme() == QScheme::affine && one_sign ? all : all / 2;
  }

  // The clipping threshold T on |x| (0 before anything finite was observed).
  float threshold() const {
    if (nothing_observed()) return 0.0f;
    const float amax = abs_max(min_val(), max_val());
    if (amax == 0.0f) return 0.0f;
    const std::int64_t i = entropy_threshold_bins(histogram_.data(), bins(), positive_levels());
    if (i >= bins()) return amax;
    const float bin_width = amax / static_cast<float>(bins());
    return detail::unfused_mul(bin_width, static_cast<float>(i));
  }

  ObservedRange chosen_range() const override {
    if (nothing_observed()) return {};
    const float t = threshold();
    return {std::max(min_val(), -t), std::min(max_val(), t)};
  }
};

}  // namespace frost::quant
