#pragma once
// NEON (aarch64) paths of the element-wise ops, 8 lanes per step. fmaxnm/fminnm give the
// spec's `y > lo ? y : lo` for NaN too, fcvtns rounds half to even, vfmaq_f32 is the spec's fma.

#include "frost/config.hpp"

#if FROST_ARCH_AARCH64

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "frost/kernels/detail/target.hpp"
#include "frost/kernels/elementwise/scalar.hpp"

namespace frost::kernels::elementwise {
namespace neon_detail {

struct ClampRound {
  float32x4_t lo, hi;
  int32x4_t zero_point;
};

FROST_ALWAYS_INLINE ClampRound make_clamp_round(const OutputQuantization& o) {
  return {vdupq_n_f32(static_cast<float>(std::int32_t{o.output_min} - o.zero_point)),
          vdupq_n_f32(static_cast<float>(std::int32_t{o.output_max} - o.zero_point)),
          vdupq_n_s32(o.zero_point)};
}

FROST_ALWAYS_INLINE int32x4_t clamp_round4(float32x4_t y, const ClampRound& c) {
  y = vminnmq_f32(vmaxnmq_f32(y, c.lo), c.hi);
  return vaddq_s32(vcvtnq_s32_f32(y), c.zero_point);
}

FROST_ALWAYS_INLINE uint8x8_t narrow8(int32x4_t lo, int32x4_t hi) {
  return vqmovn_u16(vcombine_u16(vqmovun_s32(lo), vqmovun_s32(hi)));
}

// q - zero_point of 8 codes as two float32x4 halves.
FROST_ALWAYS_INLINE void centered8(const std::uint8_t* p, std::int16_t zero_point, float32x4_t& lo,
                                   float32x4_t& hi) {
  const int16x8_t q =
      vsubq_s16(vreinterpretq_s16_u16(vmovl_u8(vld1_u8(p))), vdupq_n_s16(zero_point));
  lo = vcvtq_f32_s32(vmovl_s16(vget_low_s16(q)));
  hi = vcvtq_f32_s32(vmovl_high_s16(q));
}

}  // namespace neon_detail

inline void vadd_neon(std::size_t n, const std::uint8_t* a, const std::uint8_t* b,
                      std::uint8_t* out, const AddParams& p) {
  using namespace neon_detail;
  const float32x4_t ma = vdupq_n_f32(p.a_multiplier), mb = vdupq_n_f32(p.b_multiplier);
  const ClampRound cr = make_clamp_round(p.output);
  const auto za = static_cast<std::int16_t>(p.a_zero_point),
             zb = static_cast<std::int16_t>(p.b_zero_point);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    float32x4_t a_lo, a_hi, b_lo, b_hi;
    centered8(a + i, za, a_lo, a_hi);
    centered8(b + i, zb, b_lo, b_hi);
    const int32x4_t lo = clamp_round4(vfmaq_f32(vmulq_f32(b_lo, mb), a_lo, ma), cr);
    const int32x4_t hi = clamp_round4(vfmaq_f32(vmulq_f32(b_hi, mb), a_hi, ma), cr);
    vst1_u8(out + i, narrow8(lo, hi));
  }
  vadd_scalar(n - i, a + i, b + i, out + i, p);
}

inline void vquantize_neon(std::size_t n, const float* x, std::uint8_t* out,
                           const QuantizationParams& p) {
  using namespace neon_detail;
  const float32x4_t scale = vdupq_n_f32(p.scale);
  const ClampRound cr = make_clamp_round(full_range(p.zero_point));
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const int32x4_t lo = clamp_round4(vdivq_f32(vld1q_f32(x + i), scale), cr);
    const int32x4_t hi = clamp_round4(vdivq_f32(vld1q_f32(x + i + 4), scale), cr);
    vst1_u8(out + i, narrow8(lo, hi));
  }
  vquantize_scalar(n - i, x + i, out + i, p);
}

inline void vdequantize_neon(std::size_t n, const std::uint8_t* q, float* out,
                             const QuantizationParams& p) {
  using namespace neon_detail;
  const float32x4_t scale = vdupq_n_f32(p.scale);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    float32x4_t lo, hi;
    centered8(q + i, static_cast<std::int16_t>(p.zero_point), lo, hi);
    vst1q_f32(out + i, vmulq_f32(scale, lo));
    vst1q_f32(out + i + 4, vmulq_f32(scale, hi));
  }
  vdequantize_scalar(n - i, q + i, out + i, p);
}

inline void channel_sums_neon(std::int64_t pixels, std::int64_t channels, const std::uint8_t* input,
                              std::int32_t* sums) {
  std::int64_t c = 0;
  for (; c + 8 <= channels; c += 8) {
    uint32x4_t lo = vdupq_n_u32(0), hi = vdupq_n_u32(0);
    const std::uint8_t* p = input + c;
    for (std::int64_t i = 0; i < pixels; ++i, p += channels) {
      const uint16x8_t x = vmovl_u8(vld1_u8(p));
      lo = vaddw_u16(lo, vget_low_u16(x));
      hi = vaddw_high_u16(hi, x);
    }
    vst1q_s32(sums + c, vreinterpretq_s32_u32(lo));
    vst1q_s32(sums + c + 4, vreinterpretq_s32_u32(hi));
  }
  if (c < channels) {
    for (std::int64_t k = c; k < channels; ++k) sums[k] = 0;
    for (std::int64_t i = 0; i < pixels; ++i)
      for (std::int64_t k = c; k < channels; ++k) sums[k] += input[i * channels + k];
  }
}

}  // namespace frost::kernels::elementwise

#endif  // FROST_ARCH_AARCH64
