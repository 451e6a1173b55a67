#pragma once
// The scalar specification of frost's INT8 element-wise ops: one function per op and element,
// the exact IEEE single-precision operations every SIMD path repeats lane for lane.
//
//   quantize      q = clamp(round_half_even(x / scale) + zp, 0, 255)   (a true division)
//   dequantize    x = scale * float(q - zp)
//   add           y = fma(float(a - za), sa / so, float(b - zb) * (sb / so)), then clamp, round, +
//   zo requantize    (concat) y = float(q - zi) * (si / so), then clamp, round, + zo average pool
//   acc = sum q - pixels * zi (int32), y = acc * (si / (so * pixels)), then clamp, round, + zo
//   unary LUT     table[q] = quantize(f(dequantize(q))), f in float
//
// "clamp, round, + zp" is the tail of kernels/requantize.hpp: clamp to [qmin - zp, qmax - zp]
// in float, round half to even, add the zero point. The comparisons are written as
// `y > lo ? y : lo` / `y < hi ? y : hi`, the semantics of x86 maxps/minps with y first and of
// aarch64 fmaxnm/fminnm, so a NaN (only quantize can meet one) becomes the lower bound.
// The add uses an explicit std::fma so that no compiler flag (-ffp-contract) can change it.

#include <cmath>
#include <cstdint>

#include "frost/core/error.hpp"
#include "frost/kernels/requantize.hpp"

namespace frost::kernels {

// A u8 tensor's affine parameters: real = scale * (q - zero_point).
struct QuantizationParams {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};

inline void check_quantization_params(const QuantizationParams& p, const char* op,
                                      const char* what) {
  FROST_CHECK(std::isfinite(p.scale) && p.scale > 0.0f, op, what,
              " scale must be finite and > 0, got ", p.scale);
  FROST_CHECK(p.zero_point >= 0 && p.zero_point <= 255, op, what,
              " zero point must be in [0, 255], got ", p.zero_point);
}

// Clamp to the output range, round half to even, add the zero point.
inline std::uint8_t clamp_round_u8(float y, const OutputQuantization& out) {
  const float lo = static_cast<float>(std::int32_t{out.output_min} - out.zero_point);
  const float hi = static_cast<float>(std::int32_t{out.output_max} - out.zero_point);
  y = y > lo ? y : lo;
  y = y < hi ? y : hi;
  return static_cast<std::uint8_t>(static_cast<std::int32_t>(std::nearbyint(y)) + out.zero_point);
}

inline OutputQuantization full_range(std::int32_t zero_point) {
  return {zero_point, 0, 255};
}

// ---- quantize / dequantize ----------------------------------------------------------------

inline std::uint8_t quantize_u8(float x, const QuantizationParams& p) {
  return clamp_round_u8(x / p.scale, full_range(p.zero_point));
}

inline float dequantize_u8(std::uint8_t q, const QuantizationParams& p) {
  return p.scale * static_cast<float>(std::int32_t{q} - p.zero_point);
}

// ---- add ----------------------------------------------------------------------------------

struct AddParams {
  std::int32_t a_zero_point = 0;
  std::int32_t b_zero_point = 0;
  float a_multiplier = 1.0f;  // s_a / s_out
  float b_multiplier = 1.0f;  // s_b / s_out
  OutputQuantization output;
};

inline AddParams make_add_params(const QuantizationParams& a, const QuantizationParams& b,
                                 const QuantizationParams& out,
                                 FusedActivation act = FusedActivation::none) {
  check_quantization_params(a, "add_u8", "first input");
  check_quantization_params(b, "add_u8", "second input");
  check_quantization_params(out, "add_u8", "output");
  AddParams p;
  p.a_zero_point = a.zero_point;
  p.b_zero_point = b.zero_point;
  p.a_multiplier = a.scale / out.scale;
  p.b_multiplier = b.scale / out.scale;
  check_requantization_scale(p.a_multiplier, "add_u8");
  check_requantization_scale(p.b_multiplier, "add_u8");
  p.output = output_quantization(out.scale, out.zero_point, act);
  return p;
}

inline std::uint8_t add_u8(std::uint8_t a, std::uint8_t b, const AddParams& p) {
  const float fa = static_cast<float>(std::int32_t{a} - p.a_zero_point);
  const float fb = static_cast<float>(std::int32_t{b} - p.b_zero_point);
  return clamp_round_u8(std::fma(fa, p.a_multiplier, fb * p.b_multiplier), p.output);
}

// ---- requantize (concat) ------------------------------------------------------------------

inline std::uint8_t requantize_u8(std::uint8_t q, std::int32_t input_zero_point, float multiplier,
                                  const OutputQuantization& out) {
  return clamp_round_u8(static_cast<float>(std::int32_t{q} - input_zero_point) * multiplier, out);
}

// ---- global average pool ------------------------------------------------------------------

// At most this many pixels, so that a channel's sum of u8 values fits int32.
inline constexpr std::int64_t kMaxPoolPixels = (std::int64_t{1} << 31) / 256;

struct GlobalAvgPoolParams {
  std::int64_t pixels = 1;
  std::int32_t input_zero_point = 0;
  float multiplier = 1.0f;  // s_in / (s_out * pixels)
  OutputQuantization output;
};

inline GlobalAvgPoolParams make_global_avg_pool_params(std::int64_t pixels,
                                                       const QuantizationParams& in,
                                                       const QuantizationParams& out) {
  FROST_CHECK(pixels >= 1 && pixels <= kMaxPoolPixels, "global_average_pool_u8",
              "pixel count must be in [1, ", kMaxPoolPixels, "], got ", pixels);
  check_quantization_params(in, "global_average_pool_u8", "input");
  check_quantization_params(out, "global_average_pool_u8", "output");
  GlobalAvgPoolParams p;
  p.pixels = pixels;
  p.input_zero_point = in.zero_point;
  p.multiplier = static_cast<float>(static_cast<double>(in.scale) /
                                    (static_cast<double>(out.scale) * static_cast<double>(pixels)));
  check_requantization_scale(p.multiplier, "global_average_pool_u8");
  p.output = full_range(out.zero_point);
  return p;
}

// One channel's output from the channel's sum of input codes.
inline std::uint8_t global_avg_pool_output(std::int32_t sum, const GlobalAvgPoolParams& p) {
  const std::int32_t acc = sum - static_cast<std::int32_t>(p.pixels) * p.input_zero_point;
  return requantize(acc, p.multiplier, p.output);
}

// input [pixels][channels] of one image -> output [channels].
inline void global_average_pool_reference(std::int64_t channels, const std::uint8_t* input,
                                          std::uint8_t* output, const GlobalAvgPoolParams& p) {
  for (std::int64_t c = 0; c < channels; ++c) {
    std::int32_t sum = 0;
    for (std::int64_t i = 0; i < p.pixels; ++i) sum += input[i * channels + c];
    output[c] = global_avg_pool_output(sum, p);
  }
}

}  // namespace frost::kernels
