#pragma once
// AVX-512 paths of the element-wise ops (16 lanes of int32 / float per step; only F/BW are
// used, under the avx512vnni path's target). Each repeats its spec in reference/elementwise.hpp
// operation for operation; tails run the scalar spec.

#include "frost/config.hpp"

#if FROST_ARCH_X86_64

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "frost/kernels/detail/target.hpp"
#include "frost/kernels/elementwise/scalar.hpp"

// GCC 12's AVX-512 intrinsics trip -Wmaybe-uninitialized (bug 105593); see dwconv/avx512vnni.hpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace frost::kernels::elementwise {
namespace avx512_detail {

struct ClampRound {
  __m512 lo, hi;
  __m512i zero_point;
};

FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE ClampRound
make_clamp_round(const OutputQuantization& o) {
  return {_mm512_set1_ps(static_cast<float>(std::int32_t{o.output_min} - o.zero_point)),
          _mm512_set1_ps(static_cast<float>(std::int32_t{o.output_max} - o.zero_point)),
          _mm512_set1_epi32(o.zero_point)};
}

// clamp_round_u8: maxps(y, lo) is `y > lo ? y : lo` (NaN -> lo), minps(y, hi) is `y < hi ? y : hi`.
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE __m128i clamp_round16(__m512 y, const ClampRound& c) {
  y = _mm512_min_ps(_mm512_max_ps(y, c.lo), c.hi);
  return _mm512_cvtusepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(y), c.zero_point));
}

FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE __m512 centered16(const std::uint8_t* p,
                                                              __m512i zero_point) {
  const __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm512_cvtepi32_ps(_mm512_sub_epi32(q, zero_point));
}

}  // namespace avx512_detail

FROST_TARGET_AVX512VNNI inline void vadd_avx512vnni(std::size_t n, const std::uint8_t* a,
                                                    const std::uint8_t* b, std::uint8_t* out,
                                                    const AddParams& p) {
  using namespace avx512_detail;
  const __m512i za = _mm512_set1_epi32(p.a_zero_point), zb = _mm512_set1_epi32(p.b_zero_point);
  const __m512 ma = _mm512_set1_ps(p.a_multiplier), mb = _mm512_set1_ps(p.b_multiplier);
  const ClampRound cr = make_clamp_round(p.output);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 fa = centered16(a + i, za), fb = centered16(b + i, zb);
    const __m512 y = _mm512_fmadd_ps(fa, ma, _mm512_mul_ps(fb, mb));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), clamp_round16(y, cr));
  }
  vadd_scalar(n - i, a + i, b + i, out + i, p);
}

FROST_TARGET_AVX512VNNI inline void vquantize_avx512vnni(std::size_t n, const float* x,
                                                         std::uint8_t* out,
                                                         const QuantizationParams& p) {
  using namespace avx512_detail;
  const __m512 scale = _mm512_set1_ps(p.scale);
  const ClampRound cr = make_clamp_round(full_range(p.zero_point));
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     clamp_round16(_mm512_div_ps(_mm512_loadu_ps(x + i), scale), cr));
  vquantize_scalar(n - i, x + i, out + i, p);
}

FROST_TARGET_AVX512VNNI inline void vdequantize_avx512vnni(std::size_t n, const std::uint8_t* q,
                                                           float* out,
                                                           const QuantizationParams& p) {
  using namespace avx512_detail;
  const __m512 scale = _mm512_set1_ps(p.scale);
  const __m512i zp = _mm512_set1_epi32(p.zero_point);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, _mm512_mul_ps(scale, centered16(q + i, zp)));
  vdequantize_scalar(n - i, q + i, out + i, p);
}

FROST_TARGET_AVX512VNNI inline void channel_sums_avx512vnni(std::int64_t pixels,
                                                            std::int64_t channels,
                                                            const std::uint8_t* input,
                                                            std::int32_t* sums) {
  std::int64_t c = 0;
  for (; c + 64 <= channels; c += 64) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    const std::uint8_t* p = input + c;
    for (std::int64_t i = 0; i < pixels; ++i, p += channels) {
      s0 = _mm512_add_epi32(
          s0, _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
      s1 = _mm512_add_epi32(
          s1, _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16))));
      s2 = _mm512_add_epi32(
          s2, _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 32))));
      s3 = _mm512_add_epi32(
          s3, _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 48))));
    }
    _mm512_storeu_si512(sums + c, s0);
    _mm512_storeu_si512(sums + c + 16, s1);
    _mm512_storeu_si512(sums + c + 32, s2);
    _mm512_storeu_si512(sums + c + 48, s3);
  }
  for (; c < channels; c += 16) {
    const std::int64_t lanes = channels - c < 16 ? channels - c : 16;
    const auto mask = static_cast<__mmask16>((1u << lanes) - 1u);
    __m512i s = _mm512_setzero_si512();
    const std::uint8_t* p = input + c;
    for (std::int64_t i = 0; i < pixels; ++i, p += channels)
      s = _mm512_add_epi32(s, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, p)));
    _mm512_mask_storeu_epi32(sums + c, mask, s);
  }
}

}  // namespace frost::kernels::elementwise

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // FROST_ARCH_X86_64
