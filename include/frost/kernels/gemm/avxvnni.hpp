#pragma once
// AVX-VNNI GEMM path: the 256-bit VEX form of vpdpbusd (u8 x s8, four products summed into each
// int32 lane, exact for full-range inputs), on CPUs that have it without AVX-512 or beside it
// (Alder Lake and later cores, Sapphire Rapids, Zen 5).
//
// One vpdpbusd does the 32 multiply-adds that cost the exact AVX2 path (avx2.hpp) four
// instructions, with no widening of either operand: the activations are read as bytes, in
// place, and the weights are packed as bytes in groups of 4 k (kr = 4).
//
// Register tile: 6 rows x 2 slivers of 8 columns, 12 ymm accumulators; with the 2 weight
// vectors and the broadcast row that is 15 of the 16 registers VEX code can name. Loop order as
// on AVX-512 (avx512vnni.hpp): column blocks outside, rows inside, so a block's packed weights
// stay in L1 while every row passes over them. The output stage is the AVX2 one.

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "frost/config.hpp"
#include "frost/kernels/gemm/avx2.hpp"
#include "frost/kernels/gemm/microkernel.hpp"

#if FROST_ARCH_X86_64
#include <immintrin.h>

#include "frost/kernels/detail/target.hpp"

namespace frost::kernels::gemm_avxvnni {

inline constexpr PackedLayout kLayout{.nr = 8, .kr = 4, .block = 2};
inline constexpr int kMaxRows = 6;

template <int MR, int NR>
FROST_TARGET_AVXVNNI FROST_ALWAYS_INLINE void multiply_group(__m256i (&acc)[MR][NR],
                                                             const std::uint8_t* const (&a)[MR],
                                                             std::int64_t k0, std::int64_t avail,
                                                             const std::int8_t* wp) {
  __m256i bv[NR];
#pragma GCC unroll 2
  for (int j = 0; j < NR; ++j)
    bv[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(wp + j * 32));
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    const __m256i av = _mm256_set1_epi32(gemm_avx2::load_group(a[r] + k0, avail));
#pragma GCC unroll 2
    for (int j = 0; j < NR; ++j) acc[r][j] = _mm256_dpbusd_avx_epi32(acc[r][j], av, bv[j]);
  }
}

// sums[r][j] = bias of sliver j + row r . sliver j over all k. Out of line for the reason given at
// gemm_avx512vnni::accumulate (inlined into the output stage, GCC spills the accumulators).
template <int MR, int NR>
FROST_TARGET_AVXVNNI __attribute__((noinline)) void accumulate(
    const std::uint8_t* a_base, std::int64_t a_stride_bytes, const std::int8_t* wp, std::int64_t k,
    const std::int32_t* bias, __m256i (&sums)[MR][NR]) {
  const std::int64_t full_groups = k / 4;
  const std::uint8_t* a[MR];
  for (int r = 0; r < MR; ++r) a[r] = a_base + r * a_stride_bytes;
  __m256i acc[MR][NR];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int j = 0; j < NR; ++j)
      acc[r][j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(bias + 8 * j));
  std::int64_t g = 0;
  if constexpr (MR * NR <= 4) {
    // Too few accumulators to cover the vpdpbusd latency: a second set takes the odd groups.
    __m256i odd[MR][NR];
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
      for (int j = 0; j < NR; ++j) odd[r][j] = _mm256_setzero_si256();
    for (; g + 2 <= full_groups; g += 2) {
      multiply_group<MR, NR>(acc, a, 4 * g, 4, wp);
      multiply_group<MR, NR>(odd, a, 4 * g + 4, 4, wp + NR * 32);
      wp += 2 * NR * 32;
    }
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      __asm__("" : "+r"(a[r]));  // as for the K tail below
#pragma GCC unroll 2
      for (int j = 0; j < NR; ++j) {
        FROST_PIN_TO_REGISTER(acc[r][j]);
        FROST_PIN_TO_REGISTER(odd[r][j]);
      }
    }
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
      for (int j = 0; j < NR; ++j) acc[r][j] = _mm256_add_epi32(acc[r][j], odd[r][j]);
  }
  for (; g < full_groups; ++g, wp += NR * 32) multiply_group<MR, NR>(acc, a, 4 * g, 4, wp);
  if (k % 4 != 0) {
    // Opaque row pointers: see gemm_avx512vnni::accumulate (otherwise the tail's loads are
    // merged with the loop's and the accumulators spill).
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      __asm__("" : "+r"(a[r]));
#pragma GCC unroll 2
      for (int j = 0; j < NR; ++j) FROST_PIN_TO_REGISTER(acc[r][j]);
    }
    multiply_group<MR, NR>(acc, a, 4 * full_groups, k % 4, wp);
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int j = 0; j < NR; ++j) sums[r][j] = acc[r][j];
}

template <int MR, int NR>
FROST_TARGET_AVXVNNI inline void tile(const GemmTileArgs& args, const gemm_avx2::OutputStage& out,
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

inline constexpr GemmKernel kKernel{"qu8_gemm_minmax_fp32_6x16c4__avxvnni", Isa::avxvnni, kLayout,
                                    kMaxRows, &run};

}  // namespace frost::kernels::gemm_avxvnni
#endif  // FROST_ARCH_X86_64
