#pragma once
// INT8 element-wise multiply on u8 tensors, dispatched to the active ISA and split over the
// frost pool; every path matches the scalar spec of reference/mul.hpp bit for bit.
//
//   mul_u8_array                    out = a * b, each with its own scale / zero point
//   mul_channel_broadcast_nhwc_u8   x [batch][pixels][C] * gate [batch][C] (squeeze-excite)
//
// The paths: the int32 product of the centred codes is exact in every ISA (vpmulld, mul of
// widened int16), its conversion to float is exact (|acc| <= 65025 < 2^24), then one float
// multiply and the clamp / round-half-even / + zero point tail of elementwise/avx2.hpp and
// friends, so nothing is left for the ISAs to round differently. `out` may be `a` or `b` (in
// place): every path reads a block before it writes it.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "frost/config.hpp"
#include "frost/core/error.hpp"
#include "frost/core/parallel.hpp"
#include "frost/kernels/detail/checked_size.hpp"
#include "frost/kernels/detail/target.hpp"
#include "frost/kernels/elementwise/elementwise.hpp"
#include "frost/kernels/elementwise/kernels.hpp"
#include "frost/kernels/isa.hpp"
#include "frost/kernels/reference/mul.hpp"

#if FROST_ARCH_X86_64
#include <immintrin.h>
#endif
#if FROST_ARCH_AARCH64
#include <arm_neon.h>
#endif

// GCC 12's AVX-512 intrinsics trip -Wmaybe-uninitialized (bug 105593); see dwconv/avx512vnni.hpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace frost::kernels {
namespace elementwise {

inline void vmul_scalar(std::size_t n, const std::uint8_t* a, const std::uint8_t* b,
                        std::uint8_t* out, const MulParams& p) {
  for (std::size_t i = 0; i < n; ++i) out[i] = mul_u8(a[i], b[i], p);
}

#if FROST_ARCH_X86_64

namespace avx2_detail {
// q - zero_point of 8 codes, as int32 lanes.
FROST_TARGET_AVX2 FROST_ALWAYS_INLINE __m256i centered_epi32x8(const std::uint8_t* p,
                                                               __m256i zero_point) {
  return _mm256_sub_epi32(
      _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))), zero_point);
}
}  // namespace avx2_detail

FROST_TARGET_AVX2 inline void vmul_avx2(std::size_t n, const std::uint8_t* a, const std::uint8_t* b,
                                        std::uint8_t* out, const MulParams& p) {
  using namespace avx2_detail;
  const __m256i za = _mm256_set1_epi32(p.a_zero_point), zb = _mm256_set1_epi32(p.b_zero_point);
  const __m256 m = _mm256_set1_ps(p.multiplier);
  const ClampRound cr = make_clamp_round(p.output);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i acc =
        _mm256_mullo_epi32(centered_epi32x8(a + i, za), centered_epi32x8(b + i, zb));
    clamp_round8(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), m), cr, out + i);
  }
  vmul_scalar(n - i, a + i, b + i, out + i, p);
}

namespace avx512_detail {
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE __m512i centered_epi32x16(const std::uint8_t* p,
                                                                      __m512i zero_point) {
  return _mm512_sub_epi32(
      _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), zero_point);
}
}  // namespace avx512_detail

FROST_TARGET_AVX512VNNI inline void vmul_avx512vnni(std::size_t n, const std::uint8_t* a,
                                                    const std::uint8_t* b, std::uint8_t* out,
                                                    const MulParams& p) {
  using namespace avx512_detail;
  const __m512i za = _mm512_set1_epi32(p.a_zero_point), zb = _mm512_set1_epi32(p.b_zero_point);
  const __m512 m = _mm512_set1_ps(p.multiplier);
  const ClampRound cr = make_clamp_round(p.output);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i acc =
        _mm512_mullo_epi32(centered_epi32x16(a + i, za), centered_epi32x16(b + i, zb));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     clamp_round16(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), m), cr));
  }
  vmul_scalar(n - i, a + i, b + i, out + i, p);
}

#endif  // FROST_ARCH_X86_64

#if FROST_ARCH_AARCH64

inline void vmul_neon(std::size_t n, const std::uint8_t* a, const std::uint8_t* b,
                      std::uint8_t* out, const MulParams& p) {
  using namespace neon_detail;
  const float32x4_t m = vdupq_n_f32(p.multiplier);
  const ClampRound cr = make_clamp_round(p.output);
  // Centred codes lie in [-255, 255]: int16, and their products are widened to int32 exactly.
  const int16x8_t za = vdupq_n_s16(static_cast<std::int16_t>(p.a_zero_point));
  const int16x8_t zb = vdupq_n_s16(static_cast<std::int16_t>(p.b_zero_point));
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const int16x8_t qa = vsubq_s16(vreinterpretq_s16_u16(vmovl_u8(vld1_u8(a + i))), za);
    const int16x8_t qb = vsubq_s16(vreinterpretq_s16_u16(vmovl_u8(vld1_u8(b + i))), zb);
    const int32x4_t lo = vmull_s16(vget_low_s16(qa), vget_low_s16(qb));
    const int32x4_t hi = vmull_high_s16(qa, qb);
    vst1_u8(out + i, narrow8(clamp_round4(vmulq_f32(vcvtq_f32_s32(lo), m), cr),
                             clamp_round4(vmulq_f32(vcvtq_f32_s32(hi), m), cr)));
  }
  vmul_scalar(n - i, a + i, b + i, out + i, p);
}

#endif  // FROST_ARCH_AARCH64

}  // namespace elementwise

using VmulFn = void (*)(std::size_t n, const std::uint8_t* a, const std::uint8_t* b,
                        std::uint8_t* out, const MulParams& params);

inline constexpr ElementwiseKernel<VmulFn> kVmulKernels[] = {
#if FROST_ARCH_X86_64
    {"qu8_vmul_minmax_fp32__avx512vnni", Isa::avx512vnni, &elementwise::vmul_avx512vnni},
    {"qu8_vmul_minmax_fp32__avx2", Isa::avx2, &elementwise::vmul_avx2},
#endif
#if FROST_ARCH_AARCH64
    {"qu8_vmul_minmax_fp32__neon", Isa::neon, &elementwise::vmul_neon},
#endif
    {"qu8_vmul_minmax_fp32__scalar", Isa::scalar, &elementwise::vmul_scalar},
};

inline void mul_u8_array(std::size_t n, const std::uint8_t* a, const std::uint8_t* b,
                         std::uint8_t* out, const MulParams& params,
                         const ElementwiseKernel<VmulFn>& kernel) {
  FROST_CHECK(n == 0 || (a != nullptr && b != nullptr && out != nullptr), "mul_u8_array",
              "null pointer for ", n, " elements");
  FROST_CHECK(isa_supported(kernel.isa), "mul_u8_array", "this CPU cannot run ", kernel.name);
  elementwise::parallel_elements(
      n, [&](std::size_t i, std::size_t len) { kernel.fn(len, a + i, b + i, out + i, params); });
}
inline void mul_u8_array(std::size_t n, const std::uint8_t* a, const std::uint8_t* b,
                         std::uint8_t* out, const MulParams& params) {
  mul_u8_array(n, a, b, out, params, select_elementwise_kernel(kVmulKernels));
}

// x [batch][pixels][channels] (first operand) times gate [batch][channels] (second operand, a
// [N, C, 1, 1] tensor) -> out [batch][pixels][channels]; out may be x. Each pixel's channel run
// is one call of the kernel against its image's gate row.
inline void mul_channel_broadcast_nhwc_u8(std::int64_t batch, std::int64_t pixels,
                                          std::int64_t channels, const std::uint8_t* x,
                                          const std::uint8_t* gate, std::uint8_t* out,
                                          const MulParams& params,
                                          const ElementwiseKernel<VmulFn>& kernel) {
  const char* op = "mul_channel_broadcast_nhwc_u8";
  FROST_CHECK(batch >= 0 && pixels >= 0 && channels >= 0, op,
              "batch, pixels and channels must be >= 0, got ", batch, ", ", pixels, " and ",
              channels);
  const std::int64_t elements = detail::checked_elements(op, {batch, pixels, channels});
  FROST_CHECK(isa_supported(kernel.isa), op, "this CPU cannot run ", kernel.name);
  if (elements == 0) return;
  FROST_CHECK(x != nullptr && gate != nullptr && out != nullptr, op, "null pointer for x [", batch,
              ", ", pixels, ", ", channels, "]");
  const auto C = static_cast<std::size_t>(channels);
  const std::int64_t rows = batch * pixels;
  parallel_for(0, rows, std::max<std::int64_t>(1, elementwise::kParallelGrain / channels),
               [&](std::int64_t lo, std::int64_t hi) {
                 for (std::int64_t r = lo; r < hi; ++r) {
                   const auto at = static_cast<std::size_t>(r) * C;
                   kernel.fn(C, x + at, gate + static_cast<std::size_t>(r / pixels) * C, out + at,
                             params);
                 }
               });
}
inline void mul_channel_broadcast_nhwc_u8(std::int64_t batch, std::int64_t pixels,
                                          std::int64_t channels, const std::uint8_t* x,
                                          const std::uint8_t* gate, std::uint8_t* out,
                                          const MulParams& params) {
  mul_channel_broadcast_nhwc_u8(batch, pixels, channels, x, gate, out, params,
                                select_elementwise_kernel(kVmulKernels));
}

}  // namespace frost::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
