#pragma once
// The scalar specification of frost's INT8 element-wise multiply (the squeeze-excite gate and
// any x * y of two u8 tensors), the exact operations every SIMD path repeats lane for lane:
//
//   acc = (a - za) * (b - zb)                  int32, exact: |acc| <= 255 * 255
//   y   = float(acc) * (sa * sb / so)          exact conversion (|acc| < 2^24), one multiply
//   out = requantize tail of kernels/requantize.hpp: clamp to [qmin - zo, qmax - zo], round
//         half to even, + zo, with [qmin, qmax] narrowed by a fused ReLU / ReLU6
//
// The multiplier is sa * sb / so rounded to float once, from double, so that no product of two
// small scales underflows on the way.

#include <cstdint>

#include "frost/kernels/reference/elementwise.hpp"
#include "frost/kernels/requantize.hpp"

namespace frost::kernels {

struct MulParams {
  std::int32_t a_zero_point = 0;
  std::int32_t b_zero_point = 0;
  float multiplier = 1.0f;  // s_a * s_b / s_out
  OutputQuantization output;
};

inline MulParams make_mul_params(const QuantizationParams& a, const QuantizationParams& b,
                                 const QuantizationParams& out,
                                 FusedActivation act = FusedActivation::none) {
  check_quantization_params(a, "mul_u8", "first input");
  check_quantization_params(b, "mul_u8", "second input");
  check_quantization_params(out, "mul_u8", "output");
  MulParams p;
  p.a_zero_point = a.zero_point;
  p.b_zero_point = b.zero_point;
  p.multiplier = static_cast<float>(static_cast<double>(a.scale) * static_cast<double>(b.scale) /
                                    static_cast<double>(out.scale));
  check_requantization_scale(p.multiplier, "mul_u8");
  p.output = output_quantization(out.scale, out.zero_point, act);
  return p;
}

inline std::uint8_t mul_u8(std::uint8_t a, std::uint8_t b, const MulParams& p) {
  const std::int32_t acc = (std::int32_t{a} - p.a_zero_point) * (std::int32_t{b} - p.b_zero_point);
  return requantize(acc, p.multiplier, p.output);
}

// x [batch][pixels][channels] times gate [batch][channels] (a [N, C, 1, 1] tensor broadcast over
// the pixels) -> out [batch][pixels][channels]; x is the first operand, the gate the second.
inline void mul_channel_broadcast_reference(std::int64_t batch, std::int64_t pixels,
                                            std::int64_t channels, const std::uint8_t* x,
                                            const std::uint8_t* gate, std::uint8_t* out,
                                            const MulParams& p) {
  for (std::int64_t n = 0; n < batch; ++n)
    for (std::int64_t i = 0; i < pixels; ++i)
      for (std::int64_t c = 0; c < channels; ++c) {
        const std::int64_t at = (n * pixels + i) * channels + c;
        out[at] = mul_u8(x[at], gate[n * channels + c], p);
      }
}

}  // namespace frost::kernels
