#pragma once
// PercentileObserver: the range from two percentiles of the observed values, [P(100 - p),
// P(p)] with p = 99.99 by default, read from the same running histogram as HistogramObserver
// (histogram_observer.hpp: `bins` equal bins over [min_val, max_val], re-binned as the range
// grows). A percentile is interpolated linearly inside the bin where the cumulative count
// reaches it (values spread uniformly over each bin), and clamped to [min_val, max_val]; so
// p = 100 gives the observed min / max up to the bins' edges, and a few huge outliers, fewer
// than (100 - p) % of the values, are clipped.
//
// Buffers: "histogram" [bins], "min_val" [], "max_val" [] (HistogramObserverBase).

#include <algorithm>
#include <cstdint>
#include <string>

#include "frost/core/error.hpp"
#include "frost/quant/histogram_observer.hpp"
#include "frost/quant/observer.hpp"
#include "frost/quant/qparams.hpp"

namespace frost::quant {

// The q-th percentile (q in [0, 100]) of the values in hist[bins] over [lo, hi] (lo <= hi).
inline float histogram_percentile(const float* hist, std::int64_t bins, float lo, float hi,
                                  double q) {
  FROST_CHECK(bins >= 1 && lo <= hi && q >= 0.0 && q <= 100.0, "histogram_percentile",
              "bins = ", bins, ", range [", lo, ", ", hi, "], percentile ", q);
  if (lo == hi) return lo;
  double total = 0.0;
  for (std::int64_t b = 0; b < bins; ++b) total += hist[b];
  if (!(total > 0.0)) return q < 50.0 ? lo : hi;
  const double target = q / 100.0 * total;
  const double width = (static_cast<double>(hi) - static_cast<double>(lo)) / bins;
  double below = 0.0;
  for (std::int64_t b = 0; b < bins; ++b) {
    const double count = hist[b];
    if (count > 0.0 && below + count >= target) {
      const double within = std::clamp((target - below) / count, 0.0, 1.0);
      const double v = static_cast<double>(lo) + (static_cast<double>(b) + within) * width;
      return std::clamp(static_cast<float>(v), lo, hi);
    }
    below += count;
  }
  return hi;
}

class PercentileObserver : public HistogramObserverBase {
 public:
  explicit PercentileObserver(ObserverOptions options = {}, double percentile = 99.99,
                              HistogramOptions histogram = {})
      : HistogramObserverBase("PercentileObserver", options, histogram, false),
        percentile_(percentile) {
    FROST_CHECK(percentile >= 50.0 && percentile <= 100.0, "PercentileObserver", "percentile ",
                percentile, " must lie in [50, 100]");
  }

  double percentile() const { return percentile_; }

  ObservedRange chosen_range() const override {
    if (nothing_observed()) return {};
    const float* h = histogram_.data();
    return {histogram_percentile(h, bins(), min_val(), max_val(), 100.0 - percentile_),
            histogram_percentile(h, bins(), min_val(), max_val(), percentile_)};
  }

  std::string extra_repr() const override {
    return "percentile=" + std::to_string(percentile_) + ", " + HistogramObserverBase::extra_repr();
  }

 private:
  double percentile_;
};

}  // namespace frost::quant
