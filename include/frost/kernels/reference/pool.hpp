#pragma once
// The scalar specification of frost's INT8 2-D pooling on NHWC u8 data: the definitions that
// pool/max_pool2d.hpp and pool/avg_pool2d.hpp must match bit for bit. Plain loops, one output
// value at a time.
//
//   max  y[n, oy, ox, c] = max of x[n, iy, ix, c] over the window cells inside the input, with
//        iy = oy * stride_h - padding_h + ky * dilation_h (ix likewise). Padding never wins, as
//        PyTorch pads with -inf; a dilated window that holds only padding gives code 0, the
//        quantization of the -inf the float kernel returns there. Input and output share one
//        quantization: max commutes with a non-decreasing map, so no requantization.
//   avg  acc = sum of (x - zp_in) over the window cells inside the input (int32),
//        y   = requantize(acc, s_in / (s_out * divisor), zp_out)          (kernels/requantize.hpp)
//        divisor as frost's FP32 avg_pool2d (kernels/fp32/avg_pool2d.hpp): the window clipped to
//        the padded input when count_include_pad, else the number of cells inside the input.
//        Padded cells hold real 0, code zp_in, so they add nothing to acc either way.
//        The multiplier is rounded once from double, as global average pooling's, so a window
//        covering the whole image gives exactly global_average_pool_nhwc_u8's output.

#include <algorithm>
#include <cstdint>

#include "frost/core/error.hpp"
#include "frost/kernels/pool/geometry.hpp"
#include "frost/kernels/reference/elementwise.hpp"
#include "frost/kernels/requantize.hpp"

namespace frost::kernels {

// ---- max pool -----------------------------------------------------------------------------

// input [batch][input_height][input_width][channels] -> output [batch][oh][ow][channels].
inline void max_pool2d_nhwc_u8_reference(const Pool2dNhwcGeometry& g, const std::uint8_t* input,
                                         std::uint8_t* output) {
  check_pool2d_nhwc_geometry(g, "max_pool2d_nhwc_u8_reference");
  const std::int64_t H = g.input_height, W = g.input_width, C = g.channels;
  const std::int64_t OH = g.output_height(), OW = g.output_width();
  for (std::int64_t n = 0; n < g.batch; ++n)
    for (std::int64_t oy = 0; oy < OH; ++oy)
      for (std::int64_t ox = 0; ox < OW; ++ox)
        for (std::int64_t c = 0; c < C; ++c) {
          std::uint8_t best = 0;
          for (int ky = 0; ky < g.kernel_height; ++ky) {
            const std::int64_t iy =
                oy * g.stride_height - g.padding_height + std::int64_t{ky} * g.dilation_height;
            if (iy < 0 || iy >= H) continue;
            for (int kx = 0; kx < g.kernel_width; ++kx) {
              const std::int64_t ix =
                  ox * g.stride_width - g.padding_width + std::int64_t{kx} * g.dilation_width;
              if (ix < 0 || ix >= W) continue;
              best = std::max(best, input[((n * H + iy) * W + ix) * C + c]);
            }
          }
          output[((n * OH + oy) * OW + ox) * C + c] = best;
        }
}

// ---- average pool -------------------------------------------------------------------------

namespace detail {
// One axis of an average-pooling window: the cells [lo, hi) inside the input, and the count the
// divisor takes along this axis.
struct AvgPoolSpan {
  std::int64_t lo, hi, count;
};

inline AvgPoolSpan avg_pool_span(std::int64_t out_index, int kernel, int stride, int padding,
                                 std::int64_t input, bool count_include_pad) {
  const std::int64_t start = out_index * stride - padding;
  const std::int64_t end = std::min(start + kernel, input + padding);
  const std::int64_t lo = std::max<std::int64_t>(start, 0), hi = std::min(end, input);
  return {lo, hi, count_include_pad ? end - start : hi - lo};
}
}  // namespace detail

// One window of average pooling: its cells inside the input, [y0, y1) x [x0, x1), and the
// divisor of frost's FP32 avg_pool2d.
struct AvgPoolWindow {
  std::int64_t y0, y1, x0, x1;
  std::int64_t divisor;
  std::int64_t cells() const { return (y1 - y0) * (x1 - x0); }
};

inline AvgPoolWindow avg_pool2d_window(const Pool2dNhwcGeometry& g, std::int64_t oy,
                                       std::int64_t ox, bool count_include_pad) {
  const detail::AvgPoolSpan y = detail::avg_pool_span(
      oy, g.kernel_height, g.stride_height, g.padding_height, g.input_height, count_include_pad);
  const detail::AvgPoolSpan x = detail::avg_pool_span(
      ox, g.kernel_width, g.stride_width, g.padding_width, g.input_width, count_include_pad);
  return {y.lo, y.hi, x.lo, x.hi, y.count * x.count};
}

// The requantization scale of a window with `divisor` cells: s_in / (s_out * divisor), rounded
// to float once.
inline float avg_pool2d_multiplier(const QuantizationParams& in, const QuantizationParams& out,
                                   std::int64_t divisor) {
  return static_cast<float>(static_cast<double>(in.scale) /
                            (static_cast<double>(out.scale) * static_cast<double>(divisor)));
}

// What every average-pooling entry point checks besides the window: no dilation (PyTorch's
// avg_pool2d has none), a window whose int32 sum cannot overflow, valid parameters, and a
// requantization scale in range for every divisor that occurs. The divisor of window (oy, ox)
// is rows(oy) * cols(ox), so its extremes are the products of the per-axis extremes, and the
// multiplier falls as the divisor grows.
inline void check_avg_pool2d_nhwc(const Pool2dNhwcGeometry& g, bool count_include_pad,
                                  const QuantizationParams& in, const QuantizationParams& out,
                                  const char* op) {
  check_pool2d_nhwc_geometry(g, op);
  FROST_CHECK(g.dilation_height == 1 && g.dilation_width == 1, op,
              "average pooling has no dilation, got (", g.dilation_height, ", ", g.dilation_width,
              ")");
  FROST_CHECK(g.taps() <= kMaxPoolPixels, op, "kernel ", g.kernel_height, "x", g.kernel_width,
              " has more than ", kMaxPoolPixels, " cells");
  check_quantization_params(in, op, "input");
  check_quantization_params(out, op, "output");
  const std::int64_t OH = g.output_height(), OW = g.output_width();
  std::int64_t rows_min = g.kernel_height, rows_max = 0, cols_min = g.kernel_width, cols_max = 0;
  for (std::int64_t oy = 0; oy < OH; ++oy) {
    const std::int64_t rows =
        detail::avg_pool_span(oy, g.kernel_height, g.stride_height, g.padding_height,
                              g.input_height, count_include_pad)
            .count;
    rows_min = std::min(rows_min, rows);
    rows_max = std::max(rows_max, rows);
  }
  for (std::int64_t ox = 0; ox < OW; ++ox) {
    const std::int64_t cols =
        detail::avg_pool_span(ox, g.kernel_width, g.stride_width, g.padding_width, g.input_width,
                              count_include_pad)
            .count;
    cols_min = std::min(cols_min, cols);
    cols_max = std::max(cols_max, cols);
  }
  // Every window holds a cell of the input (padding is at most half the kernel), so >= 1.
  FROST_CHECK(rows_min >= 1 && cols_min >= 1, op, "a window of kernel ", g.kernel_height, "x",
              g.kernel_width, " holds no input cell");
  check_requantization_scale(avg_pool2d_multiplier(in, out, rows_min * cols_min), op);
  check_requantization_scale(avg_pool2d_multiplier(in, out, rows_max * cols_max), op);
}

// input [batch][input_height][input_width][channels] -> output [batch][oh][ow][channels].
inline void avg_pool2d_nhwc_u8_reference(const Pool2dNhwcGeometry& g, bool count_include_pad,
                                         const std::uint8_t* input, std::uint8_t* output,
                                         const QuantizationParams& in,
                                         const QuantizationParams& out) {
  check_avg_pool2d_nhwc(g, count_include_pad, in, out, "avg_pool2d_nhwc_u8_reference");
  const std::int64_t H = g.input_height, W = g.input_width, C = g.channels;
  const std::int64_t OH = g.output_height(), OW = g.output_width();
  const OutputQuantization oq = full_range(out.zero_point);
  for (std::int64_t n = 0; n < g.batch; ++n)
    for (std::int64_t oy = 0; oy < OH; ++oy)
      for (std::int64_t ox = 0; ox < OW; ++ox) {
        const AvgPoolWindow w = avg_pool2d_window(g, oy, ox, count_include_pad);
        const float multiplier = avg_pool2d_multiplier(in, out, w.divisor);
        for (std::int64_t c = 0; c < C; ++c) {
          std::int32_t acc = 0;
          for (std::int64_t iy = w.y0; iy < w.y1; ++iy)
            for (std::int64_t ix = w.x0; ix < w.x1; ++ix)
              acc += std::int32_t{input[((n * H + iy) * W + ix) * C + c]} - in.zero_point;
          output[((n * OH + oy) * OW + ox) * C + c] = requantize(acc, multiplier, oq);
        }
      }
}

}  // namespace frost::kernels
