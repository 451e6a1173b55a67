#pragma once
// AVX2 GEMM path for 7-bit activations (reduce_range, an explicit opt-in): vpmaddubsw.
//
// vpmaddubsw multiplies u8 by s8 and sums pairs into saturating int16. With activations in
// [0, 127] a pair is at most 127 * 128 * 2 = 32512 < 32767, so it never saturates and the
// result is exact; vpmaddwd by ones then sums pairs of pairs into int32 (4 k per lane, as
// vpdpbusd does). Three instructions per 32 multiply-adds instead of four for the full-range
// vpmaddwd path (avx2.hpp). Activations above 127 would saturate silently, so qu8_gemm
// refuses them (frost::Error) for weights packed for this kernel; the model must have been
// quantized with a 7-bit activation range (PyTorch's reduce_range).
//
// Register tile: 4 rows x 2 slivers of 8 columns; packed layout as vpdpbusd's (kr = 4).

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "frost/config.hpp"
#include "frost/kernels/gemm/avx2.hpp"
#include "frost/kernels/gemm/microkernel.hpp"

#if FROST_ARCH_X86_64
#include <immintrin.h>

#include "frost/kernels/detail/target.hpp"

namespace frost::kernels::gemm_avx2_reduce_range {

inline constexpr PackedLayout kLayout{.nr = 8, .kr = 4, .block = 2, .reduce_range = true};
inline constexpr int kMaxRows = 4;

template <int MR, int NR>
FROST_TARGET_AVX2 FROST_ALWAYS_INLINE void multiply_group(__m256i (&acc)[MR][NR],
                                                          const std::uint8_t* const (&a)[MR],
                                                          std::int64_t k0, std::int64_t avail,
                                                          const std::int8_t* wp, __m256i ones) {
  __m256i bv[NR];
#pragma GCC unroll 2
  for (int j = 0; j < NR; ++j)
    bv[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(wp + 32 * j));
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
    const __m256i av = _mm256_set1_epi32(gemm_avx2::load_group(a[r] + k0, avail));
#pragma GCC unroll 2
    for (int j = 0; j < NR; ++j)
      acc[r][j] =
          _mm256_add_epi32(acc[r][j], _mm256_madd_epi16(_mm256_maddubs_epi16(av, bv[j]), ones));
  }
}

// Bias + the dot products. Out of line with constant indices only, as
// gemm_avx512vnni::accumulate.
template <int MR, int NR>
FROST_TARGET_AVX2 __attribute__((noinline)) void accumulate(const std::uint8_t* a_base,
                                                            std::int64_t a_stride_bytes,
                                                            const std::int8_t* wp, std::int64_t k,
                                                            const std::int32_t* bias,
                                                            __m256i (&sums)[MR][NR]) {
  const std::uint8_t* a[MR];
  for (int r = 0; r < MR; ++r) a[r] = a_base + r * a_stride_bytes;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[MR][NR];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int j = 0; j < NR; ++j)
      acc[r][j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(bias + 8 * j));
  const std::int64_t full_groups = k / 4;
  for (std::int64_t g = 0; g < full_groups; ++g, wp += NR * 32)
    multiply_group<MR, NR>(acc, a, 4 * g, 4, wp, ones);
  if (k % 4 != 0) {
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) __asm__("" : "+r"(a[r]));  // see gemm_avx512vnni::accumulate
    multiply_group<MR, NR>(acc, a, 4 * full_groups, k % 4, wp, ones);
  }
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int j = 0; j < NR; ++j) sums[r][j] = acc[r][j];
}

template <int MR, int NR>
FROST_TARGET_AVX2 inline void tile(const GemmTileArgs& args, const gemm_avx2::OutputStage& out,
                                   std::int64_t m, std::int64_t b) {
  const PackedWeights& w = *args.weights;
  __m256i acc[MR][NR];
  accumulate<MR, NR>(args.a + m * args.a_stride_bytes, args.a_stride_bytes,
                     w.weights<std::int8_t>() + w.block_offset(b), w.k(),
                     w.bias() + w.block_first_column(b), acc);
  gemm_avx2::output_tile<MR, NR>(w, out, acc, m, b);
}

inline void run(const GemmTileArgs& args, std::int64_t m_begin, std::int64_t m_end,
                std::int64_t block_begin, std::int64_t block_end) {
  const gemm_avx2::OutputStage out = gemm_avx2::output_stage(args);
  detail::for_each_tile<kMaxRows>(*args.weights, m_begin, m_end, block_begin, block_end,
                                  [&](auto rows, auto slivers, std::int64_t m, std::int64_t b) {
                                    tile<rows(), slivers()>(args, out, m, b);
                                  });
}

inline constexpr GemmKernel kKernel{"qu8_gemm_minmax_fp32_4x16c4__avx2_maddubs_reduce_range",
                                    Isa::avx2, kLayout, kMaxRows, &run};

}  // namespace frost::kernels::gemm_avx2_reduce_range
#endif  // FROST_ARCH_X86_64
