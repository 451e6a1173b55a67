#pragma once
// Max pooling over NCHW planes (kernel, stride, padding, dilation, ceil_mode as in PyTorch).
// Forward also records, per output, the index iy * W + ix of the chosen input inside its plane
// (PyTorch's `indices`); backward routes each gradient to that position. Padding never wins; a
// dilated window that covers only padding gives -inf and index -1 (no gradient). A NaN in a
// window wins (and the first NaN is kept), so NaNs propagate as in PyTorch.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "frost/core/parallel.hpp"
#include "frost/kernels/fp32/pool_geometry.hpp"

namespace frost::kernels::fp32 {

template <class T>
inline void max_pool2d_forward(const Pool2dGeometry& g, const T* input, T* output, std::int64_t* indices) {
  check_pool2d_geometry(g, "max_pool2d");
  const std::int64_t H = g.input_height, W = g.input_width, OH = g.output_height(), OW = g.output_width();
  parallel_for(0, g.planes(), std::max<std::int64_t>(1, 4096 / g.input_plane()), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t plane = lo; plane < hi; ++plane) {
      const T* in = input + plane * H * W;
      T* out = output + plane * OH * OW;
      std::int64_t* idx = indices + plane * OH * OW;
      for (std::int64_t oy = 0; oy < OH; ++oy)
        for (std::int64_t ox = 0; ox < OW; ++ox) {
          T best = -std::numeric_limits<T>::infinity();
          std::int64_t best_index = -1;
          for (int ky = 0; ky < g.kernel_height; ++ky) {
            const std::int64_t iy = oy * g.stride_height - g.padding_height + std::int64_t{ky} * g.dilation_height;
            if (iy < 0 || iy >= H) continue;
            for (int kx = 0; kx < g.kernel_width; ++kx) {
              const std::int64_t ix = ox * g.stride_width - g.padding_width + std::int64_t{kx} * g.dilation_width;
              if (ix < 0 || ix >= W) continue;
              const T v = in[iy * W + ix];
              if (best_index < 0 || v > best || (std::isnan(v) && !std::isnan(best))) {
                best = v;
                best_index = iy * W + ix;
              }
            }
          }
          out[oy * OW + ox] = best;
          idx[oy * OW + ox] = best_index;
        }
    }
  });
}

// grad_input (overwritten) = grad_output scattered to the recorded positions, summed where
// windows overlap.
template <class T>
inline void max_pool2d_backward(const Pool2dGeometry& g, const T* grad_output, const std::int64_t* indices,
                                T* grad_input) {
  check_pool2d_geometry(g, "max_pool2d_backward");
  const std::int64_t HW = g.input_plane(), P = g.output_plane();
  parallel_for(0, g.planes(), std::max<std::int64_t>(1, 4096 / HW), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t plane = lo; plane < hi; ++plane) {
      T* gi = grad_input + plane * HW;
      std::fill(gi, gi + HW, T(0));
      const T* go = grad_output + plane * P;
      const std::int64_t* idx = indices + plane * P;
      for (std::int64_t p = 0; p < P; ++p) {
        if (idx[p] < 0) continue;  // a window that saw only padding (possible with dilation)
        FROST_CHECK(idx[p] < HW, "max_pool2d_backward", "index ", idx[p], " outside the input plane of ",
                    HW, " elements");
        gi[idx[p]] += go[p];
      }
    }
  });
}

}  // namespace frost::kernels::fp32
