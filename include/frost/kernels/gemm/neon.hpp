#pragma once
// NEON GEMM path for aarch64 CPUs without the dot-product extension: widening multiplies.
//
// Weights are widened to int16 at packing time (kr = 1: for each k, 8 columns side by side);
// each row widens 8 activation bytes at a time (u8 -> s16 is exact) and vmlal_laneq_s16 adds
// products of 16-bit lanes into int32 lanes, exact since |a * w| <= 255 * 128.
// Register tile: 4 rows x 2 slivers of 8 columns (16 int32x4 accumulators).

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "frost/config.hpp"
#include "frost/kernels/gemm/microkernel.hpp"

#if FROST_ARCH_AARCH64
#include <arm_neon.h>

#include "frost/kernels/detail/copy_short.hpp"
#include "frost/kernels/detail/target.hpp"

namespace frost::kernels::gemm_neon {

inline constexpr PackedLayout kLayout{.nr = 8, .kr = 1, .block = 2, .widen_to_s16 = true};
inline constexpr int kMaxRows = 4;

// Bias, requantization and store of 4 consecutive columns n..n+3 of row m (valid of them in N),
// shared with the dot-product path.
FROST_ALWAYS_INLINE void store_quad(const GemmTileArgs& args, int32x4_t acc, std::int64_t m,
                                    std::int64_t n, std::int64_t valid) {
  const PackedWeights& w = *args.weights;
  acc = vaddq_s32(acc, vld1q_s32(w.bias() + n));
  if (args.c == nullptr) {
    std::int32_t* dst = args.c32 + m * args.c32_stride + n;
    if (valid >= 4) {
      vst1q_s32(dst, acc);
    } else {
      std::int32_t lanes[4];
      vst1q_s32(lanes, acc);
      detail::copy_short<16>(dst, lanes, static_cast<std::size_t>(valid) * sizeof(std::int32_t));
    }
    return;
  }
  float32x4_t scale;
  if (args.per_channel_scales && valid >= 4) {
    scale = vld1q_f32(args.scales + n);
  } else if (args.per_channel_scales) {
    float s[4] = {0, 0, 0, 0};
    detail::copy_short<16>(s, args.scales + n, static_cast<std::size_t>(valid) * sizeof(float));
    scale = vld1q_f32(s);
  } else {
    scale = vdupq_n_f32(args.scales[0]);
  }
  const OutputQuantization& out = args.output;
  float32x4_t y = vmulq_f32(vcvtq_f32_s32(acc), scale);
  y = vmaxq_f32(y, vdupq_n_f32(static_cast<float>(out.output_min - out.zero_point)));
  y = vminq_f32(y, vdupq_n_f32(static_cast<float>(out.output_max - out.zero_point)));
  // fcvtns: round to nearest, ties to even, like cvtps2dq and std::nearbyint.
  const int32x4_t q = vaddq_s32(vcvtnq_s32_f32(y), vdupq_n_s32(out.zero_point));
  const uint8x8_t q8 = vqmovn_u16(vcombine_u16(vqmovun_s32(q), vdup_n_u16(0)));
  std::uint8_t lanes[8];
  vst1_u8(lanes, q8);
  detail::copy_short<8>(args.c + m * args.c_stride_bytes + n, lanes,
                        static_cast<std::size_t>(std::min<std::int64_t>(valid, 4)));
}

// 8 activations of row r from a[0..avail), zero-extended to int16 (zeros past avail).
FROST_ALWAYS_INLINE int16x8_t load_widened(const std::uint8_t* a, std::int64_t avail) {
  if (avail >= 8) return vreinterpretq_s16_u16(vmovl_u8(vld1_u8(a)));
  std::uint8_t bytes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  detail::copy_short<8>(bytes, a, static_cast<std::size_t>(avail));
  return vreinterpretq_s16_u16(vmovl_u8(vld1_u8(bytes)));
}

// One k (activation lane L of each row) times NR slivers of 8 columns.
template <int MR, int NR, int L>
FROST_ALWAYS_INLINE void multiply_lane(int32x4_t (&acc)[MR][NR][2], const int16x8_t (&av)[MR],
                                       const std::int16_t*& wp) {
  int16x8_t bv[NR];
#pragma GCC unroll 2
  for (int j = 0; j < NR; ++j) bv[j] = vld1q_s16(wp + 8 * j);
  wp += 8 * NR;
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int j = 0; j < NR; ++j) {
      acc[r][j][0] = vmlal_laneq_s16(acc[r][j][0], vget_low_s16(bv[j]), av[r], L);
      acc[r][j][1] = vmlal_high_laneq_s16(acc[r][j][1], bv[j], av[r], L);
    }
}

// k lanes [L, G) of an 8-k step, unrolled at compile time.
template <int MR, int NR, int G, int L = 0>
FROST_ALWAYS_INLINE void multiply_lanes(int32x4_t (&acc)[MR][NR][2], const int16x8_t (&av)[MR],
                                        const std::int16_t*& wp) {
  if constexpr (L < G) {
    multiply_lane<MR, NR, L>(acc, av, wp);
    multiply_lanes<MR, NR, G, L + 1>(acc, av, wp);
  }
}

// sums[r][j] (two int32x4 halves of 8 columns) = dot products of MR rows with NR slivers over
// all k. Out of line with constant indices only (see gemm_avx512vnni::accumulate).
template <int MR, int NR>
__attribute__((noinline)) void accumulate(const std::uint8_t* a_base, std::int64_t a_stride_bytes,
                                          const std::int16_t* wp, std::int64_t k,
                                          int32x4_t (&sums)[MR][NR][2]) {
  const std::uint8_t* a[MR];
  for (int r = 0; r < MR; ++r) a[r] = a_base + r * a_stride_bytes;
  int32x4_t acc[MR][NR][2];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int j = 0; j < NR; ++j) acc[r][j][0] = acc[r][j][1] = vdupq_n_s32(0);
  std::int64_t k0 = 0;
  for (; k0 + 8 <= k; k0 += 8) {
    int16x8_t av[MR];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) av[r] = load_widened(a[r] + k0, 8);
    multiply_lanes<MR, NR, 8>(acc, av, wp);
  }
  if (k0 < k) {
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) __asm__("" : "+r"(a[r]));  // see gemm_avx512vnni::accumulate
    int16x8_t av[MR];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) av[r] = load_widened(a[r] + k0, k - k0);
    switch (k - k0) {
      case 1:
        multiply_lanes<MR, NR, 1>(acc, av, wp);
        break;
      case 2:
        multiply_lanes<MR, NR, 2>(acc, av, wp);
        break;
      case 3:
        multiply_lanes<MR, NR, 3>(acc, av, wp);
        break;
      case 4:
        multiply_lanes<MR, NR, 4>(acc, av, wp);
        break;
      case 5:
        multiply_lanes<MR, NR, 5>(acc, av, wp);
        break;
      case 6:
        multiply_lanes<MR, NR, 6>(acc, av, wp);
        break;
      default:
        multiply_lanes<MR, NR, 7>(acc, av, wp);
        break;
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int j = 0; j < NR; ++j) {
      sums[r][j][0] = acc[r][j][0];
      sums[r][j][1] = acc[r][j][1];
    }
}

template <int MR, int NR>
inline void tile(const GemmTileArgs& args, std::int64_t m, std::int64_t b) {
  const PackedWeights& w = *args.weights;
  int32x4_t acc[MR][NR][2];
  accumulate<MR, NR>(args.a + m * args.a_stride_bytes, args.a_stride_bytes,
                     w.weights<std::int16_t>() + w.block_offset(b), w.k(), acc);
  const std::int64_t n0 = w.block_first_column(b);
#pragma GCC unroll 2
  for (int j = 0; j < NR; ++j)
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
      const std::int64_t n = n0 + 8 * j + 4 * half;
      if (n >= w.n()) break;
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) store_quad(args, acc[r][j][half], m + r, n, w.n() - n);
    }
}

template <int NR, int R = 1>
inline void tail_rows(const GemmTileArgs& args, std::int64_t m, int rows, std::int64_t b) {
  if constexpr (R < kMaxRows) {
    if (rows == R) return tile<R, NR>(args, m, b);
    tail_rows<NR, R + 1>(args, m, rows, b);
  }
}

template <int NR>
inline void block_rows(const GemmTileArgs& args, std::int64_t m_begin, std::int64_t m_end,
                       std::int64_t b) {
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

inline constexpr GemmKernel kKernel{"qu8_gemm_minmax_fp32_4x16__neon_mlal_lane", Isa::neon, kLayout,
                                    kMaxRows, &run};

}  // namespace frost::kernels::gemm_neon
#endif  // FROST_ARCH_AARCH64
