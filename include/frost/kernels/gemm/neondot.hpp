#pragma once
// NEON GEMM path for aarch64 CPUs with the dot-product extension: sdot.
//
// sdot multiplies s8 by s8, so activations are shifted to s8 on load (a ^ 0x80 == a - 128) and
// the shift is compensated through the packed bias (gemm/packing.hpp, activation_shift = 128);
// this avoids usdot, which needs i8mm. One sdot by element adds, into each of 4 int32 lanes
// (4 columns), the 4 products of one group of 4 k; each row loads 16 activations (4 groups) at
// a time and selects the group by lane. Register tile: 4 rows x 4 slivers of 4 columns.

#include <cstdint>
#include <cstring>

#include "frost/config.hpp"
#include "frost/kernels/gemm/microkernel.hpp"
#include "frost/kernels/gemm/neon.hpp"

#if FROST_ARCH_AARCH64
#include <arm_neon.h>

#include "frost/kernels/detail/copy_short.hpp"
#include "frost/kernels/detail/target.hpp"

namespace frost::kernels::gemm_neondot {

inline constexpr PackedLayout kLayout{.nr = 4, .kr = 4, .block = 4, .activation_shift = 128};
inline constexpr int kMaxRows = 4;

// 16 activations from a[0..avail) as s8 (a - 128); past avail the value is irrelevant (the
// packed weights there are zero) but must not be read from memory.
FROST_TARGET_NEONDOT FROST_ALWAYS_INLINE int8x16_t load_shifted(const std::uint8_t* a,
                                                                std::int64_t avail) {
  uint8x16_t bytes;
  if (avail >= 16) {
    bytes = vld1q_u8(a);
  } else {
    std::uint8_t buffer[16] = {};
    detail::copy_short<16>(buffer, a, static_cast<std::size_t>(avail));
    bytes = vld1q_u8(buffer);
  }
  return vreinterpretq_s8_u8(veorq_u8(bytes, vdupq_n_u8(0x80)));
}

template <int MR, int NR, int L>
FROST_TARGET_NEONDOT FROST_ALWAYS_INLINE void multiply_group(int32x4_t (&acc)[MR][NR],
                                                             const int8x16_t (&av)[MR],
                                                             const std::int8_t*& wp) {
  int8x16_t bv[NR];
#pragma GCC unroll 4
  for (int j = 0; j < NR; ++j) bv[j] = vld1q_s8(wp + 16 * j);
  wp += 16 * NR;
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) acc[r][j] = vdotq_laneq_s32(acc[r][j], bv[j], av[r], L);
}

// Groups [L, G) of 4 k of a 16-k step, unrolled at compile time.
template <int MR, int NR, int G, int L = 0>
FROST_TARGET_NEONDOT FROST_ALWAYS_INLINE void multiply_groups(int32x4_t (&acc)[MR][NR],
                                                              const int8x16_t (&av)[MR],
                                                              const std::int8_t*& wp) {
  if constexpr (L < G) {
    multiply_group<MR, NR, L>(acc, av, wp);
    multiply_groups<MR, NR, G, L + 1>(acc, av, wp);
  }
}

// sums[r][j] = dot products of MR rows (a_stride_bytes apart) with NR slivers over all k. Out
// of line with constant indices only, so GCC keeps the accumulators in registers (see
// gemm_avx512vnni::accumulate).
template <int MR, int NR>
FROST_TARGET_NEONDOT __attribute__((noinline)) void accumulate(const std::uint8_t* a_base,
                                                               std::int64_t a_stride_bytes,
                                                               const std::int8_t* wp,
                                                               std::int64_t k,
                                                               int32x4_t (&sums)[MR][NR]) {
  const std::uint8_t* a[MR];
  for (int r = 0; r < MR; ++r) a[r] = a_base + r * a_stride_bytes;
  int32x4_t acc[MR][NR];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) acc[r][j] = vdupq_n_s32(0);
  std::int64_t k0 = 0;
  for (; k0 + 16 <= k; k0 += 16) {
    int8x16_t av[MR];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) av[r] = load_shifted(a[r] + k0, 16);
    multiply_groups<MR, NR, 4>(acc, av, wp);
  }
  if (k0 < k) {
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) __asm__("" : "+r"(a[r]));  // see gemm_avx512vnni::accumulate
    int8x16_t av[MR];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) av[r] = load_shifted(a[r] + k0, k - k0);
    switch ((k - k0 + 3) / 4) {
      case 1:
        multiply_groups<MR, NR, 1>(acc, av, wp);
        break;
      case 2:
        multiply_groups<MR, NR, 2>(acc, av, wp);
        break;
      case 3:
        multiply_groups<MR, NR, 3>(acc, av, wp);
        break;
      default:
        multiply_groups<MR, NR, 4>(acc, av, wp);
        break;  // 13..15 k left
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) sums[r][j] = acc[r][j];
}

template <int MR, int NR>
FROST_TARGET_NEONDOT inline void tile(const GemmTileArgs& args, std::int64_t m, std::int64_t b) {
  const PackedWeights& w = *args.weights;
  int32x4_t acc[MR][NR];
  accumulate<MR, NR>(args.a + m * args.a_stride_bytes, args.a_stride_bytes,
                     w.weights<std::int8_t>() + w.block_offset(b), w.k(), acc);
  const std::int64_t n0 = w.block_first_column(b);
#pragma GCC unroll 4
  for (int j = 0; j < NR; ++j) {
    const std::int64_t n = n0 + 4 * j;
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) gemm_neon::store_quad(args, acc[r][j], m + r, n, w.n() - n);
  }
}

template <int NR, int R = 1>
FROST_TARGET_NEONDOT inline void tail_rows(const GemmTileArgs& args, std::int64_t m, int rows,
                                           std::int64_t b) {
  if constexpr (R < kMaxRows) {
    if (rows == R) return tile<R, NR>(args, m, b);
    tail_rows<NR, R + 1>(args, m, rows, b);
  }
}

template <int NR>
FROST_TARGET_NEONDOT inline void block_rows(const GemmTileArgs& args, std::int64_t m_begin,
                                            std::int64_t m_end, std::int64_t b) {
  std::int64_t m = m_begin;
  for (; m + kMaxRows <= m_end; m += kMaxRows) tile<kMaxRows, NR>(args, m, b);
  if (m < m_end) tail_rows<NR>(args, m, static_cast<int>(m_end - m), b);
}

inline void run(const GemmTileArgs& args, std::int64_t m_begin, std::int64_t m_end,
                std::int64_t block_begin, std::int64_t block_end) {
  for (std::int64_t b = block_begin; b < block_end; ++b) {
    switch (args.weights->block_slivers(b)) {
      case 4:
        block_rows<4>(args, m_begin, m_end, b);
        break;
      case 3:
        block_rows<3>(args, m_begin, m_end, b);
        break;
      case 2:
        block_rows<2>(args, m_begin, m_end, b);
        break;
      default:
        block_rows<1>(args, m_begin, m_end, b);
        break;
    }
  }
}

inline constexpr GemmKernel kKernel{"qu8_gemm_minmax_fp32_4x16c4__neondot", Isa::neondot, kLayout,
                                    kMaxRows, &run};

}  // namespace frost::kernels::gemm_neondot
#endif  // FROST_ARCH_AARCH64
