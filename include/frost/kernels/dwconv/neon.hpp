#pragma once
// NEON (aarch64) depthwise convolution: 8 channels per tile, one tap at a time. Inputs widen to
// s16 (vmovl_u8), weights are s8 widened to s16, and vmlal_s16 accumulates the exact products
// into two int32x4 halves; requantization is kernels/requantize.hpp lane for lane (fcvtns rounds
// to nearest even). Serves any kernel size, stride and dilation, and the dot-product CPUs too.

#include "frost/config.hpp"

#if FROST_ARCH_AARCH64

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "frost/kernels/detail/aligned_buffer.hpp"
#include "frost/kernels/detail/target.hpp"
#include "frost/kernels/dwconv/packing.hpp"

namespace frost::kernels::dwconv {
namespace neon_detail {

constexpr int kTile = 8;

FROST_ALWAYS_INLINE int16x8_t load_u8_as_s16(const std::uint8_t* p, std::int64_t lanes) {
  if (lanes == kTile) return vreinterpretq_s16_u16(vmovl_u8(vld1_u8(p)));
  std::uint8_t bytes[kTile] = {};
  std::memcpy(bytes, p, static_cast<std::size_t>(lanes));
  return vreinterpretq_s16_u16(vmovl_u8(vld1_u8(bytes)));
}

FROST_ALWAYS_INLINE int32x4_t requantize4(int32x4_t acc, float32x4_t scale, float32x4_t lo,
                                          float32x4_t hi, int32x4_t zero_point) {
  float32x4_t y = vmulq_f32(vcvtq_f32_s32(acc), scale);
  y = vminq_f32(vmaxq_f32(y, lo), hi);
  return vaddq_s32(vcvtnq_s32_f32(y), zero_point);
}

}  // namespace neon_detail

inline void dwconv_general_neon(const DwconvGeometry& g, const PackedDwconvWeights& w,
                                const std::uint8_t* input, std::uint8_t* output,
                                std::int64_t row_begin, std::int64_t row_end) {
  using namespace neon_detail;
  const std::int64_t oh = g.output_height(), ow = g.output_width(), C = g.channels;
  const std::int64_t taps = g.taps();
  detail::AlignedBuffer<std::int16_t> tap_weights(static_cast<std::size_t>(taps * kTile));
  const int16x8_t zp = vdupq_n_s16(static_cast<std::int16_t>(w.input_zero_point));
  const OutputQuantization& o = w.output;
  const float32x4_t lo = vdupq_n_f32(static_cast<float>(std::int32_t{o.output_min} - o.zero_point));
  const float32x4_t hi = vdupq_n_f32(static_cast<float>(std::int32_t{o.output_max} - o.zero_point));
  const int32x4_t out_zp = vdupq_n_s32(o.zero_point);

  for (std::int64_t c0 = 0; c0 < C; c0 += kTile) {
    const std::int64_t lanes = C - c0 < kTile ? C - c0 : kTile;
    for (std::int64_t t = 0; t < taps; ++t)
      vst1q_s16(tap_weights.data() + t * kTile,
                vmovl_s8(vld1_s8(w.taps.data() + t * w.padded_channels + c0)));
    const int32x4_t bias_lo = vld1q_s32(w.bias.data() + c0),
                    bias_hi = vld1q_s32(w.bias.data() + c0 + 4);
    const float32x4_t scale_lo = vld1q_f32(w.scales.data() + c0),
                      scale_hi = vld1q_f32(w.scales.data() + c0 + 4);

    for (std::int64_t row = row_begin; row < row_end; ++row) {
      const std::int64_t n = row / oh, oy = row % oh;
      for (std::int64_t ox = 0; ox < ow; ++ox) {
        int32x4_t acc_lo = bias_lo, acc_hi = bias_hi;
        for (int ky = 0; ky < g.kernel_height; ++ky) {
          const std::int64_t iy =
              oy * g.stride_height - g.padding_top + std::int64_t{ky} * g.dilation_height;
          const bool row_inside = iy >= 0 && iy < g.input_height;
          const std::uint8_t* in_row =
              row_inside ? input + ((n * g.input_height + iy) * g.input_width) * C + c0 : input;
          for (int kx = 0; kx < g.kernel_width; ++kx) {
            const std::int64_t ix =
                ox * g.stride_width - g.padding_left + std::int64_t{kx} * g.dilation_width;
            const int16x8_t x = row_inside && ix >= 0 && ix < g.input_width
                                    ? load_u8_as_s16(in_row + ix * C, lanes)
                                    : zp;
            const int16x8_t wt = vld1q_s16(tap_weights.data() + (ky * g.kernel_width + kx) * kTile);
            acc_lo = vmlal_s16(acc_lo, vget_low_s16(x), vget_low_s16(wt));
            acc_hi = vmlal_high_s16(acc_hi, x, wt);
          }
        }
        const int32x4_t q_lo = requantize4(acc_lo, scale_lo, lo, hi, out_zp);
        const int32x4_t q_hi = requantize4(acc_hi, scale_hi, lo, hi, out_zp);
        const uint8x8_t bytes = vqmovn_u16(vcombine_u16(vqmovun_s32(q_lo), vqmovun_s32(q_hi)));
        std::uint8_t* out = output + (row * ow + ox) * C + c0;
        if (lanes == kTile) {
          vst1_u8(out, bytes);
        } else {
          std::uint8_t tmp[kTile];
          vst1_u8(tmp, bytes);
          std::memcpy(out, tmp, static_cast<std::size_t>(lanes));
        }
      }
    }
  }
}

}  // namespace frost::kernels::dwconv

#endif  // FROST_ARCH_AARCH64
