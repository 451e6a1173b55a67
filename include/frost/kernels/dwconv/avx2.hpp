#pragma once
// AVX2 depthwise convolution: 8 channels per ymm, one int32 lane per channel.
//
// vpmaddwd multiplies two s16 pairs and adds them into an int32 lane, exactly (u8 inputs and s8
// weights widened to s16: 2 * 255 * 128 < 2^31; vpmaddubsw would saturate, see DESIGN.md §3).
// Each input row of a channel tile is first rewritten once as "pairs": p[j] lane c = x[j] | x[j+1] << 16
// of channel c in the zero-point-padded row, so a filter row of width kw costs ceil(kw / 2)
// vpmaddwd per output pixel against weights packed as (w[k], w[k+1]) pairs. Pair rows live in a
// ring of kernel_height slots, as in the AVX-512 path. The general path (any kernel, stride,
// dilation) multiplies one tap at a time with (x, 0) . (w, sign) pairs.

#include "frost/config.hpp"

#if FROST_ARCH_X86_64

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "frost/kernels/detail/aligned_buffer.hpp"
#include "frost/kernels/detail/target.hpp"
#include "frost/kernels/dwconv/packing.hpp"

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

FROST_TARGET_AVX2 FROST_ALWAYS_INLINE void store8(std::uint8_t* out, __m128i v, std::int64_t lanes) {
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
FROST_TARGET_AVX2 FROST_ALWAYS_INLINE __m256i load_u8_as_i32(const std::uint8_t* p, std::int64_t lanes) {
  if (lanes == kTile) return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  std::uint64_t bytes = 0;
  std::memcpy(&bytes, p, static_cast<std::size_t>(lanes));
  return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(bytes)));
}

// One padded input row of a channel tile staged as contiguous 8-byte pixels: the zero point in
// the padding and one pixel past it, the tile's channels inside.
FROST_TARGET_AVX2 inline void stage_row(const std::uint8_t* row, std::int64_t pixel_stride,
                                        std::int64_t input_width, std::int64_t padding_left,
                                        std::int64_t padded_width, std::int32_t zero_point,
                                        std::int64_t lanes, std::uint8_t* staging) {
  const __m128i zp = _mm_set1_epi8(static_cast<char>(zero_point));
  for (std::int64_t j = 0; j < padding_left; ++j) _mm_storel_epi64(reinterpret_cast<__m128i*>(staging + 8 * j), zp);
  std::uint8_t* x = staging + 8 * padding_left;
  if (lanes == kTile) {
    for (std::int64_t i = 0; i < input_width; ++i) std::memcpy(x + 8 * i, row + i * pixel_stride, 8);
  } else {
    for (std::int64_t i = 0; i < input_width; ++i) {
      std::memset(x + 8 * i, 0, 8);
      std::memcpy(x + 8 * i, row + i * pixel_stride, static_cast<std::size_t>(lanes));
    }
  }
  for (std::int64_t j = padding_left + input_width; j < padded_width + 1; ++j)
    _mm_storel_epi64(reinterpret_cast<__m128i*>(staging + 8 * j), zp);
}

FROST_TARGET_AVX2 FROST_ALWAYS_INLINE __m256i staged(const std::uint8_t* staging, std::int64_t j) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(staging + 8 * j)));
}

FROST_TARGET_AVX2 FROST_ALWAYS_INLINE __m256i pair_step(__m256i next, const std::uint8_t* staging,
                                                       std::int64_t j) {
  return _mm256_or_si256(_mm256_slli_epi32(next, 16), staged(staging, j));
}

// Pairs p[0, padded_width) of a staged row: p[j] = (p[j + 1] << 16) | x[j]. As in the AVX-512
// path, 4 interleaved chains hide the latency of the recurrence.
FROST_TARGET_AVX2 inline void build_pair_row(const std::uint8_t* staging, std::int64_t padded_width, __m256i* p) {
  constexpr int kChains = 4;
  if (padded_width < 4 * kChains) {
    __m256i chain = staged(staging, padded_width);
    for (std::int64_t j = padded_width - 1; j >= 0; --j) {
      chain = pair_step(chain, staging, j);
      _mm256_store_si256(p + j, chain);
    }
    return;
  }
  const std::int64_t segment = (padded_width + kChains - 1) / kChains;
  std::int64_t end[kChains];
  __m256i chain[kChains];
  for (int k = 0; k < kChains; ++k) {
    end[k] = k + 1 < kChains ? (k + 1) * segment : padded_width;
    chain[k] = staged(staging, end[k]);
  }
  const std::int64_t last = padded_width - (kChains - 1) * segment;
  std::int64_t i = 0;
  for (; i < last; ++i)
    for (int k = 0; k < kChains; ++k) {
      chain[k] = pair_step(chain[k], staging, end[k] - 1 - i);
      _mm256_store_si256(p + end[k] - 1 - i, chain[k]);
    }
  for (; i < segment; ++i)
    for (int k = 0; k < kChains - 1; ++k) {
      chain[k] = pair_step(chain[k], staging, end[k] - 1 - i);
      _mm256_store_si256(p + end[k] - 1 - i, chain[k]);
    }
}

// Ring of pair rows; see QuadRing in avx512vnni.hpp.
class PairRing {
 public:
  PairRing(int kernel_height, std::int64_t padded_width)
      : kernel_height_(kernel_height), padded_width_(padded_width),
        storage_(static_cast<std::size_t>((kernel_height + 1) * padded_width * kTile)),
        staging_(static_cast<std::size_t>((padded_width + 1) * kTile)),
        slot_rows_(static_cast<std::size_t>(kernel_height)) {}

  void reset() {
    for (std::size_t s = 0; s < slot_rows_.size(); ++s) slot_rows_[s] = -1;
  }
  __m256i* slot(std::int64_t s) {
    return reinterpret_cast<__m256i*>(storage_.data() + s * padded_width_ * kTile);
  }
  __m256i* padding_row() { return slot(kernel_height_); }
  std::uint8_t* staging() { return staging_.data(); }
  __m256i* find(std::int64_t key, std::int64_t iy, bool& stale) {
    const auto s = static_cast<std::size_t>(iy % kernel_height_);
    stale = slot_rows_[s] != key;
    slot_rows_[s] = key;
    return slot(static_cast<std::int64_t>(s));
  }

 private:
  int kernel_height_;
  std::int64_t padded_width_;
  detail::AlignedBuffer<std::int32_t> storage_;
  detail::AlignedBuffer<std::uint8_t> staging_;
  detail::AlignedBuffer<std::int64_t> slot_rows_;
};

template <int KH, int G, int SW, int kBlock>
FROST_TARGET_AVX2 FROST_ALWAYS_INLINE void pair_block(__m256i* const* rows, std::int64_t ox,
                                                      const __m256i* weights, __m256i bias,
                                                      const Requantizer& rq, std::uint8_t* out,
                                                      std::int64_t pixel_stride, std::int64_t lanes) {
  __m256i acc[kBlock];
  for (int i = 0; i < kBlock; ++i) acc[i] = bias;
  for (int r = 0; r < KH; ++r)
    for (int g = 0; g < G; ++g) {
      const __m256i wv = _mm256_load_si256(weights + r * G + g);
      for (int i = 0; i < kBlock; ++i)
        acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_load_si256(rows[r] + (ox + i) * SW + 2 * g), wv));
    }
  for (int i = 0; i < kBlock; ++i) store8(out + i * pixel_stride, requantize8(acc[i], rq), lanes);
}

}  // namespace avx2_detail

// KH x KW filter at stride SH x SW, dilation 1; output rows [row_begin, row_end).
template <int KH, int KW, int SH, int SW>
FROST_TARGET_AVX2 inline void dwconv_pairs_avx2(const DwconvGeometry& g, const PackedDwconvWeights& w,
                                                const std::uint8_t* input, std::uint8_t* output,
                                                std::int64_t row_begin, std::int64_t row_end) {
  using namespace avx2_detail;
  constexpr int G = (KW + 1) / 2;
  constexpr int kBlock = 4;
  const std::int64_t oh = g.output_height(), ow = g.output_width(), C = g.channels;
  const std::int64_t padded_width = g.padded_width();
  PairRing ring(KH, padded_width);
  const std::int32_t zp = w.input_zero_point;
  const __m256i padding_pair = _mm256_set1_epi32(zp * 0x00010001);
  for (std::int64_t j = 0; j < padded_width; ++j) _mm256_store_si256(ring.padding_row() + j, padding_pair);

  for (std::int64_t c0 = 0; c0 < C; c0 += kTile) {
    const std::int64_t lanes = C - c0 < kTile ? C - c0 : kTile;
    const std::int64_t tile = c0 / kTile;
    const auto* weights = reinterpret_cast<const __m256i*>(w.pairs.data() + tile * KH * G * 2 * kTile);
    const __m256i bias = _mm256_load_si256(reinterpret_cast<const __m256i*>(w.bias.data() + c0));
    const Requantizer rq = make_requantizer(w, c0);
    ring.reset();

    for (std::int64_t row = row_begin; row < row_end; ++row) {
      const std::int64_t n = row / oh, oy = row % oh;
      __m256i* rows[KH];
      for (int r = 0; r < KH; ++r) {
        const std::int64_t iy = oy * SH - g.padding_top + r;
        if (iy < 0 || iy >= g.input_height) {
          rows[r] = ring.padding_row();
          continue;
        }
        bool stale = false;
        rows[r] = ring.find(n * g.input_height + iy, iy, stale);
        if (stale) {
          stage_row(input + ((n * g.input_height + iy) * g.input_width) * C + c0, C, g.input_width,
                    g.padding_left, padded_width, zp, lanes, ring.staging());
          build_pair_row(ring.staging(), padded_width, rows[r]);
        }
      }
      std::uint8_t* out = output + row * ow * C + c0;
      std::int64_t ox = 0;
      for (; ox + kBlock <= ow; ox += kBlock)
        pair_block<KH, G, SW, kBlock>(rows, ox, weights, bias, rq, out + ox * C, C, lanes);
      for (; ox < ow; ++ox) pair_block<KH, G, SW, 1>(rows, ox, weights, bias, rq, out + ox * C, C, lanes);
    }
  }
}

// Any kernel size, stride and dilation: one tap at a time, (x, 0) . (w, sign) with vpmaddwd.
FROST_TARGET_AVX2 inline void dwconv_general_avx2(const DwconvGeometry& g, const PackedDwconvWeights& w,
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
      wv[t] = _mm256_cvtepi8_epi32(
          _mm_loadl_epi64(reinterpret_cast<const __m128i*>(w.taps.data() + t * w.padded_channels + c0)));
    const __m256i bias = _mm256_load_si256(reinterpret_cast<const __m256i*>(w.bias.data() + c0));
    const Requantizer rq = make_requantizer(w, c0);

    for (std::int64_t row = row_begin; row < row_end; ++row) {
      const std::int64_t n = row / oh, oy = row % oh;
      for (std::int64_t ox = 0; ox < ow; ++ox) {
        __m256i acc = bias;
        for (int ky = 0; ky < g.kernel_height; ++ky) {
          const std::int64_t iy = oy * g.stride_height - g.padding_top + std::int64_t{ky} * g.dilation_height;
          const bool row_inside = iy >= 0 && iy < g.input_height;
          const std::uint8_t* in_row =
              row_inside ? input + ((n * g.input_height + iy) * g.input_width) * C + c0 : input;
          for (int kx = 0; kx < g.kernel_width; ++kx) {
            const std::int64_t ix = ox * g.stride_width - g.padding_left + std::int64_t{kx} * g.dilation_width;
            const __m256i x =
                row_inside && ix >= 0 && ix < g.input_width ? load_u8_as_i32(in_row + ix * C, lanes) : zp;
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
