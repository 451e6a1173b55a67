#pragma once
// im2col and its adjoint col2im for one image of an NCHW convolution, restricted to a range of
// input channels and a range of output pixels so that callers can tile both for threads and
// cache. The column matrix is row-major [channels * KH * KW, pixels]: row (c, ky, kx) holds, for
// each output pixel p = oy * OW + ox, the input value under tap (ky, kx), or 0 in the padding.
// With weights [OC, C * KH * KW] the convolution is then the product weight x columns.

#include <algorithm>
#include <cstdint>

#include "frost/kernels/fp32/conv_geometry.hpp"

namespace frost::kernels::fp32 {

// The output positions o in [0, output_extent) whose tap at `offset` (= k * dilation - padding)
// lands inside the input: 0 <= o * stride + offset < input_extent. Empty ranges give lo >= hi.
struct OutputRange {
  std::int64_t lo, hi;
};
inline OutputRange valid_output_range(std::int64_t offset, std::int64_t stride,
                                      std::int64_t input_extent, std::int64_t output_extent) {
  // lo = ceil(-offset / stride), hi = floor((input_extent - 1 - offset) / stride) + 1, clamped.
  const std::int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const std::int64_t last = input_extent - 1 - offset;
  const std::int64_t hi = last < 0 ? 0 : last / stride + 1;
  return {std::min(lo, output_extent), std::clamp(hi, std::int64_t{0}, output_extent)};
}

namespace detail {

// Calls fn(oy, ox_begin, ox_end, column) for the pieces of output rows that make up the pixel
// range [pixel_begin, pixel_end); `column` is the index of (oy, ox_begin) inside the range.
template <class Fn>
inline void for_each_row_piece(std::int64_t output_width, std::int64_t pixel_begin,
                               std::int64_t pixel_end, Fn&& fn) {
  for (std::int64_t p = pixel_begin; p < pixel_end;) {
    const std::int64_t oy = p / output_width, ox0 = p % output_width;
    const std::int64_t ox1 = std::min(output_width, ox0 + (pixel_end - p));
    fn(oy, ox0, ox1, p - pixel_begin);
    p += ox1 - ox0;
  }
}

}  // namespace detail

// columns[((c - channel_begin) * KH + ky) * KW + kx][p - pixel_begin] for the channels
// [channel_begin, channel_end) of `image` (which points at channel 0 of one image/group) and the
// output pixels [pixel_begin, pixel_end); rows are `column_stride` elements apart.
template <class T>
inline void im2col(const Conv2dGeometry& g, const T* image, std::int64_t channel_begin,
                   std::int64_t channel_end, std::int64_t pixel_begin, std::int64_t pixel_end,
                   T* columns, std::int64_t column_stride) {
  const std::int64_t H = g.input_height, W = g.input_width, OH = g.output_height(),
                     OW = g.output_width();
  const std::int64_t sh = g.stride_height, sw = g.stride_width;
  T* row = columns;
  for (std::int64_t c = channel_begin; c < channel_end; ++c) {
    const T* plane = image + c * H * W;
    for (int ky = 0; ky < g.kernel_height; ++ky) {
      const std::int64_t offset_y = std::int64_t{ky} * g.dilation_height - g.padding_height;
      const OutputRange rows = valid_output_range(offset_y, sh, H, OH);
      for (int kx = 0; kx < g.kernel_width; ++kx, row += column_stride) {
        const std::int64_t offset_x = std::int64_t{kx} * g.dilation_width - g.padding_width;
        const OutputRange cols = valid_output_range(offset_x, sw, W, OW);
        detail::for_each_row_piece(
            OW, pixel_begin, pixel_end,
            [&](std::int64_t oy, std::int64_t ox0, std::int64_t ox1, std::int64_t j) {
              T* out = row + j;  // out[ox - ox0]
              if (oy < rows.lo || oy >= rows.hi) {
                std::fill(out, out + (ox1 - ox0), T(0));
                return;
              }
              const std::int64_t lo = std::clamp(cols.lo, ox0, ox1),
                                 hi = std::clamp(cols.hi, lo, ox1);
              std::fill(out, out + (lo - ox0), T(0));
              if (hi > lo) {
                // Input of output column lo; the next output column reads sw elements further.
                const T* in = plane + (oy * sh + offset_y) * W + lo * sw + offset_x;
                T* dst = out + (lo - ox0);
                if (sw == 1) {
                  std::copy(in, in + (hi - lo), dst);
                } else {
                  for (std::int64_t i = 0; i < hi - lo; ++i) dst[i] = in[i * sw];
                }
              }
              std::fill(out + (hi - ox0), out + (ox1 - ox0), T(0));
            });
      }
    }
  }
}

// The adjoint of im2col: adds every column entry back onto the input position it was read
// from (padding entries are dropped). `image` is accumulated into, not overwritten.
template <class T>
inline void col2im_add(const Conv2dGeometry& g, const T* columns, std::int64_t column_stride,
                       std::int64_t channel_begin, std::int64_t channel_end,
                       std::int64_t pixel_begin, std::int64_t pixel_end, T* image) {
  const std::int64_t H = g.input_height, W = g.input_width, OH = g.output_height(),
                     OW = g.output_width();
  const std::int64_t sh = g.stride_height, sw = g.stride_width;
  const T* row = columns;
  for (std::int64_t c = channel_begin; c < channel_end; ++c) {
    T* plane = image + c * H * W;
    for (int ky = 0; ky < g.kernel_height; ++ky) {
      const std::int64_t offset_y = std::int64_t{ky} * g.dilation_height - g.padding_height;
      const OutputRange rows = valid_output_range(offset_y, sh, H, OH);
      for (int kx = 0; kx < g.kernel_width; ++kx, row += column_stride) {
        const std::int64_t offset_x = std::int64_t{kx} * g.dilation_width - g.padding_width;
        const OutputRange cols = valid_output_range(offset_x, sw, W, OW);
        detail::for_each_row_piece(
            OW, pixel_begin, pixel_end,
            [&](std::int64_t oy, std::int64_t ox0, std::int64_t ox1, std::int64_t j) {
              if (oy < rows.lo || oy >= rows.hi) return;
              const std::int64_t lo = std::clamp(cols.lo, ox0, ox1),
                                 hi = std::clamp(cols.hi, lo, ox1);
              if (hi <= lo) return;
              const T* in = row + j + (lo - ox0);
              T* out = plane + (oy * sh + offset_y) * W + lo * sw + offset_x;
              if (sw == 1) {
                for (std::int64_t i = 0; i < hi - lo; ++i) out[i] += in[i];
              } else {
                for (std::int64_t i = 0; i < hi - lo; ++i) out[i * sw] += in[i];
              }
            });
      }
    }
  }
}

}  // namespace frost::kernels::fp32
