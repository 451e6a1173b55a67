#pragma once
// AVX2 GEMM path, exact for full-range inputs.
//
// vpmaddubsw (u8 x s8, pairs summed in saturating int16) is NOT used: 255 * 127 * 2 > 32767, so it
// silently saturates on full-range data. Instead both operands are 16-bit and vpmaddwd sums
// pairs of int16 products into int32, which is exact here (|a * w| <= 255 * 128): the weights
// are widened once at packing time (kr = 2 int16 per column), the activations once per row
// panel, into (a[k], a[k+1]) pairs that each row broadcasts as one int32.
//
// Register tile: 6 rows x 2 slivers of 8 columns (12 ymm accumulators of 16). Loop order: see
// run(). Requantization as on AVX-512 (avx512vnni.hpp): round, then clamp by saturating packs.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "frost/config.hpp"
#include "frost/kernels/gemm/microkernel.hpp"

#if FROST_ARCH_X86_64
#include <immintrin.h>

#include "frost/kernels/detail/copy_short.hpp"
#include "frost/kernels/detail/target.hpp"

namespace frost::kernels::gemm_avx2 {

inline constexpr PackedLayout kLayout{.nr = 8, .kr = 2, .block = 2, .widen_to_s16 = true};
inline constexpr int kMaxRows = 6;

// Zero-extends a[0..k) to int16 in out[0..k rounded up to even), zero-padded.
FROST_TARGET_AVX2 inline void widen_activations(const std::uint8_t* a, std::int64_t k,
                                                std::uint16_t* out) {
  std::int64_t i = 0;
  for (; i + 16 <= k; i += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_cvtepu8_epi16(bytes));
  }
  for (; i < k; ++i) out[i] = a[i];
  if (k % 2 != 0) out[k] = 0;
}

// Four activation bytes a[0..avail) (the rest zero), as one int32 to broadcast.
FROST_ALWAYS_INLINE std::int32_t load_group(const std::uint8_t* a, std::int64_t avail) {
  std::int32_t v = 0;
  if (avail >= 4)
    std::memcpy(&v, a, 4);
  else
    detail::copy_short<4>(&v, a, static_cast<std::size_t>(avail));
  return v;
}

// sums[r][j] = bias of sliver j + sum over k pairs of rows[r] . sliver j, for MR rows of widened
// activations (`pair_stride` int32 pairs apart). Out of line, with constant indices only, for
// the same reason as gemm_avx512vnni::accumulate: inlined, GCC spills the accumulators.
template <int MR, int NR>
FROST_TARGET_AVX2 __attribute__((noinline)) void accumulate(
    const std::uint16_t* rows, std::int64_t pair_stride, const std::int16_t* wp, std::int64_t pairs,
    const std::int32_t* bias, __m256i (&sums)[MR][NR]) {
  __m256i acc[MR][NR];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int j = 0; j < NR; ++j)
      acc[r][j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(bias + 8 * j));
  for (std::int64_t p = 0; p < pairs; ++p, wp += NR * 16) {
    __m256i bv[NR];
#pragma GCC unroll 2
    for (int j = 0; j < NR; ++j)
      bv[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(wp + j * 16));
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      std::int32_t pair;
      std::memcpy(&pair, rows + 2 * (r * pair_stride + p), sizeof pair);
      const __m256i av = _mm256_set1_epi32(pair);
#pragma GCC unroll 2
      for (int j = 0; j < NR; ++j)
        acc[r][j] = _mm256_add_epi32(acc[r][j], _mm256_madd_epi16(av, bv[j]));
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int j = 0; j < NR; ++j) sums[r][j] = acc[r][j];
}

// Output stage values copied out of GemmTileArgs (stores through uint8_t* alias everything).
struct OutputStage {
  std::uint8_t* c;
  std::int64_t c_stride_bytes;
  std::int32_t* c32;
  std::int64_t c32_stride;
  const float* scales;
  bool per_channel_scales;
  bool clamp_in_float;
  float float_min, float_max;
  std::int16_t zero_point;
  std::uint8_t output_min, output_max;
};

inline OutputStage output_stage(const GemmTileArgs& args) {
  const OutputQuantization& out = args.output;
  return {args.c,
          args.c_stride_bytes,
          args.c32,
          args.c32_stride,
          args.scales,
          args.per_channel_scales,
          !args.scales_below_one,
          static_cast<float>(out.output_min - out.zero_point),
          static_cast<float>(out.output_max - out.zero_point),
          static_cast<std::int16_t>(out.zero_point),
          out.output_min,
          out.output_max};
}

FROST_TARGET_AVX2 FROST_ALWAYS_INLINE __m256i round_scaled(const OutputStage& out, __m256i acc,
                                                           __m256 scale) {
  __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), scale);
  if (out.clamp_in_float) {
    y = _mm256_max_ps(y, _mm256_set1_ps(out.float_min));
    y = _mm256_min_ps(y, _mm256_set1_ps(out.float_max));
  }
  return _mm256_cvtps_epi32(y);
}

// Requantizes one row of NR <= 2 slivers (16 columns, `valid` of them in N) to u8: see
// gemm_avx512vnni::store_row_u8 for why clamping after rounding is exact.
template <int NR>
FROST_TARGET_AVX2 FROST_ALWAYS_INLINE void store_row_u8(const OutputStage& out,
                                                        const __m256i (&acc)[NR],
                                                        const __m256 (&scale)[NR],
                                                        std::uint8_t* dst, std::int64_t valid) {
  const __m256i q0 = round_scaled(out, acc[0], scale[0]);
  __m256i q1 = _mm256_setzero_si256();
  if constexpr (NR > 1) q1 = round_scaled(out, acc[1], scale[1]);
  // Per 128-bit lane: [q0 cols 0-3 | q1 cols 0-3] (lane 0), [q0 cols 4-7 | q1 cols 4-7] (lane 1).
  const __m256i q16 =
      _mm256_adds_epi16(_mm256_packs_epi32(q0, q1), _mm256_set1_epi16(out.zero_point));
  const __m256i q8 = _mm256_packus_epi16(q16, q16);
  const __m128i bytes = _mm256_castsi256_si128(
      _mm256_permutevar8x32_epi32(q8, _mm256_setr_epi32(0, 4, 1, 5, 0, 0, 0, 0)));
  __m128i clamped = _mm_max_epu8(bytes, _mm_set1_epi8(static_cast<char>(out.output_min)));
  clamped = _mm_min_epu8(clamped, _mm_set1_epi8(static_cast<char>(out.output_max)));
  if (valid >= 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), clamped);
  } else {
    alignas(16) std::uint8_t lanes[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(lanes), clamped);
    detail::copy_short<16>(dst, lanes, static_cast<std::size_t>(valid));
  }
}

template <int MR, int NR, int... R>
FROST_TARGET_AVX2 FROST_ALWAYS_INLINE void store_rows_u8(const OutputStage& out,
                                                         const __m256i (&acc)[MR][NR],
                                                         const __m256 (&scale)[NR], std::uint8_t* c,
                                                         std::int64_t valid,
                                                         std::integer_sequence<int, R...>) {
  (store_row_u8<NR>(out, acc[R], scale, c + R * out.c_stride_bytes, valid), ...);
}

// Requantization and store of an MR x NR tile of accumulators (bias included) for rows m.. of
// block b.
template <int MR, int NR>
FROST_TARGET_AVX2 FROST_ALWAYS_INLINE void output_tile(const PackedWeights& w,
                                                       const OutputStage& out,
                                                       __m256i (&acc)[MR][NR], std::int64_t m,
                                                       std::int64_t b) {
  const std::int64_t n0 = w.block_first_column(b);
  const std::int64_t valid = std::min<std::int64_t>(8 * NR, w.n() - n0);
  if (out.c == nullptr) {
#pragma GCC unroll 2
    for (int j = 0; j < NR; ++j) {
      const std::int64_t lanes = std::min<std::int64_t>(8, valid - 8 * j);
      const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(lanes)),
                                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
#pragma GCC unroll 6
      for (int r = 0; r < MR; ++r)
        _mm256_maskstore_epi32(out.c32 + (m + r) * out.c32_stride + n0 + 8 * j, mask, acc[r][j]);
    }
    return;
  }
  // Per-channel scales of the block, zero-padded past N (constant indices only, as above).
  alignas(32) float padded_scales[8 * NR] = {};
  const float* column_scales = out.scales + n0;
  if (out.per_channel_scales && valid < 8 * NR) {
    std::memcpy(padded_scales, column_scales, static_cast<std::size_t>(valid) * sizeof(float));
    column_scales = padded_scales;
  }
  __m256 scale[NR];
#pragma GCC unroll 2
  for (int j = 0; j < NR; ++j)
    scale[j] = out.per_channel_scales ? _mm256_loadu_ps(column_scales + 8 * j)
                                      : _mm256_set1_ps(out.scales[0]);
  store_rows_u8<MR, NR>(out, acc, scale, out.c + m * out.c_stride_bytes + n0, valid,
                        std::make_integer_sequence<int, MR>());
}

// MR rows starting at m (widened in `rows`), times block b (NR slivers).
template <int MR, int NR>
FROST_TARGET_AVX2 inline void tile(const PackedWeights& w, const OutputStage& out,
                                   const std::uint16_t* rows, std::int64_t pair_stride,
                                   std::int64_t m, std::int64_t b) {
  __m256i acc[MR][NR];
  accumulate<MR, NR>(rows, pair_stride, w.weights<std::int16_t>() + w.block_offset(b),
                     (w.k() + 1) / 2, w.bias() + w.block_first_column(b), acc);
  output_tile<MR, NR>(w, out, acc, m, b);
}

// Rows widened per pass: one panel when all packed weights stay in L1 anyway (the panel then
// stays there too), else about half of a 256 KiB L2 of whole panels.
inline std::int64_t rows_per_pass(const PackedWeights& w, std::int64_t pair_stride) {
  const std::int64_t weight_bytes = w.k_padded() * w.n_padded() * std::int64_t{2};
  if (weight_bytes <= 24 * 1024) return kMaxRows;
  const std::int64_t panel_bytes = kMaxRows * 2 * pair_stride * std::int64_t{sizeof(std::uint16_t)};
  return std::max<std::int64_t>(1, (128 * 1024) / panel_bytes) * kMaxRows;
}

// Blocked as in GotoBLAS: a pass widens up to rows_per_pass rows once (they stay in L2), then
// runs every column block over all of its row panels, so each block's packed weights are read
// from memory once per pass and from L1 by every panel after the first.
inline void run(const GemmTileArgs& args, std::int64_t m_begin, std::int64_t m_end,
                std::int64_t block_begin, std::int64_t block_end) {
  const PackedWeights& w = *args.weights;
  const OutputStage out = output_stage(args);
  const std::int64_t pair_stride = (w.k() + 1) / 2;
  const std::int64_t pass_rows = std::min(rows_per_pass(w, pair_stride), m_end - m_begin);
  // Kept per thread between calls: small GEMMs would otherwise allocate on every call.
  thread_local std::vector<std::uint16_t> rows;
  const auto needed = static_cast<std::size_t>(pass_rows * 2 * pair_stride);
  if (rows.size() < needed) rows.resize(needed);
  for (std::int64_t m0 = m_begin; m0 < m_end; m0 += pass_rows) {
    const std::int64_t m1 = std::min(m_end, m0 + pass_rows);
    for (std::int64_t m = m0; m < m1; ++m)
      widen_activations(args.a + m * args.a_stride_bytes, w.k(),
                        rows.data() + (m - m0) * 2 * pair_stride);
    const std::uint16_t* pass = rows.data();
    detail::for_each_tile<kMaxRows>(
        w, m0, m1, block_begin, block_end,
        [&](auto count, auto slivers, std::int64_t m, std::int64_t b) {
          tile<count(), slivers()>(w, out, pass + (m - m0) * 2 * pair_stride, pair_stride, m, b);
        });
  }
}

inline constexpr GemmKernel kKernel{"qu8_gemm_minmax_fp32_6x16c2__avx2_madd", Isa::avx2, kLayout,
                                    kMaxRows, &run};

}  // namespace frost::kernels::gemm_avx2
#endif  // FROST_ARCH_X86_64
