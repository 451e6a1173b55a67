#pragma once
// AVX-512 VNNI depthwise convolution: 16 channels per zmm, one int32 lane per channel.
//
// vpdpbusd multiplies 4 adjacent u8 by 4 s8 and adds them to an int32 lane, exactly (4 * 255 * 128
// fits easily; the non-saturating form is used). For a depthwise filter the 4 bytes of a lane are
// 4 horizontally adjacent taps of one channel, so each input row of a channel tile is first
// rewritten once as "quads": q[j] lane c = bytes x[j], x[j+1], x[j+2], x[j+3] of channel c in the
// zero-point-padded row. A 3-wide filter row is then one vpdpbusd per output pixel
// (weights w0 w1 w2 0), a 5-wide one two; at stride 2 only the even quads are built.
//
// Work goes output row by output row, all channel tiles together, so the NHWC input is streamed
// once and each input row is turned into quads (for every tile, while the row sits in L1) when
// an output row first needs it. Quad rows live in a ring of kernel_height slots per tile. Per
// output vector that is about 3 operations of quad building per input pixel read, kh * ceil(kw/4)
// vpdpbusd and 6 for requantization (4 pixels share the packing).
//
// The general path (any kernel, stride, dilation) multiplies one tap at a time with vpdpwssd on
// zero-extended inputs. All paths requantize exactly as kernels/requantize.hpp.

#include "frost/config.hpp"

#if FROST_ARCH_X86_64

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "frost/kernels/detail/aligned_buffer.hpp"
#include "frost/kernels/detail/target.hpp"
#include "frost/kernels/dwconv/packing.hpp"
#include "frost/kernels/dwconv/row_ring.hpp"
#include "frost/kernels/dwconv/scratch.hpp"

// GCC 12's AVX-512 intrinsics read a deliberately undefined register (_mm512_undefined_*), which
// -Wmaybe-uninitialized reports at every inlined use (GCC bug 105593, fixed in 12.3).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace frost::kernels::dwconv {
namespace avx512vnni_detail {

constexpr int kTile = kDwconvQuadTile;

struct Requantizer {
  __m512 scale, lo, hi;
  __m512i zero_point;
  __m512i zero_point16;  // as int16 lanes
  __m512i output_min8;   // as u8 lanes
};

FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE Requantizer
make_requantizer(const PackedDwconvWeights& w, std::int64_t channel) {
  const OutputQuantization& o = w.output;
  return {_mm512_loadu_ps(w.scales.data() + channel),
          _mm512_set1_ps(static_cast<float>(std::int32_t{o.output_min} - o.zero_point)),
          _mm512_set1_ps(static_cast<float>(std::int32_t{o.output_max} - o.zero_point)),
          _mm512_set1_epi32(o.zero_point),
          _mm512_set1_epi16(static_cast<std::int16_t>(o.zero_point)),
          _mm512_set1_epi8(static_cast<char>(o.output_min))};
}

// requantize() of kernels/requantize.hpp on 16 lanes: the same IEEE multiply, clamp and
// round-to-nearest-even conversion.
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE __m128i requantize16(__m512i acc,
                                                                 const Requantizer& r) {
  __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), r.scale);
  y = _mm512_min_ps(_mm512_max_ps(y, r.lo), r.hi);
  return _mm512_cvtusepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(y), r.zero_point));
}

FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE void store16(std::uint8_t* out, __m128i v,
                                                         __mmask16 mask) {
  if (mask == 0xFFFF)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), v);
  else
    _mm_mask_storeu_epi8(out, mask, v);
}

// requantize() for 4 pixels of 16 channels at once, stored at out + i * pixel_stride. Only the
// upper clamp runs in float (it also keeps the conversion in int32 range: a value below -2^31
// converts to INT_MIN, which the saturating packs below keep negative); the lower one runs on
// the packed bytes. Clamping commutes with rounding as the bounds are integers, so this equals
// requantize16 lane for lane, at about 6 instead of 8 operations per vector.
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE __m512i round_below_max(__m512i acc,
                                                                    const Requantizer& r) {
  return _mm512_cvtps_epi32(_mm512_min_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), r.scale), r.hi));
}

FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE void requantize_store4(__m512i a, __m512i b, __m512i c,
                                                                   __m512i d, const Requantizer& r,
                                                                   std::uint8_t* out,
                                                                   std::int64_t pixel_stride,
                                                                   __mmask16 mask) {
  // Packs work per 128-bit lane: lane L ends up with channels 4L..4L+3 of a, b, c, d in turn.
  const __m512i ab = _mm512_adds_epi16(
      _mm512_packs_epi32(round_below_max(a, r), round_below_max(b, r)), r.zero_point16);
  const __m512i cd = _mm512_adds_epi16(
      _mm512_packs_epi32(round_below_max(c, r), round_below_max(d, r)), r.zero_point16);
  __m512i bytes = _mm512_max_epu8(_mm512_packus_epi16(ab, cd), r.output_min8);
  bytes = _mm512_permutexvar_epi32(
      _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), bytes);
  store16(out, _mm512_castsi512_si128(bytes), mask);
  store16(out + pixel_stride, _mm512_extracti32x4_epi32(bytes, 1), mask);
  store16(out + 2 * pixel_stride, _mm512_extracti32x4_epi32(bytes, 2), mask);
  store16(out + 3 * pixel_stride, _mm512_extracti32x4_epi32(bytes, 3), mask);
}

// 16 channels of one pixel, zero-extended to int32 lanes; masked-off lanes read as 0.
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE __m512i load_u8_as_i32(const std::uint8_t* p,
                                                                   __mmask16 mask) {
  if (mask == 0xFFFF)
    return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, p));
}

// Padded pixel j of an input row's channel tile, zero-extended to int32 lanes: the zero point
// in the padding, 0 in channels past the last (kFull: the tile has all 16 channels).
template <bool kFull>
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE __m512i padded_pixel(const std::uint8_t* row,
                                                                 std::int64_t j,
                                                                 const DwconvGeometry& g,
                                                                 __m512i zp, __mmask16 mask) {
  const auto ix = static_cast<std::uint64_t>(j - g.padding_left);
  if (ix >= static_cast<std::uint64_t>(g.input_width)) return zp;
  return load_u8_as_i32(row + static_cast<std::int64_t>(ix) * g.channels,
                        kFull ? __mmask16{0xFFFF} : mask);
}

// Quads of one input row of a channel tile, read straight from the NHWC input.
//   stride 1: q[j] for every padded column j: byte k of q[j] is x[j + k]; built right to left
//             as q[j] = (q[j + 1] << 8) | x[j].
//   stride 2: only the even ones are ever read, stored compactly: e[i] = q[2i], built as
//             e[i] = x[2i] | x[2i + 1] << 8 | e[i + 1] << 16.
// Either recurrence is a chain of dependent operations (2 cycles a step), so the row may be cut
// into segments whose chains run interleaved, each seeded from the pixels after it.
template <int SW>
constexpr std::int64_t quad_count(std::int64_t padded_width) {
  return SW == 1 ? padded_width : (padded_width + 1) / 2;
}

template <int SW, bool kFull>
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE __m512i quad_seed(const std::uint8_t* row,
                                                              std::int64_t i,
                                                              const DwconvGeometry& g, __m512i zp,
                                                              __mmask16 mask) {
  if constexpr (SW == 1)
    return _mm512_ternarylogic_epi32(
        padded_pixel<kFull>(row, i, g, zp, mask),
        _mm512_slli_epi32(padded_pixel<kFull>(row, i + 1, g, zp, mask), 8),
        _mm512_slli_epi32(padded_pixel<kFull>(row, i + 2, g, zp, mask), 16), 0xFE);
  else
    return _mm512_or_si512(padded_pixel<kFull>(row, 2 * i, g, zp, mask),
                           _mm512_slli_epi32(padded_pixel<kFull>(row, 2 * i + 1, g, zp, mask), 8));
}

template <int SW, bool kFull>
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE __m512i quad_step(__m512i next, const std::uint8_t* row,
                                                              std::int64_t i,
                                                              const DwconvGeometry& g, __m512i zp,
                                                              __mmask16 mask) {
  if constexpr (SW == 1)
    return _mm512_or_si512(_mm512_slli_epi32(next, 8), padded_pixel<kFull>(row, i, g, zp, mask));
  else
    return _mm512_ternarylogic_epi32(
        padded_pixel<kFull>(row, 2 * i, g, zp, mask),
        _mm512_slli_epi32(padded_pixel<kFull>(row, 2 * i + 1, g, zp, mask), 8),
        _mm512_slli_epi32(next, 16), 0xFE);
}

// The same step on an item whose pixels are all inside the row: no checks; `pixel` points at
// x[SW * i] of the item.
template <int SW, bool kFull>
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE __m512i inner_quad_step(__m512i next,
                                                                    const std::uint8_t* pixel,
                                                                    std::int64_t pixel_stride,
                                                                    __mmask16 mask) {
  const __mmask16 m = kFull ? __mmask16{0xFFFF} : mask;
  if constexpr (SW == 1) {
    return _mm512_or_si512(_mm512_slli_epi32(next, 8), load_u8_as_i32(pixel, m));
  } else if constexpr (kFull) {
    // x[2i + 1] << 8 in one shuffle of a broadcast load (which needs no shuffle port): lane L of
    // the broadcast holds all 16 channels, the control picks channel 4L + k into byte 1 of
    // dword k and zeroes the rest.
    const __m512i to_byte1 =
        _mm512_setr_epi32(0x80800080, 0x80800180, 0x80800280, 0x80800380, 0x80800480, 0x80800580,
                          0x80800680, 0x80800780, 0x80800880, 0x80800980, 0x80800A80, 0x80800B80,
                          0x80800C80, 0x80800D80, 0x80800E80, 0x80800F80);
    const __m512i odd = _mm512_shuffle_epi8(
        _mm512_broadcast_i32x4(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(pixel + pixel_stride))),
        to_byte1);
    return _mm512_ternarylogic_epi32(load_u8_as_i32(pixel, m), odd, _mm512_slli_epi32(next, 16),
                                     0xFE);
  } else {
    return _mm512_ternarylogic_epi32(load_u8_as_i32(pixel, m),
                                     _mm512_slli_epi32(load_u8_as_i32(pixel + pixel_stride, m), 8),
                                     _mm512_slli_epi32(next, 16), 0xFE);
  }
}

// Steps i in [i_begin, i_end) of the first kActive of kChains chains; chain k's item at step i is
// end[k] - 1 - i. kChecked: some item may touch the padding. Geometry values are copied to
// locals: the quad stores could alias `g` as far as the compiler knows.
template <int SW, bool kFull, bool kChecked, int kChains, int kActive>
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE void run_chains(
    __m512i (&chain)[kChains], const std::int64_t (&end)[kChains], std::int64_t i_begin,
    std::int64_t i_end, const std::uint8_t* row, const DwconvGeometry& g, __m512i zp,
    __mmask16 mask, __m512i* q) {
  if (i_begin >= i_end) return;
  if constexpr (kChecked) {
    for (std::int64_t i = i_begin; i < i_end; ++i)
      for (int k = 0; k < kActive; ++k) {
        const std::int64_t item = end[k] - 1 - i;
        chain[k] = quad_step<SW, kFull>(chain[k], row, item, g, zp, mask);
        _mm512_store_si512(q + item, chain[k]);
      }
  } else {
    const std::int64_t pixel_stride = g.channels;
    const std::uint8_t* row_origin = row - g.padding_left * pixel_stride;  // padded column 0
    const std::uint8_t* pixel[kActive];
    __m512i* out[kActive];
    for (int k = 0; k < kActive; ++k) {
      const std::int64_t item = end[k] - 1 - i_begin;
      pixel[k] = row_origin + SW * item * pixel_stride;
      out[k] = q + item;
    }
    for (std::int64_t i = i_begin; i < i_end; ++i)
      for (int k = 0; k < kActive; ++k) {
        chain[k] = inner_quad_step<SW, kFull>(chain[k], pixel[k], pixel_stride, mask);
        _mm512_store_si512(out[k], chain[k]);
        pixel[k] -= SW * pixel_stride;
        out[k] -= 1;
      }
  }
}

// Steps [i_begin, i_end) of the first kActive chains, unchecked where every item is inside the
// row: items [inner_begin, inner_end).
template <int SW, bool kFull, int kChains, int kActive>
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE void run_chains_split(
    __m512i (&chain)[kChains], const std::int64_t (&end)[kChains], std::int64_t i_begin,
    std::int64_t i_end, std::int64_t inner_begin, std::int64_t inner_end, const std::uint8_t* row,
    const DwconvGeometry& g, __m512i zp, __mmask16 mask, __m512i* q) {
  // All items of step i are inner iff end[kActive-1] - 1 - i < inner_end and end[0] - 1 - i >=
  // inner_begin.
  std::int64_t fast_begin = std::max(i_begin, end[kActive - 1] - inner_end);
  std::int64_t fast_end = std::min(i_end, end[0] - inner_begin);
  if (fast_begin >= fast_end) fast_begin = fast_end = i_end;
  run_chains<SW, kFull, true, kChains, kActive>(chain, end, i_begin, fast_begin, row, g, zp, mask,
                                                q);
  run_chains<SW, kFull, false, kChains, kActive>(chain, end, fast_begin, fast_end, row, g, zp, mask,
                                                 q);
  run_chains<SW, kFull, true, kChains, kActive>(chain, end, fast_end, i_end, row, g, zp, mask, q);
}

template <int SW, bool kFull, int kChains>
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE void build_quad_row(
    const std::uint8_t* row, const DwconvGeometry& g, __m512i zp, __mmask16 mask,
    std::int64_t count, std::int64_t inner_begin, std::int64_t inner_end, __m512i* q) {
  if (count < 8 * kChains) {
    __m512i chain = quad_seed<SW, kFull>(row, count, g, zp, mask);
    for (std::int64_t i = count - 1; i >= 0; --i) {
      chain = quad_step<SW, kFull>(chain, row, i, g, zp, mask);
      _mm512_store_si512(q + i, chain);
    }
    return;
  }
  const std::int64_t segment = (count + kChains - 1) / kChains;
  std::int64_t end[kChains];
  __m512i chain[kChains];
  for (int k = 0; k < kChains; ++k) {
    end[k] = k + 1 < kChains ? (k + 1) * segment : count;
    chain[k] = quad_seed<SW, kFull>(row, end[k], g, zp, mask);
  }
  const std::int64_t last = count - (kChains - 1) * segment;  // >= 1 as count >= 8 * kChains
  run_chains_split<SW, kFull, kChains, kChains>(chain, end, 0, last, inner_begin, inner_end, row, g,
                                                zp, mask, q);
  if constexpr (kChains > 1)
    run_chains_split<SW, kFull, kChains, kChains - 1>(chain, end, last, segment, inner_begin,
                                                      inner_end, row, g, zp, mask, q);
}

// Quad rows of input row `in_row` for channel tiles [tile_begin, tile_end): tile t's at
// q + (t - tile_begin) * tile_stride. A step costs 3 operations at stride 1 (2 chains keep both
// vector ports busy past the 2-cycle latency) and 5 at stride 2 (one chain suffices).
template <int SW>
FROST_TARGET_AVX512VNNI inline void build_quad_rows(
    const std::uint8_t* in_row, const DwconvGeometry& g, std::int32_t zero_point, __m512i* q,
    std::int64_t tile_stride, std::int64_t tile_begin, std::int64_t tile_end) {
  constexpr int kChains = SW == 1 ? 2 : 1;
  const __m512i zp = _mm512_set1_epi32(zero_point);
  const std::int64_t count = quad_count<SW>(g.padded_width());
  // Items whose pixels (columns SW * i .. SW * i + SW - 1) are all inside the row.
  const std::int64_t pl = g.padding_left, W = g.input_width;
  const std::int64_t inner_begin = (pl + SW - 1) / SW;
  const std::int64_t inner_end = std::max<std::int64_t>(inner_begin, (pl + W - SW) / SW + 1);
  const std::int64_t full_tiles = std::min(tile_end, g.channels / kTile);
  for (std::int64_t t = tile_begin; t < full_tiles; ++t)
    build_quad_row<SW, true, kChains>(in_row + t * kTile, g, zp, 0xFFFF, count, inner_begin,
                                      inner_end, q + (t - tile_begin) * tile_stride);
  if (full_tiles < tile_end)
    build_quad_row<SW, false, kChains>(in_row + full_tiles * kTile, g, zp,
                                       static_cast<__mmask16>((1u << (g.channels % kTile)) - 1u),
                                       count, inner_begin, inner_end,
                                       q + (full_tiles - tile_begin) * tile_stride);
}

// kBlock output pixels of one row and one channel tile, accumulators in registers.
template <int KH, int G, int SW, int kBlock>
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE void quad_block(
    __m512i* const* rows, std::int64_t ox, const __m512i (&weights)[KH][G], __m512i bias,
    const Requantizer& rq, std::uint8_t* out, std::int64_t pixel_stride, __mmask16 mask) {
  // Output pixel ox starts at quad ox in both layouts: stride 2 rows hold only the even quads
  // (see build_quad_row), so the next group of 4 taps is 2 entries on there, 4 at stride 1.
  constexpr int kGroupStep = SW == 1 ? 4 : 2;
  static_assert(SW == 1 || SW == 2, "quad rows exist for strides 1 and 2");
  __m512i acc[kBlock];
  for (int i = 0; i < kBlock; ++i) acc[i] = bias;
  for (int r = 0; r < KH; ++r)
    for (int g = 0; g < G; ++g)
      for (int i = 0; i < kBlock; ++i)
        acc[i] = _mm512_dpbusd_epi32(acc[i], _mm512_load_si512(rows[r] + ox + i + kGroupStep * g),
                                     weights[r][g]);
  if constexpr (kBlock % 4 == 0) {
    for (int i = 0; i < kBlock; i += 4)
      requantize_store4(acc[i], acc[i + 1], acc[i + 2], acc[i + 3], rq, out + i * pixel_stride,
                        pixel_stride, mask);
  } else {
    for (int i = 0; i < kBlock; ++i)
      store16(out + i * pixel_stride, requantize16(acc[i], rq), mask);
  }
}

}  // namespace avx512vnni_detail

// KH x KW filter at stride SH x SW, dilation 1. Output rows [row_begin, row_end) of the flattened
// (batch, output_height) index.
//
// Row by row, a group of channel tiles at a time: each input row is turned into quads (for the
// group's tiles) when an output row first needs it. Quad rows live in a ring of kernel_height
// slots per tile: input row iy sits in slot iy % KH, distinct for the KH consecutive rows an
// output row reads. Padding rows share one all-zero-point quad row. The group is as many tiles
// as keep their rings within half of L1 (the quads are written once and read KH * ceil(KW/4)
// times): wider, the rings of all tiles spilled to L2 (112x112x96 3x3 s2: 66 KiB of rings).
template <int KH, int KW, int SH, int SW>
FROST_TARGET_AVX512VNNI inline void dwconv_quads_avx512vnni(
    const DwconvGeometry& g, const PackedDwconvWeights& w, const std::uint8_t* input,
    std::uint8_t* output, std::int64_t row_begin, std::int64_t row_end) {
  using namespace avx512vnni_detail;
  constexpr int G = (KW + 3) / 4;
  constexpr int kBlock = KH * G <= 6 ? 8 : 4;
  constexpr std::int64_t kRingBytes = 24 * 1024;
  const std::int64_t ow = g.output_width(), C = g.channels;
  const std::int64_t tiles = (C + kTile - 1) / kTile;
  const std::int32_t zp = w.input_zero_point;

  // Scratch: KH quad rows per tile of a group and one padding row.
  const std::int64_t quad_row_vectors = quad_count<SW>(g.padded_width());
  const std::int64_t group_tiles =
      std::clamp<std::int64_t>(kRingBytes / (KH * quad_row_vectors * 64), 1, tiles);
  auto* quad_rows = reinterpret_cast<__m512i*>(
      thread_scratch(static_cast<std::size_t>((group_tiles * KH + 1) * quad_row_vectors * 64)));
  __m512i* padding_row = quad_rows + group_tiles * KH * quad_row_vectors;
  const __m512i padding_quad =
      _mm512_set1_epi32(static_cast<std::int32_t>(static_cast<std::uint32_t>(zp) * 0x01010101u));
  for (std::int64_t j = 0; j < quad_row_vectors; ++j)
    _mm512_store_si512(padding_row + j, padding_quad);

  for (std::int64_t tile_begin = 0; tile_begin < tiles; tile_begin += group_tiles) {
    const std::int64_t tile_end = std::min(tiles, tile_begin + group_tiles);
    InputRowRing<KH, SH> ring;
    for (std::int64_t row = row_begin; row < row_end; ++row) {
      std::int64_t slots[KH];  // slot of each filter row, -1 for padding
      ring.rows_for(g, input, row, slots, [&](const std::uint8_t* in_row, std::int64_t s) {
        build_quad_rows<SW>(in_row, g, zp, quad_rows + s * quad_row_vectors, KH * quad_row_vectors,
                            tile_begin, tile_end);
      });

      for (std::int64_t tile = tile_begin; tile < tile_end; ++tile) {
        const std::int64_t c0 = tile * kTile;
        const std::int64_t lanes = C - c0 < kTile ? C - c0 : kTile;
        const auto mask = static_cast<__mmask16>((1u << lanes) - 1u);
        __m512i weights[KH][G];
        for (int r = 0; r < KH; ++r)
          for (int q = 0; q < G; ++q)
            weights[r][q] =
                _mm512_load_si512(w.quads.data() + ((tile * KH + r) * G + q) * 4 * kTile);
        const __m512i bias = _mm512_load_si512(w.bias.data() + c0);
        const Requantizer rq = make_requantizer(w, c0);
        __m512i* rows[KH];
        for (int r = 0; r < KH; ++r)
          rows[r] = slots[r] < 0
                        ? padding_row
                        : quad_rows + ((tile - tile_begin) * KH + slots[r]) * quad_row_vectors;
        std::uint8_t* out = output + row * ow * C + c0;
        std::int64_t ox = 0;
        for (; ox + kBlock <= ow; ox += kBlock)
          quad_block<KH, G, SW, kBlock>(rows, ox, weights, bias, rq, out + ox * C, C, mask);
        for (; ox < ow; ++ox)
          quad_block<KH, G, SW, 1>(rows, ox, weights, bias, rq, out + ox * C, C, mask);
      }
    }
  }
}

// Any kernel size, stride and dilation: one tap at a time. vpdpwssd on int32 lanes holding
// (x, 0) and (w, sign) as s16 pairs computes x * w exactly.
FROST_TARGET_AVX512VNNI inline void dwconv_general_avx512vnni(
    const DwconvGeometry& g, const PackedDwconvWeights& w, const std::uint8_t* input,
    std::uint8_t* output, std::int64_t row_begin, std::int64_t row_end) {
  using namespace avx512vnni_detail;
  const std::int64_t oh = g.output_height(), ow = g.output_width(), C = g.channels;
  const std::int64_t taps = g.taps();
  detail::AlignedBuffer<std::int32_t> tap_weights(static_cast<std::size_t>(taps * kTile));
  auto* wv = reinterpret_cast<__m512i*>(tap_weights.data());
  const __m512i zp = _mm512_set1_epi32(w.input_zero_point);

  for (std::int64_t c0 = 0; c0 < C; c0 += kTile) {
    const std::int64_t lanes = C - c0 < kTile ? C - c0 : kTile;
    const auto mask = static_cast<__mmask16>((1u << lanes) - 1u);
    for (std::int64_t t = 0; t < taps; ++t)
      wv[t] = _mm512_cvtepi8_epi32(_mm_load_si128(
          reinterpret_cast<const __m128i*>(w.taps.data() + t * w.padded_channels + c0)));
    const __m512i bias = _mm512_load_si512(w.bias.data() + c0);
    const Requantizer rq = make_requantizer(w, c0);

    for (std::int64_t row = row_begin; row < row_end; ++row) {
      const std::int64_t n = row / oh, oy = row % oh;
      for (std::int64_t ox = 0; ox < ow; ++ox) {
        __m512i acc = bias;
        for (int ky = 0; ky < g.kernel_height; ++ky) {
          const std::int64_t iy =
              oy * g.stride_height - g.padding_top + std::int64_t{ky} * g.dilation_height;
          const bool row_inside = iy >= 0 && iy < g.input_height;
          const std::uint8_t* in_row =
              row_inside ? input + ((n * g.input_height + iy) * g.input_width) * C + c0 : input;
          for (int kx = 0; kx < g.kernel_width; ++kx) {
            const std::int64_t ix =
                ox * g.stride_width - g.padding_left + std::int64_t{kx} * g.dilation_width;
            const __m512i x = row_inside && ix >= 0 && ix < g.input_width
                                  ? load_u8_as_i32(in_row + ix * C, mask)
                                  : zp;
            acc = _mm512_dpwssd_epi32(acc, x, wv[ky * g.kernel_width + kx]);
          }
        }
        store16(output + (row * ow + ox) * C + c0, requantize16(acc, rq), mask);
      }
    }
  }
}

}  // namespace frost::kernels::dwconv

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // FROST_ARCH_X86_64
