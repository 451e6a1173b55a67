#pragma once
// AVX-512 VNNI GEMM path: 512-bit vpdpbusd (u8 x s8, four products summed into each int32 lane).
//
// Register tile: MR rows x NR slivers of 16 columns (up to 6 x 64). Per group of 4 k, each row
// broadcasts its 4 activation bytes to all lanes and each sliver loads 64 bytes of packed
// weights (16 columns x 4 k), so MR * NR vpdpbusd need MR + NR loads. Small tiles (GEMV, tails)
// alternate two accumulator sets so the 5-cycle vpdpbusd latency stays hidden. Accumulators
// start from the folded bias. Requantization is fused: the 4 slivers of a row are converted,
// scaled, rounded, then packed together to 64 bytes with saturation and clamped as bytes.
// The N tail is handled with lane masks, the K tail by the zero padding of the packed weights
// and a partial load of the last activation group.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "frost/config.hpp"
#include "frost/kernels/detail/aligned_buffer.hpp"
#include "frost/kernels/gemm/microkernel.hpp"

#if FROST_ARCH_X86_64
#include <immintrin.h>

#include "frost/kernels/detail/target.hpp"

namespace frost::kernels::gemm_avx512vnni {

inline constexpr PackedLayout kLayout{.nr = 16, .kr = 4, .block = 4};

// Rows of the register tile for a block of NR slivers: about 24 accumulators of 32 zmm.
template <int NR>
inline constexpr int kMaxRows = NR == 4   ? 6
                                : NR == 3 ? 8
                                          : 12;

// Four activation bytes a[0..avail) (the rest zero) broadcast to every lane. The partial
// load is masked: it neither reads past the row nor calls memcpy (see detail/copy_short.hpp).
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE __m512i broadcast_group(const std::uint8_t* a,
                                                                    std::int64_t avail) {
  if (avail >= 4) {
    std::int32_t v;
    std::memcpy(&v, a, 4);
    return _mm512_set1_epi32(v);
  }
  const __m128i part = _mm_maskz_loadu_epi8(static_cast<__mmask16>((1u << avail) - 1u), a);
  return _mm512_maskz_broadcastd_epi32(static_cast<__mmask16>(0xFFFF), part);  // see kAllLanes
}

// What the output stage needs, copied out of GemmTileArgs into locals: stores through uint8_t*
// may alias anything, so fields read through a reference would be reloaded after every store.
struct OutputStage {
  std::uint8_t* c;
  std::int64_t c_stride_bytes;
  std::int32_t* c32;
  std::int64_t c32_stride;
  const float* scales;
  bool per_channel_scales;
  bool clamp_in_float;  // some scale >= 1: clamp before rounding so the conversion cannot overflow
  float float_min, float_max;  // clamp bounds relative to the zero point
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

// GCC 12 warns (-Wmaybe-uninitialized, PR 105593) about the undefined pass-through register of
// some unmasked AVX-512 intrinsics; their zero-masked forms with a full mask are the same
// instructions without the warning.
inline constexpr __mmask16 kAllLanes = 0xFFFF;

// One group of 4 k: acc[r][j] += a[r][k0..k0+4) . weights of sliver j.
template <int MR, int NR>
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE void multiply_group(__m512i (&acc)[MR][NR],
                                                                const std::uint8_t* const (&a)[MR],
                                                                std::int64_t k0, std::int64_t avail,
                                                                const std::int8_t* wp) {
  __m512i bv[NR];
#pragma GCC unroll 4
  for (int j = 0; j < NR; ++j) bv[j] = _mm512_load_si512(wp + j * 64);
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    const __m512i av = broadcast_group(a[r] + k0, avail);
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) {
      acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], av, bv[j]);
    }
  }
}

// round(float(acc) * scale), clamped first when a scale >= 1 could overflow the conversion.
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE __m512i round_scaled(const OutputStage& out,
                                                                 __m512i acc, __m512 scale) {
  __m512 y = _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(kAllLanes, acc), scale);
  if (out.clamp_in_float) {
    y = _mm512_maskz_max_ps(kAllLanes, y, _mm512_set1_ps(out.float_min));
    y = _mm512_maskz_min_ps(kAllLanes, y, _mm512_set1_ps(out.float_max));
  }
  return _mm512_maskz_cvtps_epi32(kAllLanes, y);
}

// Requantizes one row of NR <= 4 slivers (columns n0..n0+16*NR, `valid` of them in N) to u8.
//   round(clamp(y, lo - zp, hi - zp)) + zp == clamp(round(y) + zp, lo, hi) for integer bounds,
// so after cvtps2dq (round to nearest even) the zero point is added and the clamp applied by
// saturating packs (int32 -> int16 -> u8) and byte min / max. The float clamp is only needed
// when a scale >= 1 could push float(acc) * scale past the int32 range.
template <int NR>
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE void store_row_u8(const OutputStage& out,
                                                              const __m512i (&acc)[NR],
                                                              const __m512 (&scale)[NR],
                                                              std::uint8_t* dst,
                                                              __mmask64 store_mask) {
  // Constant indices only (see store_rows_u8).
  __m512i q[4] = {round_scaled(out, acc[0], scale[0]), _mm512_setzero_si512(),
                  _mm512_setzero_si512(), _mm512_setzero_si512()};
  if constexpr (NR > 1) q[1] = round_scaled(out, acc[1], scale[1]);
  if constexpr (NR > 2) q[2] = round_scaled(out, acc[2], scale[2]);
  if constexpr (NR > 3) q[3] = round_scaled(out, acc[3], scale[3]);
  const __m512i zero_point = _mm512_set1_epi16(out.zero_point);
  // Per 128-bit lane i: [s0 cols 4i..4i+3 | s1 ... | s2 ... | s3 ...] as 4 dwords.
  const __m512i q01 = _mm512_adds_epi16(_mm512_packs_epi32(q[0], q[1]), zero_point);
  const __m512i q23 = _mm512_adds_epi16(_mm512_packs_epi32(q[2], q[3]), zero_point);
  __m512i bytes = _mm512_packus_epi16(q01, q23);
  bytes = _mm512_max_epu8(bytes, _mm512_set1_epi8(static_cast<char>(out.output_min)));
  bytes = _mm512_min_epu8(bytes, _mm512_set1_epi8(static_cast<char>(out.output_max)));
  // dword p of the result (sliver p / 4, lane p % 4) comes from dword 4 * (p % 4) + p / 4.
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  _mm512_mask_storeu_epi8(dst, store_mask, _mm512_maskz_permutexvar_epi32(kAllLanes, order, bytes));
}

// store_row_u8 on rows R... of the tile. A fold over constant row indices, not a loop: GCC keeps
// the accumulator array in registers only if every index is a constant when scalar replacement
// runs, and it does not always unroll a loop around a body this large in time.
template <int MR, int NR, int... R>
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE void store_rows_u8(
    const OutputStage& out, const __m512i (&acc)[MR][NR], const __m512 (&scale)[NR],
    std::uint8_t* c, __mmask64 store_mask, std::integer_sequence<int, R...>) {
  (store_row_u8<NR>(out, acc[R], scale, c + R * out.c_stride_bytes, store_mask), ...);
}

// The dot products of MR rows (from a, a_stride_bytes apart) with the NR slivers at wp, over
// all k, written to sums. Kept out of line on purpose: inlined into the output stage, GCC 12
// spilled all accumulators inside the loop (a third of the speed); alone, it keeps them in
// registers and the hand-over costs MR * NR stores and loads that stay in L1.
//
// The sums start from init[r * init_row_stride + 16 * j ...]: the folded bias (row stride 0) on
// the first slice of K, the partial sums of the previous slices after it.
template <int MR, int NR>
FROST_TARGET_AVX512VNNI __attribute__((noinline)) void accumulate(
    const std::uint8_t* a_base, std::int64_t a_stride_bytes, const std::int8_t* wp, std::int64_t k,
    const std::int32_t* init, std::int64_t init_row_stride, __m512i (&sums)[MR][NR]) {
  const std::int64_t full_groups = k / 4;
  const std::uint8_t* a[MR];
  for (int r = 0; r < MR; ++r) a[r] = a_base + r * a_stride_bytes;
  __m512i acc[MR][NR];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j)
      acc[r][j] = _mm512_loadu_si512(init + r * init_row_stride + 16 * j);
  std::int64_t g = 0;
  if constexpr (MR * NR <= 8) {
    // Too few accumulators to hide the vpdpbusd latency: a second set takes the odd groups.
    __m512i odd[MR][NR];
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j) odd[r][j] = _mm512_setzero_si512();
    for (; g + 2 <= full_groups; g += 2) {
      multiply_group<MR, NR>(acc, a, 4 * g, 4, wp);
      multiply_group<MR, NR>(odd, a, 4 * g + 4, 4, wp + NR * 64);
      wp += 2 * NR * 64;
    }
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      __asm__("" : "+r"(a[r]));  // as for the K tail below
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j) {
        FROST_PIN_TO_REGISTER(acc[r][j]);
        FROST_PIN_TO_REGISTER(odd[r][j]);
      }
    }
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j) acc[r][j] = _mm512_add_epi32(acc[r][j], odd[r][j]);
  }
  for (; g < full_groups; ++g, wp += NR * 64) {
    multiply_group<MR, NR>(acc, a, 4 * g, 4, wp);
  }
  if (k % 4 != 0) {
    // Opaque row pointers: otherwise partial redundancy elimination (-O3) matches the tail's
    // activation loads with the loop's, carries broadcasts across iterations and spills
    // accumulators (a third of the speed).
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      __asm__("" : "+r"(a[r]));
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j) FROST_PIN_TO_REGISTER(acc[r][j]);
    }
    multiply_group<MR, NR>(acc, a, 4 * full_groups, k % 4, wp);
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) sums[r][j] = acc[r][j];
}

// Slices of K per pass over a block. A row tile reads the block's packed weights (64 columns x
// K bytes) once; beyond L1 they would come from L2 again for every row tile, so longer K runs
// in slices of kSliceK (32 KiB of weights), each over all row tiles, with partial sums kept in
// between. Measured on 1024^3 (Sapphire Rapids, 48 KiB L1): slices of 512 beat 256 (more
// partial-sum traffic) and no slicing, by 3-5 %.
inline constexpr std::int64_t kMaxUnslicedK = 640;
inline constexpr std::int64_t kSliceK = 512;

// Partial sums of the row tiles of one call between K slices (16 * NR int32 per row).
inline std::int32_t* partial_sums(std::int64_t rows) {
  thread_local detail::AlignedBuffer<std::int32_t> buffer;
  const auto needed = static_cast<std::size_t>(rows * 64);
  if (buffer.size() < needed) buffer = detail::AlignedBuffer<std::int32_t>(needed);
  return buffer.data();
}

// MR rows starting at m, times k in [k0, k0 + k_len) of block b (NR slivers). The sums start
// from the bias (first slice) or from `partial` (row stride 16 * NR); the last slice
// requantizes and stores them, the others store them back to `partial`.
template <int MR, int NR>
FROST_TARGET_AVX512VNNI inline void tile(const GemmTileArgs& args, const OutputStage& out,
                                         std::int64_t m, std::int64_t b, std::int64_t k0,
                                         std::int64_t k_len, std::int32_t* partial) {
  const PackedWeights& w = *args.weights;
  const std::int64_t n0 = w.block_first_column(b);
  const std::int64_t valid = std::min<std::int64_t>(16 * NR, w.n() - n0);
  const bool first = k0 == 0, last = k0 + k_len >= w.k();
  const std::uint8_t* a = args.a + m * args.a_stride_bytes + k0;
  const std::int8_t* wp = w.weights<std::int8_t>() + w.block_offset(b) + k0 * NR * 16;
  const std::int32_t* init = first ? w.bias() + n0 : partial;
  if (!last) {
    // The partial sums of a row are NR vectors in a row: the layout of __m512i[MR][NR].
    accumulate<MR, NR>(a, args.a_stride_bytes, wp, k_len, init, first ? 0 : 16 * NR,
                       *reinterpret_cast<__m512i(*)[MR][NR]>(partial));
    return;
  }
  __m512i acc[MR][NR];
  accumulate<MR, NR>(a, args.a_stride_bytes, wp, k_len, init, first ? 0 : 16 * NR, acc);

  if (out.c == nullptr) {
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) {
      const std::int64_t lanes = std::min<std::int64_t>(16, valid - 16 * j);
      const __mmask16 mask = lanes >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << lanes) - 1u);
#pragma GCC unroll 12
      for (int r = 0; r < MR; ++r)
        _mm512_mask_storeu_epi32(out.c32 + (m + r) * out.c32_stride + n0 + 16 * j, mask, acc[r][j]);
    }
    return;
  }
  // Per-channel scales of the block, zero-padded past N. Constant indices only (see
  // store_rows_u8); variants with masked loads here also made GCC spill the accumulators.
  alignas(64) float padded_scales[16 * NR] = {};
  const float* column_scales = out.scales + n0;
  if (out.per_channel_scales && valid < 16 * NR) {
    std::memcpy(padded_scales, column_scales, static_cast<std::size_t>(valid) * sizeof(float));
    column_scales = padded_scales;
  }
  __m512 scale[NR];
#pragma GCC unroll 4
  for (int j = 0; j < NR; ++j)
    scale[j] = out.per_channel_scales ? _mm512_loadu_ps(column_scales + 16 * j)
                                      : _mm512_set1_ps(out.scales[0]);
  const __mmask64 store_mask = valid >= 64 ? ~__mmask64(0) : (__mmask64(1) << valid) - 1;
  store_rows_u8<MR, NR>(out, acc, scale, out.c + m * out.c_stride_bytes + n0, store_mask,
                        std::make_integer_sequence<int, MR>());
}

// The last rows < kMaxRows<NR>: one instantiation per count.
template <int NR, int R = 1>
FROST_TARGET_AVX512VNNI inline void tail_rows(const GemmTileArgs& args, const OutputStage& out,
                                              std::int64_t m, int rows, std::int64_t b,
                                              std::int64_t k0, std::int64_t k_len,
                                              std::int32_t* partial) {
  if constexpr (R < kMaxRows<NR>) {
    if (rows == R) return tile<R, NR>(args, out, m, b, k0, k_len, partial);
    tail_rows<NR, R + 1>(args, out, m, rows, b, k0, k_len, partial);
  }
}

template <int NR>
FROST_TARGET_AVX512VNNI inline void block_rows(const GemmTileArgs& args, const OutputStage& out,
                                               std::int64_t m_begin, std::int64_t m_end,
                                               std::int64_t b) {
  constexpr int kRows = kMaxRows<NR>;
  const std::int64_t k = args.weights->k();
  const std::int64_t slice = k <= kMaxUnslicedK ? k : kSliceK;
  std::int32_t* partial = k <= kMaxUnslicedK ? nullptr : partial_sums(m_end - m_begin);
  for (std::int64_t k0 = 0; k0 < k; k0 += slice) {
    const std::int64_t k_len = std::min(slice, k - k0);
    std::int64_t m = m_begin;
    for (; m + kRows <= m_end; m += kRows)
      tile<kRows, NR>(args, out, m, b, k0, k_len,
                      partial == nullptr ? nullptr : partial + (m - m_begin) * 16 * NR);
    if (m < m_end)
      tail_rows<NR>(args, out, m, static_cast<int>(m_end - m), b, k0, k_len,
                    partial == nullptr ? nullptr : partial + (m - m_begin) * 16 * NR);
  }
}

// Rows per pass over the column blocks: their activations (rows x K bytes) stay in L2 while
// every block's weights stream past once, instead of the whole activation matrix coming back
// from L3 for every block once activations and weights together outgrow L2 (1024^3: -8 %
// without it). A multiple of every register-tile height, so passes add no row tails.
inline std::int64_t rows_per_pass(std::int64_t k) {
  constexpr std::int64_t kActivationBytes = 256 * 1024, kRowQuantum = 24;
  return std::max<std::int64_t>(1, kActivationBytes / (k * kRowQuantum)) * kRowQuantum;
}

inline void run(const GemmTileArgs& args, std::int64_t m_begin, std::int64_t m_end,
                std::int64_t block_begin, std::int64_t block_end) {
  const OutputStage out = output_stage(args);
  const std::int64_t pass_rows = rows_per_pass(args.weights->k());
  for (std::int64_t m0 = m_begin; m0 < m_end; m0 += pass_rows) {
    const std::int64_t m1 = std::min(m_end, m0 + pass_rows);
    for (std::int64_t b = block_begin; b < block_end; ++b) {
      switch (args.weights->block_slivers(b)) {
        case 4:
          block_rows<4>(args, out, m0, m1, b);
          break;
        case 3:
          block_rows<3>(args, out, m0, m1, b);
          break;
        case 2:
          block_rows<2>(args, out, m0, m1, b);
          break;
        default:
          block_rows<1>(args, out, m0, m1, b);
          break;
      }
    }
  }
}

inline constexpr GemmKernel kKernel{"qu8_gemm_minmax_fp32_6x64c4__avx512vnni", Isa::avx512vnni,
                                    kLayout, 6, &run};

}  // namespace frost::kernels::gemm_avx512vnni
#endif  // FROST_ARCH_X86_64
