#pragma once
// HistogramObserver: PyTorch's HistogramObserver (torch.ao.quantization.observer, the 2.x
// algorithm), re-implemented.
//
// Observing keeps a histogram of `bins` (2048) equal bins over [min_val, max_val], the range of
// everything seen so far:
//   - the first batch with a finite value sets the range to its [min, max] and the histogram to
//     torch.histc of it;
//   - a later batch is binned over the combined range [min(min_val, x_min), max(max_val, x_max)];
//     when that range grew, the old histogram is re-binned into it first (PyTorch's
//     _upscale_histogram: each old bin is split into `upsample_rate` (16) equal parts, and each
//     part's count goes to the new bin holding its midpoint), so the data never has to be seen
//     twice;
//   - a range of one value ([c, c]) holds its whole count as "all at c" and is moved as such.
// calculate_qparams() runs PyTorch's _non_linear_param_search (after caffe2's
// NormMinimization): starting from the full range, it moves whichever end passes more bins
// when 1e-5 more of the mass is cut off, and keeps going while the L2 error of quantizing the
// histogram into the levels of the integer range (values clipped to the candidate range,
// uniformly spread inside each source bin) decreases. The range it stops at goes through
// choose_qparams (quant/qparams.hpp).
//
// Where frost differs from PyTorch, on purpose:
//   - NaN and +-Inf are skipped (PyTorch drops Inf with a warning and lets NaN poison min_val).
//   - The number of quantization levels in the error model is qmax - qmin + 1 (PyTorch uses
//     2^bits = 256 whatever the range; the two agree for the full u8 / s8 ranges).
//   - The quantization error is summed in double (PyTorch: float32 tensors), so two candidates
//     whose errors tie within float rounding may be ordered differently.
//   - A one-value range's histogram keeps its count in the middle bin (histc's [c-1, c+1] rule
//     for moderate c) without evaluating histc on a range that rounds back to [c, c].
//
// The same machinery serves EntropyObserver (entropy_observer.hpp, a histogram of |x| over
// [0, max |x|]) and PercentileObserver (percentile_observer.hpp): HistogramObserverBase holds
// the buffers "histogram" [bins], "min_val" [] and "max_val" [] (+inf / -inf until a finite value
// is seen) and the observing; the three observers differ in how they pick the range.
//
// One observer is used by one thread at a time (it keeps scratch space between calls).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/tensor.hpp"
#include "frost/kernels/fp32/range.hpp"
#include "frost/quant/minmax_observer.hpp"
#include "frost/quant/observer.hpp"
#include "frost/quant/qparams.hpp"

namespace frost::quant {

struct HistogramOptions {
  std::int64_t bins = 2048;
  // Parts each old bin is split into when the range grows (PyTorch 2.x uses 16).
  std::int64_t upsample_rate = 16;
};

// A range picked from a histogram (before choose_qparams extends it to contain 0).
struct ObservedRange {
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
};

namespace detail {

// torch.linspace(start, end, steps) in float32: the first half counts up from start, the
// second half down from end (so the last element is `end` exactly). A span beyond FLT_MAX
// (end - start overflows float) is interpolated in double instead.
struct Linspace {
  float start, end, step;
  std::int64_t steps, halfway;
  bool wide;
  Linspace(float start_, float end_, std::int64_t steps_)
      : start(start_),
        end(end_),
        step((end_ - start_) / static_cast<float>(steps_ - 1)),
        steps(steps_),
        halfway(steps_ / 2),
        wide(!std::isfinite(end_ - start_)) {}
  float operator[](std::int64_t i) const {
    if (wide) return static_cast<float>(at_double(i));
    return i < halfway ? start + unfused_mul(step, static_cast<float>(i))
                       : end - unfused_mul(step, static_cast<float>(steps - i - 1));
  }
  double at_double(std::int64_t i) const {
    return static_cast<double>(start) + (static_cast<double>(end) - static_cast<double>(start)) *
                                            static_cast<double>(i) / static_cast<double>(steps - 1);
  }
};

// Scratch space and the histogram steps of PyTorch's HistogramObserver.forward.
class HistogramBuilder {
 public:
  // counts_ = torch.histc(values (or |values|), bins, lo, hi). A one-value range [c, c] puts
  // every value equal to c in the middle bin.
  void histc(const float* x, std::size_t n, bool absolute, float lo, float hi, int bins) {
    counts_.assign(static_cast<std::size_t>(bins), 0);
    if (n == 0) return;
    if (lo == hi) {
      std::int64_t same = 0;
      for (std::size_t i = 0; i < n; ++i) same += (absolute ? std::fabs(x[i]) : x[i]) == lo;
      counts_[static_cast<std::size_t>(bins / 2)] = same;
      return;
    }
    if (absolute)
      kernels::fp32::accumulate_abs_histogram(x, n, hi, bins, counts_.data());
    else
      kernels::fp32::accumulate_histogram(x, n, lo, hi, bins, counts_.data());
  }

  // Adds the batch x (finite range [batch_lo, batch_hi] of the binned values) to the histogram
  // `hist` over [lo, hi]; lo > hi means empty. On return [lo, hi] covers the batch.
  void add(const float* x, std::size_t n, bool absolute, float batch_lo, float batch_hi,
           float* hist, int bins, int upsample_rate, float& lo, float& hi) {
    if (!(lo <= hi)) {
      histc(x, n, absolute, batch_lo, batch_hi, bins);
      for (int j = 0; j < bins; ++j) hist[j] = static_cast<float>(counts_[j]);
      lo = batch_lo;
      hi = batch_hi;
      return;
    }
    const float new_lo = std::min(lo, batch_lo), new_hi = std::max(hi, batch_hi);
    histc(x, n, absolute, new_lo, new_hi, bins);
    if (new_lo == lo && new_hi == hi) {
      for (int j = 0; j < bins; ++j) hist[j] += static_cast<float>(counts_[j]);
      return;
    }
    if (lo == hi) {
      // The old histogram is all at one value: its whole count goes to that value's new bin.
      double total = 0.0;
      for (int j = 0; j < bins; ++j) total += hist[j];
      std::vector<std::int64_t> at(static_cast<std::size_t>(bins), 0);
      kernels::fp32::accumulate_histogram_scalar(&lo, 1, new_lo, new_hi, bins, at.data());
      const auto where = std::find(at.begin(), at.end(), 1) - at.begin();
      for (int j = 0; j < bins; ++j) hist[j] = static_cast<float>(counts_[j]);
      hist[where] += static_cast<float>(total);
    } else {
      upscale(hist, bins, upsample_rate, lo, hi, new_lo, new_hi);
      for (int j = 0; j < bins; ++j)
        hist[j] = static_cast<float>(counts_[j]) + rebinned_[static_cast<std::size_t>(j)];
    }
    lo = new_lo;
    hi = new_hi;
  }

 private:
  // rebinned_ = hist over [old_lo, old_hi] moved into [new_lo, new_hi] (PyTorch's
  // _upscale_histogram, with its float32 arithmetic and its bucketize(right=True)).
  void upscale(const float* hist, int bins, int upsample_rate, float old_lo, float old_hi,
               float new_lo, float new_hi) {
    const std::int64_t fine = static_cast<std::int64_t>(bins) * upsample_rate;
    const float part = (old_hi - old_lo) / static_cast<float>(fine);
    const float half_part = unfused_mul(0.5f, part);
    const Linspace mids(old_lo, old_hi, fine + 1);
    // The midpoint of fine bin k (in double when the old span overflows float).
    const auto mid_of = [&](std::int64_t k) {
      if (!mids.wide) return mids[k] + half_part;
      return static_cast<float>(mids.at_double(k) +
                                0.5 * (mids.at_double(k + 1) - mids.at_double(k)));
    };
    const Linspace edges_at(new_lo, new_hi, bins + 1);
    edges_.resize(static_cast<std::size_t>(bins) + 1);
    for (int j = 0; j <= bins; ++j) edges_[static_cast<std::size_t>(j)] = edges_at[j];
    rebinned_.assign(static_cast<std::size_t>(bins), 0.0f);
    const auto rate = static_cast<float>(upsample_rate);
    for (std::int64_t k = 0; k < fine; ++k) {
      const float weight = hist[k / upsample_rate] / rate;
      const float mid = mid_of(k);
      const auto bucket = std::upper_bound(edges_.begin(), edges_.end(), mid) - edges_.begin() - 1;
      const auto b = std::clamp<std::ptrdiff_t>(bucket, 0, bins - 1);
      rebinned_[static_cast<std::size_t>(b)] += weight;
    }
  }

  std::vector<std::int64_t> counts_;
  std::vector<float> rebinned_;
  std::vector<float> edges_;
};

inline void check_histogram_options(const HistogramOptions& h, const char* op) {
  FROST_CHECK(h.bins >= 1 && h.bins <= (std::int64_t{1} << 24), op, "bins = ", h.bins,
              " must lie in [1, 2^24]");
  FROST_CHECK(h.upsample_rate >= 1 && h.bins * h.upsample_rate <= (std::int64_t{1} << 24), op,
              "upsample_rate = ", h.upsample_rate,
              " must be >= 1 with bins * upsample_rate <= 2^24");
}

// Levels of the integer range (the error model's destination bins).
inline std::int64_t levels(QuantRange r) {
  return static_cast<std::int64_t>(r.qmax) - r.qmin + 1;
}

}  // namespace detail

// ---- the L2 range search ---------------------------------------------------------------------

// PyTorch's _compute_quantization_error: the L2 error of quantizing `hist` (bins over [lo, hi])
// into `levels` equal levels spanning source bins [start_bin, end_bin] (values outside are
// clipped to the nearest level), each source bin's mass spread uniformly over it.
inline double histogram_quantization_error(const float* hist, std::int64_t bins, float lo, float hi,
                                           std::int64_t start_bin, std::int64_t end_bin,
                                           std::int64_t levels) {
  const double bin_width = (static_cast<double>(hi) - static_cast<double>(lo)) / bins;
  const double dst_width = bin_width * static_cast<double>(end_bin - start_bin + 1) / levels;
  if (dst_width == 0.0) return 0.0;
  const double half = dst_width / 2;
  const auto norm = [](double begin, double end) {
    return (end * end * end - begin * begin * begin) / 3;
  };
  const double full_bin = norm(-half, half);
  const auto last = static_cast<double>(levels - 1);
  double error = 0.0;
  for (std::int64_t i = 0; i < bins; ++i) {
    if (hist[i] == 0.0f) continue;
    const double src_begin = static_cast<double>(i - start_bin) * bin_width;
    const double src_end = src_begin + bin_width;
    const double dst_of_begin = std::clamp(std::floor(src_begin / dst_width), 0.0, last);
    const double dst_of_end = std::clamp(std::floor(src_end / dst_width), 0.0, last);
    const double begin_center = (dst_of_begin + 0.5) * dst_width;
    const double end_center = dst_of_end * dst_width + half;
    const double density = hist[i] / bin_width;
    error += density * norm(src_begin - begin_center, half);
    error += (dst_of_end - dst_of_begin - 1) * density * full_bin;
    error += density * norm(-half, src_end - end_center);
  }
  return error;
}

// PyTorch's _non_linear_param_search over `hist` (bins over [lo, hi], lo <= hi): the range whose
// quantization into `levels` levels has the smallest L2 error found by the greedy walk.
inline ObservedRange histogram_l2_range(const float* hist, std::int64_t bins, float lo, float hi,
                                        std::int64_t levels) {
  FROST_CHECK(bins >= 1 && levels >= 2 && lo <= hi, "histogram_l2_range", "bins = ", bins,
              ", levels = ", levels, ", range [", lo, ", ", hi, "]");
  if (lo == hi) return {lo, hi};
  // cumsum accumulates in double and stores float32; comparisons with the Python-float
  // thresholds happen in float32, as in PyTorch.
  std::vector<float> csum(static_cast<std::size_t>(bins));
  double running = 0.0;
  for (std::int64_t i = 0; i < bins; ++i) {
    running += hist[i];
    csum[static_cast<std::size_t>(i)] = static_cast<float>(running);
  }
  const double total = static_cast<float>(running);  // torch.sum(histogram) is float32
  if (total <= 0.0) return {lo, hi};

  constexpr double kStep = 1e-5;
  double alpha = 0.0, beta = 1.0;
  std::int64_t start_bin = 0, end_bin = bins - 1;
  double norm_min = std::numeric_limits<double>::infinity();
  while (alpha < beta) {
    const double next_alpha = alpha + kStep, next_beta = beta - kStep;
    const auto alpha_mass = static_cast<float>(next_alpha * total);
    const auto beta_mass = static_cast<float>(next_beta * total);
    std::int64_t l = start_bin, r = end_bin;
    while (l < end_bin && csum[static_cast<std::size_t>(l)] < alpha_mass) ++l;
    while (r > start_bin && csum[static_cast<std::size_t>(r)] > beta_mass) --r;
    std::int64_t next_start = start_bin, next_end = end_bin;
    if (l - start_bin > end_bin - r) {
      next_start = l;
      alpha = next_alpha;
    } else {
      next_end = r;
      beta = next_beta;
    }
    if (next_start == start_bin && next_end == end_bin) continue;
    const double norm =
        histogram_quantization_error(hist, bins, lo, hi, next_start, next_end, levels);
    if (norm > norm_min) break;
    norm_min = norm;
    start_bin = next_start;
    end_bin = next_end;
  }
  if (!std::isfinite(hi - lo)) {
    // A span beyond FLT_MAX: the bounds in double (they lie inside [lo, hi], so they fit).
    const double width = (static_cast<double>(hi) - static_cast<double>(lo)) / bins;
    return {static_cast<float>(lo + width * static_cast<double>(start_bin)),
            static_cast<float>(lo + width * static_cast<double>(end_bin + 1))};
  }
  const float bin_width = (hi - lo) / static_cast<float>(bins);
  return {lo + detail::unfused_mul(bin_width, static_cast<float>(start_bin)),
          lo + detail::unfused_mul(bin_width, static_cast<float>(end_bin + 1))};
}

// ---- observers -------------------------------------------------------------------------------

class HistogramObserverBase : public Observer {
 public:
  void observe(const Tensor<float>& x) override {
    if (x.numel() == 0) return;
    const Tensor<float> v = detail::observed_values(x);
    const float* data = v.data();
    const auto n = static_cast<std::size_t>(v.numel());
    const kernels::fp32::FiniteRange r = kernels::fp32::finite_min_max(data, n);
    if (r.empty()) return;
    float& min_val = min_val_.data()[0];
    float& max_val = max_val_.data()[0];
    const int bins = static_cast<int>(histogram_.numel());
    const int rate = static_cast<int>(histogram_options_.upsample_rate);
    if (absolute_) {
      // |x| over [0, max |x|]; the signed range is kept for the choice of levels and clipping.
      const bool empty = !(min_val <= max_val);
      float lo = empty ? detail::kPosInf : 0.0f;
      float hi = empty ? -detail::kPosInf : abs_max(min_val, max_val);
      builder_.add(data, n, true, 0.0f, abs_max(r.min, r.max), histogram_.data(), bins, rate, lo,
                   hi);
    } else {
      builder_.add(data, n, false, r.min, r.max, histogram_.data(), bins, rate, min_val, max_val);
    }
    min_val = r.min < min_val ? r.min : min_val;
    max_val = r.max > max_val ? r.max : max_val;
  }

  void reset() override {
    histogram_.zero_();
    min_val_.fill_(detail::kPosInf);
    max_val_.fill_(-detail::kPosInf);
  }

  float min_val() const { return min_val_.data()[0]; }
  float max_val() const { return max_val_.data()[0]; }
  std::int64_t bins() const { return histogram_.numel(); }
  std::vector<float> histogram() const {
    return std::vector<float>(histogram_.data(), histogram_.data() + histogram_.numel());
  }
  const HistogramOptions& histogram_options() const { return histogram_options_; }

  // The range calculate_qparams() quantizes (before choose_qparams extends it to contain 0).
  virtual ObservedRange chosen_range() const = 0;

  QParams calculate_qparams() const override {
    const ObservedRange r = chosen_range();
    return choose_qparams(r.min, r.max, range(), scheme());
  }

  std::string extra_repr() const override {
    return "bins=" + std::to_string(bins()) + ", min_val=" + detail::float_str(min_val()) +
           ", max_val=" + detail::float_str(max_val());
  }

 protected:
  HistogramObserverBase(std::string type_name, ObserverOptions options, HistogramOptions histogram,
                        bool absolute)
      : Observer(std::move(type_name), options),
        histogram_options_(histogram),
        absolute_(absolute) {
    const char* op = this->type_name().c_str();
    detail::check_per_tensor(options_, op);
    detail::check_histogram_options(histogram_options_, op);
    histogram_ = register_buffer("histogram", Tensor<float>::zeros({histogram_options_.bins}));
    min_val_ = register_buffer("min_val", Tensor<float>::full({}, detail::kPosInf));
    max_val_ = register_buffer("max_val", Tensor<float>::full({}, -detail::kPosInf));
  }

  static float abs_max(float lo, float hi) { return std::max(-lo, hi); }

  bool nothing_observed() const { return !(min_val() <= max_val()); }

  HistogramOptions histogram_options_;
  bool absolute_;
  Tensor<float> histogram_, min_val_, max_val_;
  detail::HistogramBuilder builder_;
};

class HistogramObserver : public HistogramObserverBase {
 public:
  explicit HistogramObserver(ObserverOptions options = {}, HistogramOptions histogram = {})
      : HistogramObserverBase("HistogramObserver", options, histogram, false) {}

  ObservedRange chosen_range() const override {
    if (nothing_observed()) return {};
    return histogram_l2_range(histogram_.data(), bins(), min_val(), max_val(),
                              detail::levels(range()));
  }
};

}  // namespace frost::quant
