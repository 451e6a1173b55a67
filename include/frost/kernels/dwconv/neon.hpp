#pragma once
// NEON (aarch64) depthwise convolution. Inputs widen to s16 (vmovl_u8), weights are s8 widened to
// s16, and vmlal_s16 / vmlal_high_s16 accumulate the exact products into int32x4 lanes (no
// saturating step anywhere); requantization is kernels/requantize.hpp lane for lane (fcvtns
// rounds to nearest even). Both paths serve the dot-product CPUs too (neondot falls back here).
//
// dwconv_neon<KH, KW, SH, SW>: 16 channels per tile (two s16 halves, four int32x4 accumulators),
// the tile's widened weights held across a whole output row, taps unrolled at compile time.
// Output columns whose window lies inside the input row run without bounds checks; the border
// columns read taps outside the row as the input zero point, and filter rows in the vertical
// padding read a row of zero points, as packing.hpp requires. A channel tail is covered by a
// last 16- or 8-channel tile shifted back to end at the last channel (it recomputes, and rewrites
// with the same values, channels of the tile before), so loads and stores stay inside the pixel;
// fewer than 8 channels in all go through a byte-copy tile.
// dwconv_general_neon: 8 channels per tile, one tap at a time; any kernel size, stride, dilation.

#include "frost/config.hpp"

#if FROST_ARCH_AARCH64

#include <arm_neon.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "frost/kernels/detail/aligned_buffer.hpp"
#include "frost/kernels/detail/target.hpp"
#include "frost/kernels/dwconv/packing.hpp"
#include "frost/kernels/dwconv/scratch.hpp"

namespace frost::kernels::dwconv {
namespace neon_detail {

constexpr int kTile = 8;

FROST_ALWAYS_INLINE int16x8_t load_u8_as_s16(const std::uint8_t* p, std::int64_t lanes) {
  if (lanes == kTile) return vreinterpretq_s16_u16(vmovl_u8(vld1_u8(p)));
  std::uint8_t bytes[kTile] = {};
  std::memcpy(bytes, p, static_cast<std::size_t>(lanes));
  return vreinterpretq_s16_u16(vmovl_u8(vld1_u8(bytes)));
}

FROST_ALWAYS_INLINE int32x4_t requantize4(int32x4_t acc, float32x4_t scale, float32x4_t lo,
                                          float32x4_t hi, int32x4_t zero_point) {
  float32x4_t y = vmulq_f32(vcvtq_f32_s32(acc), scale);
  y = vminq_f32(vmaxq_f32(y, lo), hi);
  return vaddq_s32(vcvtnq_s32_f32(y), zero_point);
}

// ---- dwconv_neon<KH, KW, SH, SW> ----

// How a tile loads and stores its channels: 16 (two s16 halves), 8, or 1..7 through a byte copy.
enum class TileKind { full16, half8, partial };

template <TileKind K>
inline constexpr int kHalves = K == TileKind::full16 ? 2 : 1;

// One pixel's channels of the tile, widened to s16.
template <TileKind K>
FROST_ALWAYS_INLINE void load_pixel(const std::uint8_t* p, std::int64_t lanes,
                                    int16x8_t (&x)[kHalves<K>]) {
  if constexpr (K == TileKind::full16) {
    const uint8x16_t v = vld1q_u8(p);
    x[0] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(v)));
    x[1] = vreinterpretq_s16_u16(vmovl_high_u8(v));
  } else if constexpr (K == TileKind::half8) {
    x[0] = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(p)));
  } else {
    x[0] = load_u8_as_s16(p, lanes);
  }
}

// The tile's weights (tap-major, widened to s16), folded bias and requantization scales.
template <int KH, int KW, TileKind K>
struct TileParams {
  int16x8_t weights[KH * KW][kHalves<K>];
  int32x4_t bias[2 * kHalves<K>];
  float32x4_t scale[2 * kHalves<K>];
};

template <int KH, int KW, TileKind K>
FROST_ALWAYS_INLINE void load_tile_params(const PackedDwconvWeights& w, std::int64_t c0,
                                          TileParams<KH, KW, K>& t) {
#pragma GCC unroll 32
  for (int tap = 0; tap < KH * KW; ++tap) {
    const std::int8_t* p = w.taps.data() + tap * w.padded_channels + c0;
    if constexpr (K == TileKind::full16) {
      const int8x16_t v = vld1q_s8(p);
      t.weights[tap][0] = vmovl_s8(vget_low_s8(v));
      t.weights[tap][1] = vmovl_high_s8(v);
    } else {
      t.weights[tap][0] = vmovl_s8(vld1_s8(p));  // a partial tile reads the zero padding
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < 2 * kHalves<K>; ++i) {
    t.bias[i] = vld1q_s32(w.bias.data() + c0 + 4 * i);
    t.scale[i] = vld1q_f32(w.scales.data() + c0 + 4 * i);
  }
}

// Clamp bounds (minus the output zero point) and the output zero point.
struct OutputRange {
  float32x4_t lo, hi;
  int32x4_t zero_point;
};

FROST_ALWAYS_INLINE OutputRange make_output_range(const OutputQuantization& o) {
  return {vdupq_n_f32(static_cast<float>(std::int32_t{o.output_min} - o.zero_point)),
          vdupq_n_f32(static_cast<float>(std::int32_t{o.output_max} - o.zero_point)),
          vdupq_n_s32(o.zero_point)};
}

template <int H>
FROST_ALWAYS_INLINE void multiply_accumulate(int32x4_t (&acc)[2 * H], const int16x8_t (&x)[H],
                                             const int16x8_t (&wt)[H]) {
#pragma GCC unroll 8
  for (int h = 0; h < H; ++h) {
    acc[2 * h] = vmlal_s16(acc[2 * h], vget_low_s16(x[h]), vget_low_s16(wt[h]));
    acc[2 * h + 1] = vmlal_high_s16(acc[2 * h + 1], x[h], wt[h]);
  }
}

template <TileKind K>
FROST_ALWAYS_INLINE void requantize_store(const int32x4_t (&acc)[2 * kHalves<K>],
                                          const float32x4_t (&scale)[2 * kHalves<K>],
                                          const OutputRange& o, std::uint8_t* out,
                                          std::int64_t lanes) {
  uint8x8_t bytes[kHalves<K>];
#pragma GCC unroll 8
  for (int h = 0; h < kHalves<K>; ++h) {
    const int32x4_t q0 = requantize4(acc[2 * h], scale[2 * h], o.lo, o.hi, o.zero_point);
    const int32x4_t q1 = requantize4(acc[2 * h + 1], scale[2 * h + 1], o.lo, o.hi, o.zero_point);
    // q is inside [output_min, output_max] already: both narrowings are exact.
    bytes[h] = vqmovn_u16(vcombine_u16(vqmovun_s32(q0), vqmovun_s32(q1)));
  }
  if constexpr (K == TileKind::full16) {
    vst1q_u8(out, vcombine_u8(bytes[0], bytes[1]));
  } else if constexpr (K == TileKind::half8) {
    vst1_u8(out, bytes[0]);
  } else {
    std::uint8_t tmp[kTile];
    vst1_u8(tmp, bytes[0]);
    std::memcpy(out, tmp, static_cast<std::size_t>(lanes));
  }
}

// An output pixel whose window lies inside the input row: in[r] points at the window's first
// pixel in filter row r.
template <int KH, int KW, TileKind K>
FROST_ALWAYS_INLINE void interior_pixel(const std::uint8_t* const (&in)[KH], std::int64_t C,
                                        const TileParams<KH, KW, K>& t, const OutputRange& o,
                                        std::uint8_t* out, std::int64_t lanes) {
  constexpr int H = kHalves<K>;
  int32x4_t acc[2 * H];
#pragma GCC unroll 8
  for (int i = 0; i < 2 * H; ++i) acc[i] = t.bias[i];
#pragma GCC unroll 8
  for (int r = 0; r < KH; ++r)
#pragma GCC unroll 8
    for (int kx = 0; kx < KW; ++kx) {
      int16x8_t x[H];
      load_pixel<K>(in[r] + kx * C, lanes, x);
      multiply_accumulate<H>(acc, x, t.weights[r * KW + kx]);
    }
  requantize_store<K>(acc, t.scale, o, out, lanes);
}

// An output pixel whose window starts at column ix0 and crosses a side of the row: taps outside
// [0, W) read the input zero point. rows[r] points at pixel 0 of filter row r.
template <int KH, int KW, TileKind K>
FROST_ALWAYS_INLINE void border_pixel(const std::uint8_t* const (&rows)[KH], std::int64_t ix0,
                                      std::int64_t W, std::int64_t C, int16x8_t zero_point,
                                      const TileParams<KH, KW, K>& t, const OutputRange& o,
                                      std::uint8_t* out, std::int64_t lanes) {
  constexpr int H = kHalves<K>;
  int32x4_t acc[2 * H];
#pragma GCC unroll 8
  for (int i = 0; i < 2 * H; ++i) acc[i] = t.bias[i];
#pragma GCC unroll 8
  for (int kx = 0; kx < KW; ++kx) {
    const std::int64_t ix = ix0 + kx;
    const bool inside = ix >= 0 && ix < W;
#pragma GCC unroll 8
    for (int r = 0; r < KH; ++r) {
      int16x8_t x[H];
      if (inside) {
        load_pixel<K>(rows[r] + ix * C, lanes, x);
      } else {
#pragma GCC unroll 8
        for (int h = 0; h < H; ++h) x[h] = zero_point;
      }
      multiply_accumulate<H>(acc, x, t.weights[r * KW + kx]);
    }
  }
  requantize_store<K>(acc, t.scale, o, out, lanes);
}

// Output columns [interior_begin, interior_end) have their whole window inside the input row.
struct ColumnSplit {
  std::int64_t interior_begin, interior_end;
};

template <int KW, int SW>
inline ColumnSplit split_columns(const DwconvGeometry& g) {
  const std::int64_t ow = g.output_width(), pl = g.padding_left;
  const std::int64_t begin = std::min(ow, (pl + SW - 1) / SW);
  const std::int64_t last_start = g.input_width - KW + pl;  // padded column of the last window
  const std::int64_t end = last_start < 0 ? begin : std::clamp(last_start / SW + 1, begin, ow);
  return {begin, end};
}

// One output row of one channel tile starting at channel c0. rows[r] points at channel c0 of
// pixel 0 of filter row r (an input row or the row of zero points); out at channel c0 of the
// output row's pixel 0.
template <int KH, int KW, int SW, TileKind K>
inline void tile_row(const DwconvGeometry& g, const PackedDwconvWeights& w,
                     const std::uint8_t* const (&rows)[KH], std::uint8_t* out, std::int64_t c0,
                     std::int64_t lanes, const ColumnSplit& cols, const OutputRange& o) {
  const std::int64_t ow = g.output_width(), C = g.channels, W = g.input_width;
  const std::int64_t pl = g.padding_left;
  const std::int64_t interior_begin = cols.interior_begin, interior_end = cols.interior_end;
  const int16x8_t zero_point = vdupq_n_s16(static_cast<std::int16_t>(w.input_zero_point));
  TileParams<KH, KW, K> t;
  load_tile_params<KH, KW, K>(w, c0, t);
  std::int64_t ox = 0;
  for (; ox < interior_begin; ++ox)
    border_pixel<KH, KW, K>(rows, ox * SW - pl, W, C, zero_point, t, o, out + ox * C, lanes);
  if (ox < interior_end) {
    const std::uint8_t* in[KH];
#pragma GCC unroll 8
    for (int r = 0; r < KH; ++r) in[r] = rows[r] + (ox * SW - pl) * C;
    for (; ox < interior_end; ++ox) {
      interior_pixel<KH, KW, K>(in, C, t, o, out + ox * C, lanes);
#pragma GCC unroll 8
      for (int r = 0; r < KH; ++r) in[r] += SW * C;
    }
  }
  for (; ox < ow; ++ox)
    border_pixel<KH, KW, K>(rows, ox * SW - pl, W, C, zero_point, t, o, out + ox * C, lanes);
}

template <int KH, int KW, int SW, TileKind K>
FROST_ALWAYS_INLINE void tile_row_at(const DwconvGeometry& g, const PackedDwconvWeights& w,
                                     const std::uint8_t* const (&rows)[KH], std::uint8_t* out,
                                     std::int64_t c0, std::int64_t lanes, const ColumnSplit& cols,
                                     const OutputRange& o) {
  const std::uint8_t* shifted[KH];
#pragma GCC unroll 8
  for (int r = 0; r < KH; ++r) shifted[r] = rows[r] + c0;
  tile_row<KH, KW, SW, K>(g, w, shifted, out + c0, c0, lanes, cols, o);
}

}  // namespace neon_detail

inline void dwconv_general_neon(const DwconvGeometry& g, const PackedDwconvWeights& w,
                                const std::uint8_t* input, std::uint8_t* output,
                                std::int64_t row_begin, std::int64_t row_end) {
  using namespace neon_detail;
  const std::int64_t oh = g.output_height(), ow = g.output_width(), C = g.channels;
  const std::int64_t taps = g.taps();
  detail::AlignedBuffer<std::int16_t> tap_weights(static_cast<std::size_t>(taps * kTile));
  const int16x8_t zp = vdupq_n_s16(static_cast<std::int16_t>(w.input_zero_point));
  const OutputQuantization& o = w.output;
  const float32x4_t lo = vdupq_n_f32(static_cast<float>(std::int32_t{o.output_min} - o.zero_point));
  const float32x4_t hi = vdupq_n_f32(static_cast<float>(std::int32_t{o.output_max} - o.zero_point));
  const int32x4_t out_zp = vdupq_n_s32(o.zero_point);

  for (std::int64_t c0 = 0; c0 < C; c0 += kTile) {
    const std::int64_t lanes = C - c0 < kTile ? C - c0 : kTile;
    for (std::int64_t t = 0; t < taps; ++t)
      vst1q_s16(tap_weights.data() + t * kTile,
                vmovl_s8(vld1_s8(w.taps.data() + t * w.padded_channels + c0)));
    const int32x4_t bias_lo = vld1q_s32(w.bias.data() + c0),
                    bias_hi = vld1q_s32(w.bias.data() + c0 + 4);
    const float32x4_t scale_lo = vld1q_f32(w.scales.data() + c0),
                      scale_hi = vld1q_f32(w.scales.data() + c0 + 4);

    for (std::int64_t row = row_begin; row < row_end; ++row) {
      const std::int64_t n = row / oh, oy = row % oh;
      for (std::int64_t ox = 0; ox < ow; ++ox) {
        int32x4_t acc_lo = bias_lo, acc_hi = bias_hi;
        for (int ky = 0; ky < g.kernel_height; ++ky) {
          const std::int64_t iy =
              oy * g.stride_height - g.padding_top + std::int64_t{ky} * g.dilation_height;
          const bool row_inside = iy >= 0 && iy < g.input_height;
          const std::uint8_t* in_row =
              row_inside ? input + ((n * g.input_height + iy) * g.input_width) * C + c0 : input;
          for (int kx = 0; kx < g.kernel_width; ++kx) {
            const std::int64_t ix =
                ox * g.stride_width - g.padding_left + std::int64_t{kx} * g.dilation_width;
            const int16x8_t x = row_inside && ix >= 0 && ix < g.input_width
                                    ? load_u8_as_s16(in_row + ix * C, lanes)
                                    : zp;
            const int16x8_t wt = vld1q_s16(tap_weights.data() + (ky * g.kernel_width + kx) * kTile);
            acc_lo = vmlal_s16(acc_lo, vget_low_s16(x), vget_low_s16(wt));
            acc_hi = vmlal_high_s16(acc_hi, x, wt);
          }
        }
        const int32x4_t q_lo = requantize4(acc_lo, scale_lo, lo, hi, out_zp);
        const int32x4_t q_hi = requantize4(acc_hi, scale_hi, lo, hi, out_zp);
        const uint8x8_t bytes = vqmovn_u16(vcombine_u16(vqmovun_s32(q_lo), vqmovun_s32(q_hi)));
        std::uint8_t* out = output + (row * ow + ox) * C + c0;
        if (lanes == kTile) {
          vst1_u8(out, bytes);
        } else {
          std::uint8_t tmp[kTile];
          vst1_u8(tmp, bytes);
          std::memcpy(out, tmp, static_cast<std::size_t>(lanes));
        }
      }
    }
  }
}

// KH x KW filter at stride SH x SW, dilation 1; output rows [row_begin, row_end) of the flattened
// (batch, output_height) index. Row by row, every channel tile of the row in turn, so the KH
// input rows stay in cache across tiles.
template <int KH, int KW, int SH, int SW>
inline void dwconv_neon(const DwconvGeometry& g, const PackedDwconvWeights& w,
                        const std::uint8_t* input, std::uint8_t* output, std::int64_t row_begin,
                        std::int64_t row_end) {
  using namespace neon_detail;
  const std::int64_t oh = g.output_height(), ow = g.output_width(), C = g.channels;
  const std::int64_t H = g.input_height, W = g.input_width;
  const ColumnSplit cols = split_columns<KW, SW>(g);
  const OutputRange o = make_output_range(w.output);
  const std::uint8_t* zero_point_row = nullptr;  // W pixels of input zero points, made on demand

  for (std::int64_t row = row_begin; row < row_end; ++row) {
    const std::int64_t n = row / oh, oy = row % oh;
    const std::uint8_t* rows[KH];
    for (int r = 0; r < KH; ++r) {
      const std::int64_t iy = oy * SH - g.padding_top + r;
      if (iy >= 0 && iy < H) {
        rows[r] = input + ((n * H + iy) * W) * C;
        continue;
      }
      if (zero_point_row == nullptr) {
        std::uint8_t* zeros = thread_scratch(static_cast<std::size_t>(W * C));
        std::memset(zeros, w.input_zero_point, static_cast<std::size_t>(W * C));
        zero_point_row = zeros;
      }
      rows[r] = zero_point_row;
    }
    std::uint8_t* out = output + row * ow * C;
    if (C >= 16) {
      std::int64_t c0 = 0;
      for (; c0 + 16 <= C; c0 += 16)
        tile_row_at<KH, KW, SW, TileKind::full16>(g, w, rows, out, c0, 16, cols, o);
      if (C - c0 > 8)
        tile_row_at<KH, KW, SW, TileKind::full16>(g, w, rows, out, C - 16, 16, cols, o);
      else if (C > c0)
        tile_row_at<KH, KW, SW, TileKind::half8>(g, w, rows, out, C - 8, 8, cols, o);
    } else if (C >= 8) {
      tile_row_at<KH, KW, SW, TileKind::half8>(g, w, rows, out, 0, 8, cols, o);
      if (C > 8) tile_row_at<KH, KW, SW, TileKind::half8>(g, w, rows, out, C - 8, 8, cols, o);
    } else {
      tile_row_at<KH, KW, SW, TileKind::partial>(g, w, rows, out, 0, C, cols, o);
    }
  }
}

}  // namespace frost::kernels::dwconv

#endif  // FROST_ARCH_AARCH64
