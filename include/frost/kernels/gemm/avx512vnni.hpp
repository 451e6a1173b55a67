#pragma once
// AVX-512 VNNI GEMM path: 512-bit vpdpbusd (u8 x s8, four products summed into each int32 lane).
//
// Register tile: MR rows x NR slivers of 16 columns (up to 6 x 64). Per group of 4 k, each row
// broadcasts its 4 activation bytes to all lanes and each sliver loads 64 bytes of packed
// weights (16 columns x 4 k), so MR * NR vpdpbusd need MR + NR loads. Small tiles (GEMV, tails)
// alternate two accumulator sets so the 5-cycle vpdpbusd latency stays hidden. Requantization
// is fused on the accumulators; the N tail is handled with lane masks, the K tail by the zero
// padding of the packed weights and a partial load of the last activation group.

#include <cstdint>
#include <cstring>

#include "frost/config.hpp"
#include "frost/kernels/gemm/microkernel.hpp"

#if FROST_ARCH_X86_64
#include <immintrin.h>

#include "frost/kernels/detail/target.hpp"

namespace frost::kernels::gemm_avx512vnni {

inline constexpr PackedLayout kLayout{.nr = 16, .kr = 4, .block = 4};

// Rows of the register tile for a block of NR slivers: about 24 accumulators of 32 zmm.
template <int NR>
inline constexpr int kMaxRows = NR == 4 ? 6 : NR == 3 ? 8 : 12;

// Four activation bytes a[0..avail) (the rest zero), as one int32 to broadcast.
FROST_ALWAYS_INLINE std::int32_t load_group(const std::uint8_t* a, std::int64_t avail) {
  std::int32_t v = 0;
  std::memcpy(&v, a, static_cast<std::size_t>(avail));
  return v;
}

// Bias, requantization and store of one sliver of one row.
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE void store_sliver(const GemmTileArgs& args,
                                                              __m512i acc, __m512i bias,
                                                              __m512 scale, __mmask16 mask,
                                                              std::int64_t m, std::int64_t n) {
  acc = _mm512_add_epi32(acc, bias);
  if (args.c == nullptr) {
    _mm512_mask_storeu_epi32(args.c32 + m * args.c32_stride + n, mask, acc);
    return;
  }
  // Masked forms throughout: lanes past N are dropped anyway, and GCC 12 warns about the
  // undefined pass-through register of the unmasked ones (PR 105593).
  const OutputQuantization& out = args.output;
  __m512 y = _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(mask, acc), scale);
  y = _mm512_maskz_max_ps(mask, y, _mm512_set1_ps(static_cast<float>(out.output_min - out.zero_point)));
  y = _mm512_maskz_min_ps(mask, y, _mm512_set1_ps(static_cast<float>(out.output_max - out.zero_point)));
  const __m512i q =
      _mm512_add_epi32(_mm512_maskz_cvtps_epi32(mask, y), _mm512_set1_epi32(out.zero_point));
  _mm_mask_storeu_epi8(args.c + m * args.c_stride_bytes + n, mask,
                       _mm512_maskz_cvtusepi32_epi8(mask, q));
}

// MR rows starting at m, times block b (NR slivers).
template <int MR, int NR>
FROST_TARGET_AVX512VNNI inline void tile(const GemmTileArgs& args, std::int64_t m,
                                         std::int64_t b) {
  const PackedWeights& w = *args.weights;
  const std::int8_t* wp = w.weights<std::int8_t>() + w.block_offset(b);
  const std::int64_t k = w.k();
  const std::int64_t full_groups = k / 4;
  const std::uint8_t* a[MR];
  for (int r = 0; r < MR; ++r) a[r] = args.a + (m + r) * args.a_stride_bytes;

  // Two accumulator sets when the tile is too small to hide the latency on its own.
  constexpr int kSets = MR * NR <= 8 ? 2 : 1;
  __m512i acc[kSets][MR][NR];
  for (int s = 0; s < kSets; ++s)
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NR; ++j) acc[s][r][j] = _mm512_setzero_si512();

  auto step = [&](int s, std::int64_t kk, std::int64_t avail) FROST_TARGET_AVX512VNNI {
    __m512i bv[NR];
    for (int j = 0; j < NR; ++j) bv[j] = _mm512_load_si512(wp + j * 64);
    wp += NR * 64;
    for (int r = 0; r < MR; ++r) {
      const __m512i av = _mm512_set1_epi32(avail == 4 ? load_group(a[r] + kk, 4)
                                                      : load_group(a[r] + kk, avail));
      for (int j = 0; j < NR; ++j) acc[s][r][j] = _mm512_dpbusd_epi32(acc[s][r][j], av, bv[j]);
    }
  };
  std::int64_t g = 0;
  if constexpr (kSets == 2)
    for (; g + 2 <= full_groups; g += 2) {
      step(0, 4 * g, 4);
      step(1, 4 * g + 4, 4);
    }
  for (; g < full_groups; ++g) step(0, 4 * g, 4);
  if (k % 4 != 0) step(0, 4 * full_groups, k % 4);
  if constexpr (kSets == 2)
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NR; ++j) acc[0][r][j] = _mm512_add_epi32(acc[0][r][j], acc[1][r][j]);

  const std::int64_t n0 = w.block_first_column(b);
  for (int j = 0; j < NR; ++j) {
    const std::int64_t n = n0 + 16 * j;
    const std::int64_t valid = w.n() - n;
    const __mmask16 mask = valid >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << valid) - 1u);
    const __m512i bias = _mm512_load_si512(w.bias() + n);
    __m512 scale = _mm512_setzero_ps();  // no scales for int32 output
    if (args.c != nullptr)
      scale = args.per_channel_scales ? _mm512_maskz_loadu_ps(mask, args.scales + n)
                                      : _mm512_set1_ps(args.scales[0]);
    for (int r = 0; r < MR; ++r) store_sliver(args, acc[0][r][j], bias, scale, mask, m + r, n);
  }
}

// The last rows < kMaxRows<NR>: one instantiation per count.
template <int NR, int R = 1>
FROST_TARGET_AVX512VNNI inline void tail_rows(const GemmTileArgs& args, std::int64_t m, int rows,
                                              std::int64_t b) {
  if constexpr (R < kMaxRows<NR>) {
    if (rows == R) return tile<R, NR>(args, m, b);
    tail_rows<NR, R + 1>(args, m, rows, b);
  }
}

template <int NR>
FROST_TARGET_AVX512VNNI inline void block_rows(const GemmTileArgs& args, std::int64_t m_begin,
                                               std::int64_t m_end, std::int64_t b) {
  constexpr int kRows = kMaxRows<NR>;
  std::int64_t m = m_begin;
  for (; m + kRows <= m_end; m += kRows) tile<kRows, NR>(args, m, b);
  if (m < m_end) tail_rows<NR>(args, m, static_cast<int>(m_end - m), b);
}

inline void run(const GemmTileArgs& args, std::int64_t m_begin, std::int64_t m_end,
                std::int64_t block_begin, std::int64_t block_end) {
  for (std::int64_t b = block_begin; b < block_end; ++b) {
    switch (args.weights->block_slivers(b)) {
      case 4: block_rows<4>(args, m_begin, m_end, b); break;
      case 3: block_rows<3>(args, m_begin, m_end, b); break;
      case 2: block_rows<2>(args, m_begin, m_end, b); break;
      default: block_rows<1>(args, m_begin, m_end, b); break;
    }
  }
}

inline constexpr GemmKernel kKernel{"qu8_gemm_minmax_fp32_6x64c4__avx512vnni", Isa::avx512vnni,
                                    kLayout, 6, &run};

}  // namespace frost::kernels::gemm_avx512vnni
#endif  // FROST_ARCH_X86_64
