#pragma once
// AVX2 depthwise convolution: 8 channels per ymm, one int32 lane per channel.
//
// vpmaddwd multiplies two s16 pairs and adds them into an int32 lane, exactly (u8 inputs and s8
// weights widened to s16: 2 * 255 * 128 < 2^31; vpmaddubsw would saturate, see DESIGN.md §3).
// Each input row of a channel tile is first rewritten once as "pairs": p[j] lane c = x[j] | x[j+1]
// << 16 of channel c in the zero-point-padded row, so a filter row of width kw costs ceil(kw / 2)
// vpmaddwd per output pixel against weights packed as (w[k], w[k+1]) pairs; at stride 2 only the
// even pairs are ever read, and only they are built. Pair rows live in a ring of kernel_height
// slots per tile, filled row by row for all tiles as in the AVX-512 path. The general path (any
// kernel, stride, dilation) multiplies one tap at a time with (x, 0) . (w, sign) pairs.

#include "frost/config.hpp"

#if FROST_ARCH_X86_64

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "frost/kernels/detail/aligned_buffer.hpp"
#include "frost/kernels/detail/target.hpp"
#include "frost/kernels/dwconv/packing.hpp"
#include "frost/kernels/dwconv/row_ring.hpp"
#include "frost/kernels/dwconv/scratch.hpp"

namespace frost::kernels::dwconv {
namespace avx2_detail {

constexpr int kTile = kDwconvPairTile;

struct Requantizer {
  __m256 scale, lo, hi;
  __m256i zero_point;
};

FROST_TARGET_AVX2 FROST_ALWAYS_INLINE Requantizer make_requantizer(const PackedDwconvWeights& w,
                                                                   std::int64_t channel) {
  const OutputQuantization& o = w.output;
  return {_mm256_loadu_ps(w.scales.data() + channel),
          _mm256_set1_ps(static_cast<float>(std::int32_t{o.output_min} - o.zero_point)),
          _mm256_set1_ps(static_cast<float>(std::int32_t{o.output_max} - o.zero_point)),
          _mm256_set1_epi32(o.zero_point)};
}

// requantize() of kernels/requantize.hpp on 8 lanes, packed to 8 bytes in the low half.
FROST_TARGET_AVX2 FROST_ALWAYS_INLINE __m128i requantize8(__m256i acc, const Requantizer& r) {
  __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), r.scale);
  y = _mm256_min_ps(_mm256_max_ps(y, r.lo), r.hi);
  const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(y), r.zero_point);
  const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  return _mm_packus_epi16(words, words);
}

FROST_TARGET_AVX2 FROST_ALWAYS_INLINE void store8(std::uint8_t* out, __m128i v,
                                                  std::int64_t lanes) {
  if (lanes == kTile) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), v);
  } else {
    alignas(16) std::uint8_t bytes[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(bytes), v);
    std::memcpy(out, bytes, static_cast<std::size_t>(lanes));
  }
}

// 8 channels of one pixel, zero-extended to int32 lanes; lanes past `lanes` read as 0 (never
// past the tensor's end).
FROST_TARGET_AVX2 FROST_ALWAYS_INLINE __m256i load_u8_as_i32(const std::uint8_t* p,
                                                             std::int64_t lanes) {
  if (lanes == kTile)
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  std::uint64_t bytes = 0;
  std::memcpy(&bytes, p, static_cast<std::size_t>(lanes));
  return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(bytes)));
}

// Padded pixel j of an input row's channel tile as int32 lanes (the zero point in the padding).
FROST_TARGET_AVX2 FROST_ALWAYS_INLINE __m256i padded_pixel(const std::uint8_t* row, std::int64_t j,
                                                           const DwconvGeometry& g, __m256i zp,
                                                           std::int64_t lanes) {
  const auto ix = static_cast<std::uint64_t>(j - g.padding_left);
  if (ix >= static_cast<std::uint64_t>(g.input_width)) return zp;
  return load_u8_as_i32(row + static_cast<std::int64_t>(ix) * g.channels, lanes);
}

template <int SW>
constexpr std::int64_t pair_count(std::int64_t padded_width) {
  return SW == 1 ? padded_width : (padded_width + 1) / 2;
}

// Pair item i of a row: p[SW * i] = x[SW * i] | x[SW * i + 1] << 16. No recurrence: each item
// reads its two pixels.
template <int SW>
FROST_TARGET_AVX2 inline void build_pair_row(const std::uint8_t* row, const DwconvGeometry& g,
                                             std::int32_t zero_point, std::int64_t lanes,
                                             __m256i* p) {
  const __m256i zp = _mm256_set1_epi32(zero_point);
  const std::int64_t count = pair_count<SW>(g.padded_width());
  const std::int64_t pl = g.padding_left, W = g.input_width, C = g.channels;
  // Items whose two pixels are inside the row.
  const std::int64_t inner_begin = std::min(count, (pl + SW - 1) / SW);
  const std::int64_t inner_end = std::max(inner_begin, std::min(count, (pl + W - 2) / SW + 1));
  std::int64_t i = 0;
  for (; i < inner_begin; ++i)
    p[i] = _mm256_or_si256(padded_pixel(row, SW * i, g, zp, lanes),
                           _mm256_slli_epi32(padded_pixel(row, SW * i + 1, g, zp, lanes), 16));
  if (i < inner_end) {
    const std::uint8_t* x = row + (SW * i - pl) * C;
    if (lanes == kTile) {
      for (; i < inner_end; ++i, x += SW * C)
        _mm256_store_si256(p + i,
                           _mm256_or_si256(load_u8_as_i32(x, kTile),
                                           _mm256_slli_epi32(load_u8_as_i32(x + C, kTile), 16)));
    } else {
      for (; i < inner_end; ++i, x += SW * C)
        _mm256_store_si256(p + i,
                           _mm256_or_si256(load_u8_as_i32(x, lanes),
                                           _mm256_slli_epi32(load_u8_as_i32(x + C, lanes), 16)));
    }
  }
  for (; i < count; ++i)
    p[i] = _mm256_or_si256(padded_pixel(row, SW * i, g, zp, lanes),
                           _mm256_slli_epi32(padded_pixel(row, SW * i + 1, g, zp, lanes), 16));
}

template <int KH, int G, int SW, int kBlock>
FROST_TARGET_AVX2 FROST_ALWAYS_INLINE void pair_block(__m256i* const* rows, std::int64_t ox,
                                                      const __m256i* weights, __m256i bias,
                                                      const Requantizer& rq, std::uint8_t* out,
                                                      std::int64_t pixel_stride,
                                                      std::int64_t lanes) {
  // Output pixel ox starts at pair item ox in both layouts (stride 2 rows hold only the even
  // pairs), so the next pair of taps is 1 item on there, 2 at stride 1.
  constexpr int kGroupStep = SW == 1 ? 2 : 1;
  static_assert(SW == 1 || SW == 2, "pair rows exist for strides 1 and 2");
  __m256i acc[kBlock];
  for (int i = 0; i < kBlock; ++i) acc[i] = bias;
  for (int r = 0; r < KH; ++r)
    for (int g = 0; g < G; ++g) {
      const __m256i wv = _mm256_load_si256(weights + r * G + g);
      for (int i = 0; i < kBlock; ++i)
        acc[i] = _mm256_add_epi32(
            acc[i], _mm256_madd_epi16(_mm256_load_si256(rows[r] + ox + i + kGroupStep * g), wv));
    }
  for (int i = 0; i < kBlock; ++i) store8(out + i * pixel_stride, requantize8(acc[i], rq), lanes);
}

}  // namespace avx2_detail

// KH x KW filter at stride SH x SW, dilation 1; output rows [row_begin, row_end) of the flattened
// (batch, output_height) index. Row by row, all tiles together; see dwconv_quads_avx512vnni.
template <int KH, int KW, int SH, int SW>
FROST_TARGET_AVX2 inline void dwconv_pairs_avx2(const DwconvGeometry& g,
                                                const PackedDwconvWeights& w,
                                                const std::uint8_t* input, std::uint8_t* output,
                                                std::int64_t row_begin, std::int64_t row_end) {
  using namespace avx2_detail;
  constexpr int G = (KW + 1) / 2;
  constexpr int kBlock = 4;
  const std::int64_t ow = g.output_width(), C = g.channels;
  const std::int64_t tiles = (C + kTile - 1) / kTile;
  const std::int32_t zp = w.input_zero_point;

  // Scratch: KH pair rows per tile and one padding row.
  const std::int64_t pair_row_vectors = pair_count<SW>(g.padded_width());
  auto* pair_rows = reinterpret_cast<__m256i*>(
      thread_scratch(static_cast<std::size_t>((tiles * KH + 1) * pair_row_vectors * 32)));
  __m256i* padding_row = pair_rows + tiles * KH * pair_row_vectors;
  const __m256i padding_pair = _mm256_set1_epi32(zp * 0x00010001);
  for (std::int64_t j = 0; j < pair_row_vectors; ++j)
    _mm256_store_si256(padding_row + j, padding_pair);
  InputRowRing<KH, SH> ring;
  for (std::int64_t row = row_begin; row < row_end; ++row) {
    std::int64_t slots[KH];  // slot of each filter row, -1 for padding
    ring.rows_for(g, input, row, slots, [&](const std::uint8_t* in_row, std::int64_t s) {
      for (std::int64_t t = 0; t < tiles; ++t) {
        const std::int64_t lanes = std::min<std::int64_t>(kTile, C - t * kTile);
        build_pair_row<SW>(in_row + t * kTile, g, zp, lanes,
                           pair_rows + (t * KH + s) * pair_row_vectors);
      }
    });

    for (std::int64_t tile = 0; tile < tiles; ++tile) {
      const std::int64_t c0 = tile * kTile;
      const std::int64_t lanes = std::min<std::int64_t>(kTile, C - c0);
      const auto* weights =
          reinterpret_cast<const __m256i*>(w.pairs.data() + tile * KH * G * 2 * kTile);
      const __m256i bias = _mm256_load_si256(reinterpret_cast<const __m256i*>(w.bias.data() + c0));
      const Requantizer rq = make_requantizer(w, c0);
      __m256i* rows[KH];
      for (int r = 0; r < KH; ++r)
        rows[r] =
            slots[r] < 0 ? padding_row : pair_rows + (tile * KH + slots[r]) * pair_row_vectors;
      std::uint8_t* out = output + row * ow * C + c0;
      std::int64_t ox = 0;
      for (; ox + kBlock <= ow; ox += kBlock)
        pair_block<KH, G, SW, kBlock>(rows, ox, weights, bias, rq, out + ox * C, C, lanes);
      for (; ox < ow; ++ox)
        pair_block<KH, G, SW, 1>(rows, ox, weights, bias, rq, out + ox * C, C, lanes);
    }
  }
}

// Any kernel size, stride and dilation: one tap at a time, (x, 0) . (w, sign) with vpmaddwd.
FROST_TARGET_AVX2 inline void dwconv_general_avx2(const DwconvGeometry& g,
                                                  const PackedDwconvWeights& w,
                                                  const std::uint8_t* input, std::uint8_t* output,
                                                  std::int64_t row_begin, std::int64_t row_end) {
  using namespace avx2_detail;
  const std::int64_t oh = g.output_height(), ow = g.output_width(), C = g.channels;
  const std::int64_t taps = g.taps();
  detail::AlignedBuffer<std::int32_t> tap_weights(static_cast<std::size_t>(taps * kTile));
  auto* wv = reinterpret_cast<__m256i*>(tap_weights.data());
  const __m256i zp = _mm256_set1_epi32(w.input_zero_point);

  for (std::int64_t c0 = 0; c0 < C; c0 += kTile) {
    const std::int64_t lanes = C - c0 < kTile ? C - c0 : kTile;
    for (std::int64_t t = 0; t < taps; ++t)
      wv[t] = _mm256_cvtepi8_epi32(_mm_loadl_epi64(
          reinterpret_cast<const __m128i*>(w.taps.data() + t * w.padded_channels + c0)));
    const __m256i bias = _mm256_load_si256(reinterpret_cast<const __m256i*>(w.bias.data() + c0));
    const Requantizer rq = make_requantizer(w, c0);

    for (std::int64_t row = row_begin; row < row_end; ++row) {
      const std::int64_t n = row / oh, oy = row % oh;
      for (std::int64_t ox = 0; ox < ow; ++ox) {
        __m256i acc = bias;
        for (int ky = 0; ky < g.kernel_height; ++ky) {
          const std::int64_t iy =
              oy * g.stride_height - g.padding_top + std::int64_t{ky} * g.dilation_height;
          const bool row_inside = iy >= 0 && iy < g.input_height;
          const std::uint8_t* in_row =
              row_inside ? input + ((n * g.input_height + iy) * g.input_width) * C + c0 : input;
          for (int kx = 0; kx < g.kernel_width; ++kx) {
            const std::int64_t ix =
                ox * g.stride_width - g.padding_left + std::int64_t{kx} * g.dilation_width;
            const __m256i x = row_inside && ix >= 0 && ix < g.input_width
                                  ? load_u8_as_i32(in_row + ix * C, lanes)
                                  : zp;
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, wv[ky * g.kernel_width + kx]));
          }
        }
        store8(output + (row * ow + ox) * C + c0, requantize8(acc, rq), lanes);
      }
    }
  }
}

}  // namespace frost::kernels::dwconv

#endif  // FROST_ARCH_X86_64
