#pragma once
// The portable path of the depthwise convolution: the packed, zero-point-folded arithmetic of
// the SIMD paths (padding read as the zero point) in plain C++, for any geometry. It runs on
// every CPU and is checked against the oracle (reference/dwconv.hpp) like every other path.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "frost/kernels/dwconv/packing.hpp"

namespace frost::kernels::dwconv {

// Output rows [row_begin, row_end) of the flattened (batch, output_height) index. Channels are the
// inner loop (contiguous in NHWC and in the packed taps), so compilers vectorise it.
inline void dwconv_general_scalar(const DwconvGeometry& g, const PackedDwconvWeights& w,
                                  const std::uint8_t* input, std::uint8_t* output,
                                  std::int64_t row_begin, std::int64_t row_end) {
  const std::int64_t oh = g.output_height(), ow = g.output_width(), C = g.channels;
  const std::int64_t padded = w.padded_channels;
  const std::int32_t zp = w.input_zero_point;
  std::vector<std::int32_t> acc(static_cast<std::size_t>(C));
  for (std::int64_t row = row_begin; row < row_end; ++row) {
    const std::int64_t n = row / oh, oy = row % oh;
    for (std::int64_t ox = 0; ox < ow; ++ox) {
      std::copy(w.bias.data(), w.bias.data() + C, acc.begin());
      for (int ky = 0; ky < g.kernel_height; ++ky) {
        const std::int64_t iy =
            oy * g.stride_height - g.padding_top + std::int64_t{ky} * g.dilation_height;
        const bool row_inside = iy >= 0 && iy < g.input_height;
        for (int kx = 0; kx < g.kernel_width; ++kx) {
          const std::int64_t ix =
              ox * g.stride_width - g.padding_left + std::int64_t{kx} * g.dilation_width;
          const std::int8_t* tap = w.taps.data() + (ky * g.kernel_width + kx) * padded;
          if (row_inside && ix >= 0 && ix < g.input_width) {
            const std::uint8_t* x = input + ((n * g.input_height + iy) * g.input_width + ix) * C;
            for (std::int64_t c = 0; c < C; ++c)
              acc[static_cast<std::size_t>(c)] += std::int32_t{x[c]} * tap[c];
          } else {
            for (std::int64_t c = 0; c < C; ++c) acc[static_cast<std::size_t>(c)] += zp * tap[c];
          }
        }
      }
      std::uint8_t* out = output + (row * ow + ox) * C;
      for (std::int64_t c = 0; c < C; ++c)
        out[c] = requantize(acc[static_cast<std::size_t>(c)], w.scales[static_cast<std::size_t>(c)],
                            w.output);
    }
  }
}

}  // namespace frost::kernels::dwconv
