#pragma once
// AVX-512 VNNI depthwise convolution: 16 channels per zmm, one int32 lane per channel.
//
// vpdpbusd multiplies 4 adjacent u8 by 4 s8 and adds them to an int32 lane, exactly (4 * 255 * 128
// fits easily; the non-saturating form is used). For a depthwise filter the 4 bytes of a lane are
// 4 horizontally adjacent taps of one channel, so each input row of a channel tile is first
// rewritten once as "quads": q[j] lane c = bytes x[j], x[j+1], x[j+2], x[j+3] of channel c in the
// zero-point-padded row. A 3-wide filter row is then one vpdpbusd per output pixel
// (weights w0 w1 w2 0), a 5-wide one two. Quad rows live in a ring of kernel_height slots, so
// each input row is converted once per channel tile however many output rows read it.
// The general path (any kernel, stride, dilation) multiplies one tap at a time with vpdpwssd on
// zero-extended inputs; both requantize exactly as kernels/requantize.hpp.

#include "frost/config.hpp"

#if FROST_ARCH_X86_64

#include <immintrin.h>

#include <cstdint>

#include "frost/kernels/detail/aligned_buffer.hpp"
#include "frost/kernels/detail/target.hpp"
#include "frost/kernels/dwconv/packing.hpp"

// GCC 12's AVX-512 intrinsics read a deliberately undefined register (_mm512_undefined_*), which
// -Wmaybe-uninitialized reports at every inlined use (GCC bug 105593, fixed in 12.3).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace frost::kernels::dwconv {
namespace avx512vnni_detail {

constexpr int kTile = kDwconvQuadTile;

struct Requantizer {
  __m512 scale, lo, hi;
  __m512i zero_point;
};

FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE Requantizer make_requantizer(const PackedDwconvWeights& w,
                                                                        std::int64_t channel) {
  const OutputQuantization& o = w.output;
  return {_mm512_loadu_ps(w.scales.data() + channel),
          _mm512_set1_ps(static_cast<float>(std::int32_t{o.output_min} - o.zero_point)),
          _mm512_set1_ps(static_cast<float>(std::int32_t{o.output_max} - o.zero_point)),
          _mm512_set1_epi32(o.zero_point)};
}

// requantize() of kernels/requantize.hpp on 16 lanes: the same IEEE multiply, clamp and
// round-to-nearest-even conversion.
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE __m128i requantize16(__m512i acc, const Requantizer& r) {
  __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), r.scale);
  y = _mm512_min_ps(_mm512_max_ps(y, r.lo), r.hi);
  return _mm512_cvtusepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(y), r.zero_point));
}

FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE void store16(std::uint8_t* out, __m128i v, __mmask16 mask) {
  if (mask == 0xFFFF)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), v);
  else
    _mm_mask_storeu_epi8(out, mask, v);
}

// 16 channels of one pixel, zero-extended to int32 lanes; masked-off lanes read as 0.
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE __m512i load_u8_as_i32(const std::uint8_t* p, __mmask16 mask) {
  if (mask == 0xFFFF) return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, p));
}

// Quads of one padded input row of a channel tile, built right to left:
// q[j] = (q[j + 1] << 8) | x[j], so byte k of q[j] is x[j + k]. Past the padded row, x = zp.
FROST_TARGET_AVX512VNNI inline void build_quad_row(const std::uint8_t* row, std::int64_t pixel_stride,
                                                   std::int64_t input_width, std::int64_t padding_left,
                                                   std::int64_t padded_width, std::int32_t zero_point,
                                                   __mmask16 mask, __m512i* q) {
  const __m512i zp = _mm512_set1_epi32(zero_point);
  __m512i quad = _mm512_set1_epi32(static_cast<std::int32_t>(static_cast<std::uint32_t>(zero_point) * 0x01010101u));
  std::int64_t j = padded_width - 1;
  for (; j >= padding_left + input_width; --j) {
    quad = _mm512_or_si512(_mm512_slli_epi32(quad, 8), zp);
    _mm512_store_si512(q + j, quad);
  }
  const std::uint8_t* x = row + (input_width - 1) * pixel_stride;
  if (mask == 0xFFFF) {
    for (; j >= padding_left; --j, x -= pixel_stride) {
      quad = _mm512_or_si512(_mm512_slli_epi32(quad, 8), load_u8_as_i32(x, 0xFFFF));
      _mm512_store_si512(q + j, quad);
    }
  } else {
    for (; j >= padding_left; --j, x -= pixel_stride) {
      quad = _mm512_or_si512(_mm512_slli_epi32(quad, 8), load_u8_as_i32(x, mask));
      _mm512_store_si512(q + j, quad);
    }
  }
  for (; j >= 0; --j) {
    quad = _mm512_or_si512(_mm512_slli_epi32(quad, 8), zp);
    _mm512_store_si512(q + j, quad);
  }
}

// A ring of quad rows: input row iy of image n lives in slot iy % kernel_height, which is
// distinct for the kernel_height consecutive rows an output row reads. One extra slot holds the
// all-padding row.
class QuadRing {
 public:
  QuadRing(int kernel_height, std::int64_t padded_width)
      : kernel_height_(kernel_height), padded_width_(padded_width),
        storage_(static_cast<std::size_t>((kernel_height + 1) * padded_width * kTile)),
        slot_rows_(static_cast<std::size_t>(kernel_height)) {}

  void reset() {
    for (std::size_t s = 0; s < slot_rows_.size(); ++s) slot_rows_[s] = -1;
  }
  __m512i* slot(std::int64_t s) {
    return reinterpret_cast<__m512i*>(storage_.data() + s * padded_width_ * kTile);
  }
  __m512i* padding_row() { return slot(kernel_height_); }
  // Slot of global input row `key` (image * height + iy), and whether it must be (re)built.
  __m512i* find(std::int64_t key, std::int64_t iy, bool& stale) {
    const auto s = static_cast<std::size_t>(iy % kernel_height_);
    stale = slot_rows_[s] != key;
    slot_rows_[s] = key;
    return slot(static_cast<std::int64_t>(s));
  }

 private:
  int kernel_height_;
  std::int64_t padded_width_;
  detail::AlignedBuffer<std::int32_t> storage_;
  detail::AlignedBuffer<std::int64_t> slot_rows_;
};

// kBlock output pixels of one row and one channel tile, accumulators in registers.
template <int KH, int G, int SW, int kBlock>
FROST_TARGET_AVX512VNNI FROST_ALWAYS_INLINE void quad_block(__m512i* const* rows, std::int64_t ox,
                                                            const __m512i (&weights)[KH][G], __m512i bias,
                                                            const Requantizer& rq, std::uint8_t* out,
                                                            std::int64_t pixel_stride, __mmask16 mask) {
  __m512i acc[kBlock];
  for (int i = 0; i < kBlock; ++i) acc[i] = bias;
  for (int r = 0; r < KH; ++r)
    for (int g = 0; g < G; ++g)
      for (int i = 0; i < kBlock; ++i)
        acc[i] = _mm512_dpbusd_epi32(acc[i], _mm512_load_si512(rows[r] + (ox + i) * SW + 4 * g), weights[r][g]);
  for (int i = 0; i < kBlock; ++i) store16(out + i * pixel_stride, requantize16(acc[i], rq), mask);
}

}  // namespace avx512vnni_detail

// KH x KW filter at stride SH x SW, dilation 1. Output rows [row_begin, row_end) of the flattened
// (batch, output_height) index.
template <int KH, int KW, int SH, int SW>
FROST_TARGET_AVX512VNNI inline void dwconv_quads_avx512vnni(const DwconvGeometry& g,
                                                           const PackedDwconvWeights& w,
                                                           const std::uint8_t* input, std::uint8_t* output,
                                                           std::int64_t row_begin, std::int64_t row_end) {
  using namespace avx512vnni_detail;
  constexpr int G = (KW + 3) / 4;
  constexpr int kBlock = KH * G <= 6 ? 8 : 4;
  const std::int64_t oh = g.output_height(), ow = g.output_width(), C = g.channels;
  const std::int64_t padded_width = g.padded_width();
  QuadRing ring(KH, padded_width);
  const std::int32_t zp = w.input_zero_point;
  const __m512i padding_quad = _mm512_set1_epi32(static_cast<std::int32_t>(static_cast<std::uint32_t>(zp) * 0x01010101u));
  for (std::int64_t j = 0; j < padded_width; ++j) _mm512_store_si512(ring.padding_row() + j, padding_quad);

  for (std::int64_t c0 = 0; c0 < C; c0 += kTile) {
    const std::int64_t lanes = C - c0 < kTile ? C - c0 : kTile;
    const auto mask = static_cast<__mmask16>((1u << lanes) - 1u);
    const std::int64_t tile = c0 / kTile;
    __m512i weights[KH][G];
    for (int r = 0; r < KH; ++r)
      for (int q = 0; q < G; ++q)
        weights[r][q] = _mm512_load_si512(w.quads.data() + ((tile * KH + r) * G + q) * 4 * kTile);
    const __m512i bias = _mm512_load_si512(w.bias.data() + c0);
    const Requantizer rq = make_requantizer(w, c0);
    ring.reset();

    for (std::int64_t row = row_begin; row < row_end; ++row) {
      const std::int64_t n = row / oh, oy = row % oh;
      __m512i* rows[KH];
      for (int r = 0; r < KH; ++r) {
        const std::int64_t iy = oy * SH - g.padding_top + r;
        if (iy < 0 || iy >= g.input_height) {
          rows[r] = ring.padding_row();
          continue;
        }
        bool stale = false;
        rows[r] = ring.find(n * g.input_height + iy, iy, stale);
        if (stale)
          build_quad_row(input + ((n * g.input_height + iy) * g.input_width) * C + c0, C, g.input_width,
                         g.padding_left, padded_width, zp, mask, rows[r]);
      }
      std::uint8_t* out = output + row * ow * C + c0;
      std::int64_t ox = 0;
      for (; ox + kBlock <= ow; ox += kBlock)
        quad_block<KH, G, SW, kBlock>(rows, ox, weights, bias, rq, out + ox * C, C, mask);
      for (; ox < ow; ++ox) quad_block<KH, G, SW, 1>(rows, ox, weights, bias, rq, out + ox * C, C, mask);
    }
  }
}

// Any kernel size, stride and dilation: one tap at a time. vpdpwssd on int32 lanes holding
// (x, 0) and (w, sign) as s16 pairs computes x * w exactly.
FROST_TARGET_AVX512VNNI inline void dwconv_general_avx512vnni(const DwconvGeometry& g,
                                                             const PackedDwconvWeights& w,
                                                             const std::uint8_t* input, std::uint8_t* output,
                                                             std::int64_t row_begin, std::int64_t row_end) {
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
      wv[t] = _mm512_cvtepi8_epi32(
          _mm_load_si128(reinterpret_cast<const __m128i*>(w.taps.data() + t * w.padded_channels + c0)));
    const __m512i bias = _mm512_load_si512(w.bias.data() + c0);
    const Requantizer rq = make_requantizer(w, c0);

    for (std::int64_t row = row_begin; row < row_end; ++row) {
      const std::int64_t n = row / oh, oy = row % oh;
      for (std::int64_t ox = 0; ox < ow; ++ox) {
        __m512i acc = bias;
        for (int ky = 0; ky < g.kernel_height; ++ky) {
          const std::int64_t iy = oy * g.stride_height - g.padding_top + std::int64_t{ky} * g.dilation_height;
          const bool row_inside = iy >= 0 && iy < g.input_height;
          const std::uint8_t* in_row =
              row_inside ? input + ((n * g.input_height + iy) * g.input_width) * C + c0 : input;
          for (int kx = 0; kx < g.kernel_width; ++kx) {
            const std::int64_t ix = ox * g.stride_width - g.padding_left + std::int64_t{kx} * g.dilation_width;
            const __m512i x =
                row_inside && ix >= 0 && ix < g.input_width ? load_u8_as_i32(in_row + ix * C, mask) : zp;
            acc = _mm512_dpwssd_epi32(acc, x, wv[ky * g.kernel_width + kx]);
          }
        }
        store16(output + (row * ow + ox) * C + c0, requantize16(acc, rq), mask);
      }
    }
  }
}

}  // namespace frost::kernels::dwconv

#pragma GCC diagnostic pop

#endif  // FROST_ARCH_X86_64
