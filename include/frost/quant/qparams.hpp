#pragma once
// Quantization parameters of a tensor, and the one rule (DESIGN.md §3) that turns an observed
// range into them.
//
//   real = scale * (q - zero_point),   q in [qmin, qmax]
//
//   affine:    [min, max] extended to contain 0; scale = (max - min) / (qmax - qmin),
//              zero_point = clamp(qmin - round(min / scale), qmin, qmax)
//   symmetric: scale = max(|min|, |max|) / ((qmax - qmin) / 2), zero_point = 0 for signed
//              ranges, (qmin + qmax + 1) / 2 (128) for unsigned ones, as PyTorch's observers
//   scale is never below kMinScale (float epsilon), so x / scale stays finite.
//
// Non-finite and empty inputs never reach a scale: observers skip NaN and +-Inf values (they
// carry no range), and a range that saw no finite value gives scale 1, zero point as for
// [0, 0] (qmin for affine u8, 0 / 128 for symmetric). A constant or all-zero range is extended
// to contain 0 like any other, so an all-zero tensor gets scale kMinScale.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "frost/core/error.hpp"

namespace frost::quant {

inline constexpr float kMinScale = std::numeric_limits<float>::epsilon();

// How a range maps to integers.
enum class QScheme { affine, symmetric };

// The integer range of a quantized type. The named ranges are the ones frost's kernels run.
struct QuantRange {
  std::int32_t qmin = 0;
  std::int32_t qmax = 255;
  constexpr bool operator==(const QuantRange&) const = default;
};
inline constexpr QuantRange kQuint8{0, 255};          // activations
inline constexpr QuantRange kQuint8Reduced{0, 127};   // activations, 7-bit (reduce_range)
inline constexpr QuantRange kQint8{-128, 127};        // weights, qnnpack QAT setting
inline constexpr QuantRange kQint8Narrow{-127, 127};  // weights, frost default

// Parameters of one tensor: per tensor (axis = -1, one scale) or per channel along `axis`.
struct QParams {
  std::vector<float> scale{1.0f};
  std::vector<std::int32_t> zero_point{0};
  std::int64_t axis = -1;
  QuantRange range = kQuint8;

  bool per_channel() const { return axis >= 0; }
  std::size_t channels() const { return scale.size(); }
  // Per-tensor values (throws for per-channel parameters with more than one channel).
  float scalar_scale() const {
    FROST_CHECK(scale.size() == 1, "QParams::scalar_scale", "per-channel parameters (",
                scale.size(), " channels along axis ", axis, ") have no single scale");
    return scale[0];
  }
  std::int32_t scalar_zero_point() const {
    FROST_CHECK(zero_point.size() == 1, "QParams::scalar_zero_point", "per-channel parameters (",
                zero_point.size(), " channels along axis ", axis, ") have no single zero point");
    return zero_point[0];
  }
};

// Checks what every consumer of QParams relies on: sizes agree, scales finite and > 0, zero
// points inside the range.
inline void check_qparams(const QParams& p, const char* op) {
  FROST_CHECK(!p.scale.empty() && p.scale.size() == p.zero_point.size(), op, "QParams has ",
              p.scale.size(), " scales and ", p.zero_point.size(), " zero points");
  FROST_CHECK(p.range.qmin < p.range.qmax, op, "empty integer range [", p.range.qmin, ", ",
              p.range.qmax, "]");
  FROST_CHECK(p.per_channel() || p.scale.size() == 1, op, "per-tensor QParams with ",
              p.scale.size(), " scales");
  for (std::size_t c = 0; c < p.scale.size(); ++c) {
    FROST_CHECK(std::isfinite(p.scale[c]) && p.scale[c] > 0.0f, op, "scale[", c, "] = ", p.scale[c],
                " must be finite and > 0");
    FROST_CHECK(p.zero_point[c] >= p.range.qmin && p.zero_point[c] <= p.range.qmax, op,
                "zero_point[", c, "] = ", p.zero_point[c], " outside [", p.range.qmin, ", ",
                p.range.qmax, "]");
  }
}

// One channel's (scale, zero point) from its observed [min_val, max_val]. min_val > max_val
// (nothing observed) gives scale 1 and the zero point of [0, 0].
struct ScaleZeroPoint {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};

inline ScaleZeroPoint choose_scale_zero_point(float min_val, float max_val, QuantRange range,
                                              QScheme scheme) {
  const std::int32_t qmin = range.qmin, qmax = range.qmax;
  const std::int32_t symmetric_zero_point = qmin < 0 ? 0 : (qmin + qmax + 1) / 2;
  if (!(min_val <= max_val)) {
    // Nothing (finite) observed.
    return {1.0f, scheme == QScheme::symmetric ? symmetric_zero_point : qmin};
  }
  const float lo = std::min(min_val, 0.0f), hi = std::max(max_val, 0.0f);
  if (scheme == QScheme::symmetric) {
    const float amax = std::max(-lo, hi);
    const float scale = std::max(amax / (static_cast<float>(qmax - qmin) / 2.0f), kMinScale);
    return {scale, symmetric_zero_point};
  }
  // hi - lo overflows float only for a range wider than FLT_MAX (e.g. [-3e38, 3e38]); the span
  // is then taken in double so the scale stays finite. Other ranges keep PyTorch's float32.
  const float span = hi - lo;
  const float scale = std::max(
      std::isfinite(span)
          ? span / static_cast<float>(qmax - qmin)
          : static_cast<float>((static_cast<double>(hi) - lo) / static_cast<double>(qmax - qmin)),
      kMinScale);
  const float zp = static_cast<float>(qmin) - std::nearbyint(lo / scale);
  const auto zero_point =
      static_cast<std::int32_t>(std::clamp(zp, static_cast<float>(qmin), static_cast<float>(qmax)));
  return {scale, zero_point};
}

// Per tensor.
inline QParams choose_qparams(float min_val, float max_val, QuantRange range, QScheme scheme) {
  const ScaleZeroPoint s = choose_scale_zero_point(min_val, max_val, range, scheme);
  return QParams{{s.scale}, {s.zero_point}, -1, range};
}

// Per channel along `axis`, from one [min, max] per channel.
inline QParams choose_qparams_per_channel(const std::vector<float>& min_vals,
                                          const std::vector<float>& max_vals, std::int64_t axis,
                                          QuantRange range, QScheme scheme) {
  FROST_CHECK(min_vals.size() == max_vals.size() && !min_vals.empty() && axis >= 0,
              "choose_qparams_per_channel", min_vals.size(), " minima and ", max_vals.size(),
              " maxima along axis ", axis);
  QParams p;
  p.axis = axis;
  p.range = range;
  p.scale.resize(min_vals.size());
  p.zero_point.resize(min_vals.size());
  for (std::size_t c = 0; c < min_vals.size(); ++c) {
    const ScaleZeroPoint s = choose_scale_zero_point(min_vals[c], max_vals[c], range, scheme);
    p.scale[c] = s.scale;
    p.zero_point[c] = s.zero_point;
  }
  return p;
}

inline std::string to_string(const QParams& p) {
  std::string s = p.per_channel() ? "per-channel(axis=" + std::to_string(p.axis) + ", " +
                                        std::to_string(p.scale.size()) + " channels"
                                  : "per-tensor(scale=" + std::to_string(p.scale[0]) +
                                        ", zero_point=" + std::to_string(p.zero_point[0]);
  return s + ", q in [" + std::to_string(p.range.qmin) + ", " + std::to_string(p.range.qmax) + "])";
}

}  // namespace frost::quant
