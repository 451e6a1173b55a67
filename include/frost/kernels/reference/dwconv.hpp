#pragma once
// The scalar oracle of the INT8 depthwise convolution: the definition every path must match
// bit for bit. Plain loops over the unpacked weights, no folding, no tiling.
//
//   acc[n, oy, ox, c] = bias[c] + sum over taps (ky, kx) inside the input of
//                       (x[n, iy, ix, c] - input_zero_point) * w[c, ky, kx]
//   iy = oy * stride_h - padding_top + ky * dilation_h   (ix likewise)
//   y[n, oy, ox, c]   = requantize(acc, scale[c], output)          (kernels/requantize.hpp)
//
// Taps in the padding are skipped: they would contribute (zero_point - zero_point) * w = 0.

#include <cstdint>
#include <span>

#include "frost/kernels/dwconv/geometry.hpp"
#include "frost/kernels/requantize.hpp"

namespace frost::kernels {

// Checks what every depthwise entry point takes besides the geometry: one requantization scale
// per channel or one for all, and an input zero point of a u8 tensor.
inline void check_dwconv_quantization(const DwconvGeometry& g, std::int32_t input_zero_point,
                                      std::span<const float> scales, const char* op) {
  FROST_CHECK(input_zero_point >= 0 && input_zero_point <= 255, op,
              "input zero point must be in [0, 255], got ", input_zero_point);
  FROST_CHECK(scales.size() == 1 || static_cast<std::int64_t>(scales.size()) == g.channels, op,
              "expected 1 or ", g.channels, " requantization scales, got ", scales.size());
  for (float s : scales) check_requantization_scale(s, op);
}

// input [batch][input_height][input_width][channels], weights
// [channels][kernel_height][kernel_width] (PyTorch's [C, 1, kh, kw]), bias [channels] or nullptr,
// output [batch][oh][ow][channels].
inline void dwconv_reference(const DwconvGeometry& g, const std::uint8_t* input,
                             std::int32_t input_zero_point, const std::int8_t* weights,
                             const std::int32_t* bias, std::span<const float> scales,
                             const OutputQuantization& output_quantization, std::uint8_t* output) {
  check_dwconv_geometry(g, "dwconv_reference");
  check_dwconv_quantization(g, input_zero_point, scales, "dwconv_reference");
  const std::int64_t oh = g.output_height(), ow = g.output_width(), C = g.channels;
  for (std::int64_t n = 0; n < g.batch; ++n)
    for (std::int64_t oy = 0; oy < oh; ++oy)
      for (std::int64_t ox = 0; ox < ow; ++ox)
        for (std::int64_t c = 0; c < C; ++c) {
          std::int32_t acc = bias != nullptr ? bias[c] : 0;
          for (int ky = 0; ky < g.kernel_height; ++ky) {
            const std::int64_t iy =
                oy * g.stride_height - g.padding_top + std::int64_t{ky} * g.dilation_height;
            if (iy < 0 || iy >= g.input_height) continue;
            for (int kx = 0; kx < g.kernel_width; ++kx) {
              const std::int64_t ix =
                  ox * g.stride_width - g.padding_left + std::int64_t{kx} * g.dilation_width;
              if (ix < 0 || ix >= g.input_width) continue;
              const std::int32_t x =
                  input[((n * g.input_height + iy) * g.input_width + ix) * C + c];
              const std::int32_t w = weights[(c * g.kernel_height + ky) * g.kernel_width + kx];
              acc += (x - input_zero_point) * w;
            }
          }
          const float scale = scales.size() == 1 ? scales[0] : scales[static_cast<std::size_t>(c)];
          output[((n * oh + oy) * ow + ox) * C + c] = requantize(acc, scale, output_quantization);
        }
}

}  // namespace frost::kernels
