#pragma once
// Average pooling over NCHW planes with PyTorch's divisor: the window clipped to the padded
// input (so ceil_mode windows hanging past it count less) when count_include_pad, else the
// number of real input values under it. No dilation, as in PyTorch.

#include <algorithm>
#include <cstdint>

#include "frost/core/parallel.hpp"
#include "frost/kernels/fp32/pool_geometry.hpp"

namespace frost::kernels::fp32 {
namespace detail {

struct AvgWindow {
  std::int64_t y0, y1, x0, x1;  // the part inside the input
  std::int64_t divisor;
};

inline AvgWindow avg_window(const Pool2dGeometry& g, std::int64_t oy, std::int64_t ox,
                            bool count_include_pad) {
  std::int64_t y0 = oy * g.stride_height - g.padding_height,
               x0 = ox * g.stride_width - g.padding_width;
  std::int64_t y1 = std::min(y0 + g.kernel_height, g.input_height + g.padding_height);
  std::int64_t x1 = std::min(x0 + g.kernel_width, g.input_width + g.padding_width);
  const std::int64_t padded_size = (y1 - y0) * (x1 - x0);
  y0 = std::max<std::int64_t>(y0, 0);
  x0 = std::max<std::int64_t>(x0, 0);
  y1 = std::min(y1, g.input_height);
  x1 = std::min(x1, g.input_width);
  return {y0, y1, x0, x1, count_include_pad ? padded_size : (y1 - y0) * (x1 - x0)};
}

inline void check_avg_pool2d(const Pool2dGeometry& g, const char* op) {
  check_pool2d_geometry(g, op);
  FROST_CHECK(g.dilation_height == 1 && g.dilation_width == 1, op,
              "average pooling has no dilation, got (", g.dilation_height, ", ", g.dilation_width,
              ")");
}

}  // namespace detail

template <class T>
inline void avg_pool2d_forward(const Pool2dGeometry& g, bool count_include_pad, const T* input,
                               T* output) {
  detail::check_avg_pool2d(g, "avg_pool2d");
  const std::int64_t W = g.input_width, OH = g.output_height(), OW = g.output_width();
  parallel_for(0, g.planes(), std::max<std::int64_t>(1, 4096 / g.input_plane()),
               [&](std::int64_t lo, std::int64_t hi) {
                 for (std::int64_t plane = lo; plane < hi; ++plane) {
                   const T* in = input + plane * g.input_plane();
                   T* out = output + plane * OH * OW;
                   for (std::int64_t oy = 0; oy < OH; ++oy)
                     for (std::int64_t ox = 0; ox < OW; ++ox) {
                       const detail::AvgWindow w = detail::avg_window(g, oy, ox, count_include_pad);
                       T sum = 0;
                       for (std::int64_t iy = w.y0; iy < w.y1; ++iy)
                         for (std::int64_t ix = w.x0; ix < w.x1; ++ix) sum += in[iy * W + ix];
                       out[oy * OW + ox] = sum / static_cast<T>(w.divisor);
                     }
                 }
               });
}

// grad_input (overwritten): each output's gradient spread evenly (1 / divisor) over its window.
template <class T>
inline void avg_pool2d_backward(const Pool2dGeometry& g, bool count_include_pad,
                                const T* grad_output, T* grad_input) {
  detail::check_avg_pool2d(g, "avg_pool2d_backward");
  const std::int64_t W = g.input_width, OH = g.output_height(), OW = g.output_width();
  parallel_for(0, g.planes(), std::max<std::int64_t>(1, 4096 / g.input_plane()),
               [&](std::int64_t lo, std::int64_t hi) {
                 for (std::int64_t plane = lo; plane < hi; ++plane) {
                   T* gi = grad_input + plane * g.input_plane();
                   std::fill(gi, gi + g.input_plane(), T(0));
                   const T* go = grad_output + plane * OH * OW;
                   for (std::int64_t oy = 0; oy < OH; ++oy)
                     for (std::int64_t ox = 0; ox < OW; ++ox) {
                       const detail::AvgWindow w = detail::avg_window(g, oy, ox, count_include_pad);
                       const T share = go[oy * OW + ox] / static_cast<T>(w.divisor);
                       for (std::int64_t iy = w.y0; iy < w.y1; ++iy)
                         for (std::int64_t ix = w.x0; ix < w.x1; ++ix) gi[iy * W + ix] += share;
                     }
                 }
               });
}

}  // namespace frost::kernels::fp32
