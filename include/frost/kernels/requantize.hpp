#pragma once
// The one requantization of frost's INT8 kernels: the fp32 multiply-and-round form.
//
//   y   = float(acc) * scale          (scale = s_in * s_w[c] / s_out, one IEEE float multiply)
//   y   = clamp(y, qmin - zp, qmax - zp)
//   out = round_half_to_even(y) + zp
//
// Every path computes exactly these IEEE single-precision operations, so outputs are
// bit-identical: float(acc) is cvtdq2ps / scvtf (round to nearest even), the multiply is a plain
// multiply (never fused with anything), and rounding is cvtps2dq / fcvtns in the default
// round-to-nearest-even mode, which std::nearbyint matches. The clamp bounds are integers, so
// clamping before rounding equals clamping after, and keeps the conversion in int32 range.
// The same form is XNNPACK's "fp32" requantization and PyTorch's qnnpack default.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "frost/core/error.hpp"

namespace frost::kernels {

// Output parameters shared by every kernel that writes u8: zero point and clamp range. A fused
// ReLU / ReLU6 is just a narrower [output_min, output_max].
struct OutputQuantization {
  std::int32_t zero_point = 0;
  std::uint8_t output_min = 0;
  std::uint8_t output_max = 255;
};

// The scale of the requantization: s_in * s_w / s_out in two float operations, in this order
// (the fake-quantized model's exact eval path, quant/int8_simulation.hpp, uses the same).
inline float requantization_scale(float input_scale, float weight_scale, float output_scale) {
  return input_scale * weight_scale / output_scale;
}

inline std::uint8_t requantize(std::int32_t acc, float scale, const OutputQuantization& out) {
  float y = static_cast<float>(acc) * scale;
  y = std::max(y, static_cast<float>(static_cast<std::int32_t>(out.output_min) - out.zero_point));
  y = std::min(y, static_cast<float>(static_cast<std::int32_t>(out.output_max) - out.zero_point));
  return static_cast<std::uint8_t>(static_cast<std::int32_t>(std::nearbyint(y)) + out.zero_point);
}

// Checks a requantization scale once, when parameters are built, so kernels need not.
inline void check_requantization_scale(float scale, const char* op) {
  FROST_CHECK(std::isfinite(scale) && scale > 0.0f && scale < 256.0f, op,
              "requantization scale must be finite and in (0, 256), got ", scale);
}

enum class FusedActivation { none, relu, relu6 };

// Clamp range of a u8 output with (scale, zero_point) after a fused activation: ReLU clamps at
// the code of real 0; ReLU6 also at the code of real 6.
inline OutputQuantization output_quantization(float scale, std::int32_t zero_point,
                                              FusedActivation act = FusedActivation::none) {
  FROST_CHECK(zero_point >= 0 && zero_point <= 255, "output_quantization",
              "zero_point must be in [0, 255], got ", zero_point);
  FROST_CHECK(std::isfinite(scale) && scale > 0.0f, "output_quantization",
              "scale must be finite and > 0, got ", scale);
  OutputQuantization q;
  q.zero_point = zero_point;
  if (act != FusedActivation::none) q.output_min = static_cast<std::uint8_t>(zero_point);
  if (act == FusedActivation::relu6) {
    const float six = std::nearbyint(6.0f / scale) + static_cast<float>(zero_point);
    q.output_max =
        static_cast<std::uint8_t>(std::clamp(six, static_cast<float>(zero_point), 255.0f));
  }
  return q;
}

}  // namespace frost::kernels
