#pragma once
// Depthwise weights packed once for every path.
//
// The input zero point is folded into the bias, so kernels multiply raw u8 inputs:
//   sum (x - zp) * w + bias  =  sum x * w + (bias - zp * sum w)
// which holds only if every tap, padding included, is summed with x = zp there. Kernels therefore
// read padding as the zero point (a padded tap then contributes (zp - zp) * w = 0, as in the
// oracle). Channels are padded to kDwconvChannelPadding with zero weights, zero bias and scale 1,
// so a path computes whole channel tiles and only stores the real channels.
//
// Layouts (c = channel within a tile, r = kernel row, g = group of adjacent taps of one row):
//   taps   s8  [kh * kw][padded_channels]                scalar, NEON and the general paths
//   quads  s8  [padded/16][kh][ceil(kw/4)][16 c][4 taps] AVX-512 VNNI: one vpdpbusd per group
//   pairs  s16 [padded/8][kh][ceil(kw/2)][8 c][2 taps]   AVX2: one vpmaddwd per group
// Taps past the end of a row are zero in quads and pairs.

#include <cstdint>
#include <span>

#include "frost/kernels/detail/aligned_buffer.hpp"
#include "frost/kernels/reference/dwconv.hpp"
#include "frost/kernels/requantize.hpp"

namespace frost::kernels {

inline constexpr std::int64_t kDwconvChannelPadding = 64;  // a multiple of every path's tile
inline constexpr int kDwconvQuadTile = 16;
inline constexpr int kDwconvPairTile = 8;

// With |bias| <= 2^30 and at most kMaxDwconvTaps taps of |x * w| <= 255 * 128, no int32
// accumulator can overflow.
inline constexpr std::int64_t kMaxDwconvFoldedBias = std::int64_t{1} << 30;

struct PackedDwconvWeights {
  std::int64_t channels = 0;
  std::int64_t padded_channels = 0;
  int kernel_height = 0;
  int kernel_width = 0;
  std::int32_t input_zero_point = 0;
  OutputQuantization output;
  detail::AlignedBuffer<std::int8_t> taps;
  detail::AlignedBuffer<std::int8_t> quads;
  detail::AlignedBuffer<std::int16_t> pairs;
  detail::AlignedBuffer<std::int32_t>
      bias;  // bias - input_zero_point * sum of the channel's weights
  detail::AlignedBuffer<float> scales;

  int quad_groups() const { return (kernel_width + 3) / 4; }
  int pair_groups() const { return (kernel_width + 1) / 2; }
};

// weights [channels][kernel_height][kernel_width]; bias [channels] or nullptr; scales: one per
// channel or one for all (s_in * s_w[c] / s_out).
inline PackedDwconvWeights pack_dwconv_weights(std::int64_t channels, int kernel_height,
                                               int kernel_width, const std::int8_t* weights,
                                               const std::int32_t* bias,
                                               std::span<const float> scales,
                                               std::int32_t input_zero_point,
                                               const OutputQuantization& output) {
  DwconvGeometry shape;  // only the filter part is checked here
  shape.channels = channels;
  shape.kernel_height = kernel_height;
  shape.kernel_width = kernel_width;
  shape.input_height = kernel_height;
  shape.input_width = kernel_width;
  check_dwconv_geometry(shape, "pack_dwconv_weights");
  check_dwconv_quantization(shape, input_zero_point, scales, "pack_dwconv_weights");
  FROST_CHECK(weights != nullptr, "pack_dwconv_weights", "weights are null");
  FROST_CHECK(
      output.zero_point >= 0 && output.zero_point <= 255 && output.output_min <= output.output_max,
      "pack_dwconv_weights", "bad output quantization: zero point ", output.zero_point, ", clamp [",
      int{output.output_min}, ", ", int{output.output_max}, "]");

  PackedDwconvWeights p;
  p.channels = channels;
  p.padded_channels =
      (channels + kDwconvChannelPadding - 1) / kDwconvChannelPadding * kDwconvChannelPadding;
  p.kernel_height = kernel_height;
  p.kernel_width = kernel_width;
  p.input_zero_point = input_zero_point;
  p.output = output;
  const auto padded = static_cast<std::size_t>(p.padded_channels);
  const auto kh = static_cast<std::size_t>(kernel_height),
             kw = static_cast<std::size_t>(kernel_width);
  const auto quad_groups = static_cast<std::size_t>(p.quad_groups());
  const auto pair_groups = static_cast<std::size_t>(p.pair_groups());
  p.taps = detail::AlignedBuffer<std::int8_t>(kh * kw * padded);
  p.quads = detail::AlignedBuffer<std::int8_t>(kh * quad_groups * 4 * padded);
  p.pairs = detail::AlignedBuffer<std::int16_t>(kh * pair_groups * 2 * padded);
  p.bias = detail::AlignedBuffer<std::int32_t>(padded);
  p.scales = detail::AlignedBuffer<float>(padded);

  for (std::size_t c = 0; c < padded; ++c) {
    if (c >= static_cast<std::size_t>(channels)) {
      p.scales[c] = 1.0f;
      continue;
    }
    std::int32_t weight_sum = 0;
    const std::size_t quad_tile = c / kDwconvQuadTile, quad_lane = c % kDwconvQuadTile;
    const std::size_t pair_tile = c / kDwconvPairTile, pair_lane = c % kDwconvPairTile;
    for (std::size_t r = 0; r < kh; ++r)
      for (std::size_t k = 0; k < kw; ++k) {
        const std::int8_t w = weights[(c * kh + r) * kw + k];
        weight_sum += w;
        p.taps[(r * kw + k) * padded + c] = w;
        const std::size_t quad_row = (quad_tile * kh + r) * quad_groups + k / 4;
        p.quads[(quad_row * kDwconvQuadTile + quad_lane) * 4 + k % 4] = w;
        const std::size_t pair_row = (pair_tile * kh + r) * pair_groups + k / 2;
        p.pairs[(pair_row * kDwconvPairTile + pair_lane) * 2 + k % 2] = w;
      }
    const std::int64_t folded =
        std::int64_t{bias != nullptr ? bias[c] : 0} - std::int64_t{input_zero_point} * weight_sum;
    FROST_CHECK(folded >= -kMaxDwconvFoldedBias && folded <= kMaxDwconvFoldedBias,
                "pack_dwconv_weights", "bias of channel ", c, " is too large: ", folded,
                " after folding the input zero point (limit 2^30)");
    p.bias[c] = static_cast<std::int32_t>(folded);
    p.scales[c] = scales.size() == 1 ? scales[0] : scales[c];
  }
  return p;
}

}  // namespace frost::kernels
