#pragma once
// AVX2 GEMM path, exact for full-range inputs.
//
// vpmaddubsw (u8 x s8, pairs summed in saturating int16) is NOT used: 255 * 127 * 2 > 32767, so it
// silently saturates on full-range data. Instead both operands are 16-bit and vpmaddwd sums
// pairs of int16 products into int32, which is exact here (|a * w| <= 255 * 128): the weights
// are widened once at packing time (kr = 2 int16 per column), the activations per tile, into a
// small buffer of (a[k], a[k+1]) pairs that each row broadcasts as one int32.
//
// Register tile: 6 rows x 2 slivers of 8 columns (12 ymm accumulators of 16).

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "frost/config.hpp"
#include "frost/kernels/gemm/microkernel.hpp"

#if FROST_ARCH_X86_64
#include <immintrin.h>

#include "frost/kernels/detail/target.hpp"

namespace frost::kernels::gemm_avx2 {

inline constexpr PackedLayout kLayout{.nr = 8, .kr = 2, .block = 2, .widen_to_s16 = true};
inline constexpr int kMaxRows = 6;
// Activations are widened this many k at a time (a multiple of 16; 6 rows x 2 KiB on the stack).
inline constexpr std::int64_t kChunk = 1024;

// Zero-extends a[0..len) to int16 in out[0..len rounded up to even), zero-padded.
FROST_TARGET_AVX2 inline void widen_activations(const std::uint8_t* a, std::int64_t len,
                                                std::uint16_t* out) {
  std::int64_t i = 0;
  for (; i + 16 <= len; i += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
    _mm256_store_si256(reinterpret_cast<__m256i*>(out + i), _mm256_cvtepu8_epi16(bytes));
  }
  for (; i < len; ++i) out[i] = a[i];
  if (len % 2 != 0) out[len] = 0;
}

FROST_TARGET_AVX2 FROST_ALWAYS_INLINE void store_sliver(const GemmTileArgs& args, __m256i acc,
                                                        __m256i bias, __m256 scale, __m256i mask,
                                                        std::int64_t valid, std::int64_t m,
                                                        std::int64_t n) {
  acc = _mm256_add_epi32(acc, bias);
  if (args.c == nullptr) {
    _mm256_maskstore_epi32(args.c32 + m * args.c32_stride + n, mask, acc);
    return;
  }
  const OutputQuantization& out = args.output;
  __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), scale);
  y = _mm256_max_ps(y, _mm256_set1_ps(static_cast<float>(out.output_min - out.zero_point)));
  y = _mm256_min_ps(y, _mm256_set1_ps(static_cast<float>(out.output_max - out.zero_point)));
  const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(y), _mm256_set1_epi32(out.zero_point));
  const __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  const __m128i q8 = _mm_packus_epi16(q16, q16);
  std::uint8_t* dst = args.c + m * args.c_stride_bytes + n;
  if (valid >= 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), q8);
  } else {
    alignas(16) std::uint8_t lanes[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(lanes), q8);
    std::memcpy(dst, lanes, static_cast<std::size_t>(valid));
  }
}

template <int MR, int NR>
FROST_TARGET_AVX2 inline void tile(const GemmTileArgs& args, std::int64_t m, std::int64_t b) {
  const PackedWeights& w = *args.weights;
  const std::int16_t* wp = w.weights<std::int16_t>() + w.block_offset(b);
  const std::int64_t k = w.k();

  __m256i acc[MR][NR];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NR; ++j) acc[r][j] = _mm256_setzero_si256();

  alignas(32) std::uint16_t pairs[MR][kChunk];
  for (std::int64_t k0 = 0; k0 < k; k0 += kChunk) {
    const std::int64_t len = std::min(kChunk, k - k0);
    for (int r = 0; r < MR; ++r)
      widen_activations(args.a + (m + r) * args.a_stride_bytes + k0, len, pairs[r]);
    for (std::int64_t p = 0; p < (len + 1) / 2; ++p) {
      __m256i bv[NR];
      for (int j = 0; j < NR; ++j)
        bv[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(wp + j * 16));
      wp += NR * 16;
      for (int r = 0; r < MR; ++r) {
        std::int32_t pair;
        std::memcpy(&pair, pairs[r] + 2 * p, sizeof pair);
        const __m256i av = _mm256_set1_epi32(pair);
        for (int j = 0; j < NR; ++j)
          acc[r][j] = _mm256_add_epi32(acc[r][j], _mm256_madd_epi16(av, bv[j]));
      }
    }
  }

  const std::int64_t n0 = w.block_first_column(b);
  for (int j = 0; j < NR; ++j) {
    const std::int64_t n = n0 + 8 * j;
    const std::int64_t valid = std::min<std::int64_t>(8, w.n() - n);
    const __m256i mask =
        _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(valid)),
                           _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i bias = _mm256_load_si256(reinterpret_cast<const __m256i*>(w.bias() + n));
    __m256 scale = _mm256_setzero_ps();  // no scales for int32 output
    if (args.c != nullptr)
      scale = args.per_channel_scales ? _mm256_maskload_ps(args.scales + n, mask)
                                      : _mm256_set1_ps(args.scales[0]);
    for (int r = 0; r < MR; ++r)
      store_sliver(args, acc[r][j], bias, scale, mask, valid, m + r, n);
  }
}

template <int NR, int R = 1>
FROST_TARGET_AVX2 inline void tail_rows(const GemmTileArgs& args, std::int64_t m, int rows,
                                        std::int64_t b) {
  if constexpr (R < kMaxRows) {
    if (rows == R) return tile<R, NR>(args, m, b);
    tail_rows<NR, R + 1>(args, m, rows, b);
  }
}

template <int NR>
FROST_TARGET_AVX2 inline void block_rows(const GemmTileArgs& args, std::int64_t m_begin,
                                         std::int64_t m_end, std::int64_t b) {
  std::int64_t m = m_begin;
  for (; m + kMaxRows <= m_end; m += kMaxRows) tile<kMaxRows, NR>(args, m, b);
  if (m < m_end) tail_rows<NR>(args, m, static_cast<int>(m_end - m), b);
}

inline void run(const GemmTileArgs& args, std::int64_t m_begin, std::int64_t m_end,
                std::int64_t block_begin, std::int64_t block_end) {
  for (std::int64_t b = block_begin; b < block_end; ++b) {
    if (args.weights->block_slivers(b) == 2)
      block_rows<2>(args, m_begin, m_end, b);
    else
      block_rows<1>(args, m_begin, m_end, b);
  }
}

inline constexpr GemmKernel kKernel{"qu8_gemm_minmax_fp32_6x16c2__avx2_madd", Isa::avx2, kLayout,
                                    kMaxRows, &run};

}  // namespace frost::kernels::gemm_avx2
#endif  // FROST_ARCH_X86_64
