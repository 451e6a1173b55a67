#pragma once
// The observers' inner loops (quant/*_observer.hpp): the finite min / max of a float run, per
// tensor and per channel, and the counts of a fixed-range histogram. Each is written once with
// xsimd (`xsimd::batch<float>` of the build's default architecture: SSE2, AVX2 or AVX-512 on
// x86-64 with -march, NEON on aarch64) plus a scalar tail, and each has a `_scalar` twin that is
// the specification: the two give bit-identical results on every input (tested on sizes 0..67
// with NaN / Inf sprinkled in).
//
// Rules both versions follow:
//   - NaN and +-Inf are skipped: they carry no range (quant/qparams.hpp).
//   - A run without a finite value gives {+inf, -inf} (min > max: "nothing observed").
//   - A zero minimum or maximum is returned as +0.0: the sign of a zero found by min / max
//     depends on the order of comparisons, which the SIMD path does not share with the scalar
//     one, and no quantization parameter depends on it.
//   - Histogram (torch.histc's rule, so counts match PyTorch's HistogramObserver): a finite x in
//     [lo, hi] goes to bin
//         p = (x - lo) * bins / (hi - lo)   (float arithmetic, in this order),
//         bin = min(trunc(p), bins - 1)     (the top edge belongs to the last bin);
//     values outside [lo, hi] are not counted. Where the float formula overflows (hi - lo or
//     (x - lo) * bins beyond FLT_MAX, only for |x| near 1e35 and beyond) the same formula is
//     evaluated in double instead, so no value is mis-binned or turned into an undefined cast.
//     The `abs` variants bin |x| over [0, hi].

#include "frost/core/simd.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "frost/core/error.hpp"

// GCC 12's AVX-512 intrinsics read a deliberately undefined register (_mm512_undefined_*), which
// -Wmaybe-uninitialized reports at every inlined use (GCC bug 105593, fixed in 12.3).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace frost::kernels::fp32 {

// The finite range of a run; min > max when it had no finite value.
struct FiniteRange {
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
  bool empty() const { return !(min <= max); }
};

namespace detail {

using FloatBatch = xsimd::batch<float>;
inline constexpr std::size_t kFloatLanes = FloatBatch::size;
inline constexpr float kInf = std::numeric_limits<float>::infinity();

inline float positive_zero(float v) {
  return v == 0.0f ? 0.0f : v;
}

inline FiniteRange canonical(float lo, float hi) {
  return {positive_zero(lo), positive_zero(hi)};
}

// Lane-wise reduction of SIMD accumulators into (lo, hi).
inline void reduce_lanes(const FloatBatch& vlo, const FloatBatch& vhi, float& lo, float& hi) {
  alignas(64) float l[kFloatLanes];
  alignas(64) float h[kFloatLanes];
  vlo.store_aligned(l);
  vhi.store_aligned(h);
  for (std::size_t k = 0; k < kFloatLanes; ++k) {
    lo = l[k] < lo ? l[k] : lo;
    hi = h[k] > hi ? h[k] : hi;
  }
}

inline void scalar_min_max(const float* x, std::size_t n, float& lo, float& hi) {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (!std::isfinite(v)) continue;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
}

// Histogram geometry shared by the scalar and SIMD paths.
struct HistogramRule {
  float lo, hi, span, fbins, last;
  int bins;
  bool wide;  // hi - lo overflows float: every value takes the double formula

  HistogramRule(float lo_, float hi_, int bins_)
      : lo(lo_),
        hi(hi_),
        span(hi_ - lo_),
        fbins(static_cast<float>(bins_)),
        last(static_cast<float>(bins_ - 1)),
        bins(bins_),
        wide(!std::isfinite(hi_ - lo_)) {}

  int bin_in_double(float v) const {
    const double p = (static_cast<double>(v) - lo) * bins / (static_cast<double>(hi) - lo);
    return p < bins ? static_cast<int>(p) : bins - 1;
  }
  // The bin of a value already known to lie in [lo, hi].
  int bin(float v) const {
    if (wide) return bin_in_double(v);
    const float p = (v - lo) * fbins / span;
    if (!std::isfinite(p)) return bin_in_double(v);
    return static_cast<int>(std::min(p, last));
  }
};

inline void check_histogram_args(const char* op, std::size_t n, float lo, float hi, int bins,
                                 const std::int64_t* counts) {
  FROST_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo < hi, op, "histogram range [", lo, ", ",
              hi, "] must be finite with lo < hi");
  FROST_CHECK(bins >= 1, op, "bins = ", bins, " must be >= 1");
  FROST_CHECK(n == 0 || counts != nullptr, op, "counts is null");
}

template <bool Abs>
inline void histogram_scalar_run(const float* x, std::size_t n, const HistogramRule& r,
                                 std::int64_t* counts) {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = Abs ? std::fabs(x[i]) : x[i];
    if (v >= r.lo && v <= r.hi) ++counts[r.bin(v)];  // NaN fails both comparisons
  }
}

template <bool Abs>
inline void histogram_simd_run(const float* x, std::size_t n, const HistogramRule& r,
                               std::int64_t* counts) {
  using IntBatch = xsimd::batch<std::int32_t>;
  static_assert(IntBatch::size == kFloatLanes, "float and int32 batches must have equal lanes");
  std::size_t i = 0;
  if (!r.wide) {
    const FloatBatch vlo(r.lo), vhi(r.hi), vspan(r.span), vbins(r.fbins), vlast(r.last);
    alignas(64) std::int32_t idx[kFloatLanes];
    for (; i + kFloatLanes <= n; i += kFloatLanes) {
      FloatBatch v = FloatBatch::load_unaligned(x + i);
      if constexpr (Abs) v = xsimd::abs(v);
      const auto inside = (v >= vlo) & (v <= vhi);
      const FloatBatch p = (v - vlo) * vbins / vspan;
      if (xsimd::any(inside & !xsimd::isfinite(p))) {
        // A product beyond FLT_MAX: this batch takes the scalar rule (and its double formula).
        histogram_scalar_run<Abs>(x + i, kFloatLanes, r, counts);
        continue;
      }
      // Values outside [lo, hi] (and NaN) are sent to the index `bins`, which is not counted.
      const FloatBatch clamped = xsimd::select(inside, xsimd::min(p, vlast), vbins);
      xsimd::batch_cast<std::int32_t>(clamped).store_aligned(idx);
      for (std::size_t k = 0; k < kFloatLanes; ++k)
        if (idx[k] < r.bins) ++counts[idx[k]];
    }
  }
  histogram_scalar_run<Abs>(x + i, n - i, r, counts);
}

}  // namespace detail

// ---- finite min / max ------------------------------------------------------------------------

inline FiniteRange finite_min_max_scalar(const float* x, std::size_t n) {
  float lo = detail::kInf, hi = -detail::kInf;
  detail::scalar_min_max(x, n, lo, hi);
  return detail::canonical(lo, hi);
}

inline FiniteRange finite_min_max(const float* x, std::size_t n) {
  using detail::FloatBatch;
  constexpr std::size_t W = detail::kFloatLanes;
  float lo = detail::kInf, hi = -detail::kInf;
  std::size_t i = 0;
  if (n >= W) {
    // Two accumulators per side: the loop is bound by the min / max latency, not by loads.
    FloatBatch lo0(detail::kInf), lo1(detail::kInf), hi0(-detail::kInf), hi1(-detail::kInf);
    const FloatBatch pos_inf(detail::kInf), neg_inf(-detail::kInf);
    for (; i + 2 * W <= n; i += 2 * W) {
      const FloatBatch a = FloatBatch::load_unaligned(x + i);
      const FloatBatch b = FloatBatch::load_unaligned(x + i + W);
      const auto fa = xsimd::isfinite(a), fb = xsimd::isfinite(b);
      lo0 = xsimd::min(lo0, xsimd::select(fa, a, pos_inf));
      hi0 = xsimd::max(hi0, xsimd::select(fa, a, neg_inf));
      lo1 = xsimd::min(lo1, xsimd::select(fb, b, pos_inf));
      hi1 = xsimd::max(hi1, xsimd::select(fb, b, neg_inf));
    }
    for (; i + W <= n; i += W) {
      const FloatBatch a = FloatBatch::load_unaligned(x + i);
      const auto fa = xsimd::isfinite(a);
      lo0 = xsimd::min(lo0, xsimd::select(fa, a, pos_inf));
      hi0 = xsimd::max(hi0, xsimd::select(fa, a, neg_inf));
    }
    detail::reduce_lanes(xsimd::min(lo0, lo1), xsimd::max(hi0, hi1), lo, hi);
  }
  detail::scalar_min_max(x + i, n - i, lo, hi);
  return detail::canonical(lo, hi);
}

// ---- per channel -----------------------------------------------------------------------------
// x is a contiguous [outer, channels, inner] block (any tensor seen along its channel axis:
// outer = product of the sizes before the axis, inner = product of those after it). Merges each
// channel's finite range into mins[c] / maxs[c] (start them at +inf / -inf for a fresh range).

inline void finite_min_max_per_channel_scalar(const float* x, std::size_t outer,
                                              std::size_t channels, std::size_t inner, float* mins,
                                              float* maxs) {
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t c = 0; c < channels; ++c)
      detail::scalar_min_max(x + (o * channels + c) * inner, inner, mins[c], maxs[c]);
  for (std::size_t c = 0; c < channels; ++c) {
    mins[c] = detail::positive_zero(mins[c]);
    maxs[c] = detail::positive_zero(maxs[c]);
  }
}

inline void finite_min_max_per_channel(const float* x, std::size_t outer, std::size_t channels,
                                       std::size_t inner, float* mins, float* maxs) {
  using detail::FloatBatch;
  constexpr std::size_t W = detail::kFloatLanes;
  if (inner >= 2 * W) {
    // Long runs per channel (weights [O, I, kh, kw] on axis 0, NCHW activations on axis 1).
    for (std::size_t o = 0; o < outer; ++o)
      for (std::size_t c = 0; c < channels; ++c) {
        const FiniteRange r = finite_min_max(x + (o * channels + c) * inner, inner);
        mins[c] = r.min < mins[c] ? r.min : mins[c];
        maxs[c] = r.max > maxs[c] ? r.max : maxs[c];
      }
  } else if (inner == 1 && channels >= W) {
    // The channel is the last axis ([N, features] on axis 1): vectorise across channels.
    const FloatBatch pos_inf(detail::kInf), neg_inf(-detail::kInf);
    for (std::size_t o = 0; o < outer; ++o) {
      const float* row = x + o * channels;
      std::size_t c = 0;
      for (; c + W <= channels; c += W) {
        const FloatBatch v = FloatBatch::load_unaligned(row + c);
        const auto finite = xsimd::isfinite(v);
        xsimd::min(FloatBatch::load_unaligned(mins + c), xsimd::select(finite, v, pos_inf))
            .store_unaligned(mins + c);
        xsimd::max(FloatBatch::load_unaligned(maxs + c), xsimd::select(finite, v, neg_inf))
            .store_unaligned(maxs + c);
      }
      for (; c < channels; ++c) detail::scalar_min_max(row + c, 1, mins[c], maxs[c]);
    }
  } else {
    for (std::size_t o = 0; o < outer; ++o)
      for (std::size_t c = 0; c < channels; ++c)
        detail::scalar_min_max(x + (o * channels + c) * inner, inner, mins[c], maxs[c]);
  }
  for (std::size_t c = 0; c < channels; ++c) {
    mins[c] = detail::positive_zero(mins[c]);
    maxs[c] = detail::positive_zero(maxs[c]);
  }
}

// ---- histogram -------------------------------------------------------------------------------
// Adds the counts of x over [lo, hi] (finite, lo < hi) in `bins` equal bins to counts[bins].

inline void accumulate_histogram_scalar(const float* x, std::size_t n, float lo, float hi, int bins,
                                        std::int64_t* counts) {
  detail::check_histogram_args("accumulate_histogram", n, lo, hi, bins, counts);
  detail::histogram_scalar_run<false>(x, n, detail::HistogramRule(lo, hi, bins), counts);
}

inline void accumulate_histogram(const float* x, std::size_t n, float lo, float hi, int bins,
                                 std::int64_t* counts) {
  detail::check_histogram_args("accumulate_histogram", n, lo, hi, bins, counts);
  detail::histogram_simd_run<false>(x, n, detail::HistogramRule(lo, hi, bins), counts);
}

// The histogram of |x| over [0, hi] (hi finite, > 0).
inline void accumulate_abs_histogram_scalar(const float* x, std::size_t n, float hi, int bins,
                                            std::int64_t* counts) {
  detail::check_histogram_args("accumulate_abs_histogram", n, 0.0f, hi, bins, counts);
  detail::histogram_scalar_run<true>(x, n, detail::HistogramRule(0.0f, hi, bins), counts);
}

inline void accumulate_abs_histogram(const float* x, std::size_t n, float hi, int bins,
                                     std::int64_t* counts) {
  detail::check_histogram_args("accumulate_abs_histogram", n, 0.0f, hi, bins, counts);
  detail::histogram_simd_run<true>(x, n, detail::HistogramRule(0.0f, hi, bins), counts);
}

}  // namespace frost::kernels::fp32

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
