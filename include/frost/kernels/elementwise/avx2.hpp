#pragma once
// AVX2 paths of the element-wise ops (8 lanes of int32 / float per step). Each repeats its spec
// in reference/elementwise.hpp operation for operation; tails run the scalar spec.

#include "frost/config.hpp"

#if FROST_ARCH_X86_64

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "frost/kernels/detail/target.hpp"
#include "frost/kernels/elementwise/scalar.hpp"

namespace frost::kernels::elementwise {
namespace avx2_detail {

struct ClampRound {
  __m256 lo, hi;
  __m256i zero_point;
};

FROST_TARGET_AVX2 FROST_ALWAYS_INLINE ClampRound make_clamp_round(const OutputQuantization& o) {
  return {_mm256_set1_ps(static_cast<float>(std::int32_t{o.output_min} - o.zero_point)),
          _mm256_set1_ps(static_cast<float>(std::int32_t{o.output_max} - o.zero_point)),
          _mm256_set1_epi32(o.zero_point)};
}

// clamp_round_u8 on 8 lanes, stored as 8 bytes.
FROST_TARGET_AVX2 FROST_ALWAYS_INLINE void clamp_round8(__m256 y, const ClampRound& c,
                                                        std::uint8_t* out) {
  y = _mm256_min_ps(_mm256_max_ps(y, c.lo), c.hi);
  const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(y), c.zero_point);
  const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packus_epi16(words, words));
}

FROST_TARGET_AVX2 FROST_ALWAYS_INLINE __m256 centered8(const std::uint8_t* p, __m256i zero_point) {
  const __m256i q = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_cvtepi32_ps(_mm256_sub_epi32(q, zero_point));
}

}  // namespace avx2_detail

FROST_TARGET_AVX2 inline void vadd_avx2(std::size_t n, const std::uint8_t* a, const std::uint8_t* b,
                                        std::uint8_t* out, const AddParams& p) {
  using namespace avx2_detail;
  const __m256i za = _mm256_set1_epi32(p.a_zero_point), zb = _mm256_set1_epi32(p.b_zero_point);
  const __m256 ma = _mm256_set1_ps(p.a_multiplier), mb = _mm256_set1_ps(p.b_multiplier);
  const ClampRound cr = make_clamp_round(p.output);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 fa = centered8(a + i, za), fb = centered8(b + i, zb);
    clamp_round8(_mm256_fmadd_ps(fa, ma, _mm256_mul_ps(fb, mb)), cr, out + i);
  }
  vadd_scalar(n - i, a + i, b + i, out + i, p);
}

FROST_TARGET_AVX2 inline void vquantize_avx2(std::size_t n, const float* x, std::uint8_t* out,
                                             const QuantizationParams& p) {
  using namespace avx2_detail;
  const __m256 scale = _mm256_set1_ps(p.scale);
  const ClampRound cr = make_clamp_round(full_range(p.zero_point));
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    clamp_round8(_mm256_div_ps(_mm256_loadu_ps(x + i), scale), cr, out + i);
  vquantize_scalar(n - i, x + i, out + i, p);
}

FROST_TARGET_AVX2 inline void vdequantize_avx2(std::size_t n, const std::uint8_t* q, float* out,
                                               const QuantizationParams& p) {
  using namespace avx2_detail;
  const __m256 scale = _mm256_set1_ps(p.scale);
  const __m256i zp = _mm256_set1_epi32(p.zero_point);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(scale, centered8(q + i, zp)));
  vdequantize_scalar(n - i, q + i, out + i, p);
}

FROST_TARGET_AVX2 inline void channel_sums_avx2(std::int64_t pixels, std::int64_t channels,
                                                const std::uint8_t* input, std::int32_t* sums) {
  std::int64_t c = 0;
  for (; c + 32 <= channels; c += 32) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    const std::uint8_t* p = input + c;
    for (std::int64_t i = 0; i < pixels; ++i, p += channels) {
      s0 = _mm256_add_epi32(
          s0, _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
      s1 = _mm256_add_epi32(
          s1, _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8))));
      s2 = _mm256_add_epi32(
          s2, _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 16))));
      s3 = _mm256_add_epi32(
          s3, _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 24))));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums + c), s0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums + c + 8), s1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums + c + 16), s2);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums + c + 24), s3);
  }
  if (c < channels) {
    // The remaining channels sum in a plain loop: integer sums are exact in any order.
    for (std::int64_t k = c; k < channels; ++k) sums[k] = 0;
    for (std::int64_t i = 0; i < pixels; ++i)
      for (std::int64_t k = c; k < channels; ++k) sums[k] += input[i * channels + k];
  }
}

}  // namespace frost::kernels::elementwise

#endif  // FROST_ARCH_X86_64
