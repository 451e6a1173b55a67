#pragma once
// Adaptive average pooling of NCHW planes to a fixed output size, with PyTorch's windows:
// output row o averages input rows [floor(o * H / OH), ceil((o + 1) * H / OH)) (columns alike).
// Windows may overlap when the output is not a divisor of the input.

#include <algorithm>
#include <cstdint>

#include "frost/core/error.hpp"
#include "frost/core/parallel.hpp"

namespace frost::kernels::fp32 {

struct AdaptivePool2dShape {
  std::int64_t batch = 1;
  std::int64_t channels = 0;
  std::int64_t input_height = 0;
  std::int64_t input_width = 0;
  std::int64_t output_height = 1;
  std::int64_t output_width = 1;

  std::int64_t planes() const { return batch * channels; }
};

namespace detail {

inline std::int64_t adaptive_start(std::int64_t o, std::int64_t in, std::int64_t out) {
  return o * in / out;
}
inline std::int64_t adaptive_end(std::int64_t o, std::int64_t in, std::int64_t out) {
  return ((o + 1) * in + out - 1) / out;
}

inline void check_adaptive_pool(const AdaptivePool2dShape& s, const char* op) {
  FROST_CHECK(s.batch >= 0 && s.channels >= 1 && s.input_height >= 1 && s.input_width >= 1, op,
              "input must be [N, C, H, W] with C, H, W >= 1, got [", s.batch, ", ", s.channels,
              ", ", s.input_height, ", ", s.input_width, "]");
  FROST_CHECK(s.output_height >= 1 && s.output_width >= 1, op, "output size must be >= 1, got ",
              s.output_height, "x", s.output_width);
}

// Calls fn(plane, oy, ox, y0, y1, x0, x1) for every output element, planes in parallel.
template <class Fn>
inline void for_each_adaptive_window(const AdaptivePool2dShape& s, Fn&& fn) {
  const std::int64_t H = s.input_height, W = s.input_width, OH = s.output_height,
                     OW = s.output_width;
  parallel_for(0, s.planes(), std::max<std::int64_t>(1, 4096 / (H * W)),
               [&](std::int64_t lo, std::int64_t hi) {
                 for (std::int64_t plane = lo; plane < hi; ++plane)
                   for (std::int64_t oy = 0; oy < OH; ++oy)
                     for (std::int64_t ox = 0; ox < OW; ++ox)
                       fn(plane, oy, ox, adaptive_start(oy, H, OH), adaptive_end(oy, H, OH),
                          adaptive_start(ox, W, OW), adaptive_end(ox, W, OW));
               });
}

}  // namespace detail

template <class T>
inline void adaptive_avg_pool2d_forward(const AdaptivePool2dShape& s, const T* input, T* output) {
  detail::check_adaptive_pool(s, "adaptive_avg_pool2d");
  const std::int64_t HW = s.input_height * s.input_width, W = s.input_width;
  const std::int64_t OHW = s.output_height * s.output_width;
  detail::for_each_adaptive_window(s, [&](std::int64_t plane, std::int64_t oy, std::int64_t ox,
                                          std::int64_t y0, std::int64_t y1, std::int64_t x0,
                                          std::int64_t x1) {
    const T* in = input + plane * HW;
    T sum = 0;
    for (std::int64_t iy = y0; iy < y1; ++iy)
      for (std::int64_t ix = x0; ix < x1; ++ix) sum += in[iy * W + ix];
    output[plane * OHW + oy * s.output_width + ox] = sum / static_cast<T>((y1 - y0) * (x1 - x0));
  });
}

// grad_input (overwritten): each output's gradient spread evenly over its window.
template <class T>
inline void adaptive_avg_pool2d_backward(const AdaptivePool2dShape& s, const T* grad_output,
                                         T* grad_input) {
  detail::check_adaptive_pool(s, "adaptive_avg_pool2d_backward");
  const std::int64_t HW = s.input_height * s.input_width, W = s.input_width;
  const std::int64_t OHW = s.output_height * s.output_width;
  // Planes are zeroed by the thread that then accumulates into them (the first window of a plane).
  detail::for_each_adaptive_window(s, [&](std::int64_t plane, std::int64_t oy, std::int64_t ox,
                                          std::int64_t y0, std::int64_t y1, std::int64_t x0,
                                          std::int64_t x1) {
    T* gi = grad_input + plane * HW;
    if (oy == 0 && ox == 0) std::fill(gi, gi + HW, T(0));
    const T share =
        grad_output[plane * OHW + oy * s.output_width + ox] / static_cast<T>((y1 - y0) * (x1 - x0));
    for (std::int64_t iy = y0; iy < y1; ++iy)
      for (std::int64_t ix = x0; ix < x1; ++ix) gi[iy * W + ix] += share;
  });
}

}  // namespace frost::kernels::fp32
