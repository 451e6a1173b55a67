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

#include "frost/core/error.hpp"
#include "frost/core/parallel.hpp"
#include "frost/kernels/fp32/pool_geometry.hpp"

namespace frost::kernels::fp32 {

// indices may be null (inference: nothing to remember for a backward pass). Index is any signed
// integer type wide enough for one input plane (int32 in the op, which keeps the buffer small).
template <class T, class Index>
inline void max_pool2d_forward(const Pool2dGeometry& g, const T* input, T* output, Index* indices) {
  check_pool2d_geometry(g, "max_pool2d");
  const std::int64_t H = g.input_height, W = g.input_width, OH = g.output_height(),
                     OW = g.output_width();
  FROST_CHECK(H * W <= static_cast<std::int64_t>(std::numeric_limits<Index>::max()), "max_pool2d",
              "input plane of ", H, "x", W, " does not fit the index type");
  // Windows that never leave the plane (no padding, no ceil-mode overhang) need no bounds tests:
  // the common pooling of CNNs takes this branch-free path.
  const bool inside = g.padding_height == 0 && g.padding_width == 0 &&
                      (OH - 1) * g.stride_height + (g.kernel_height - 1) * g.dilation_height < H &&
                      (OW - 1) * g.stride_width + (g.kernel_width - 1) * g.dilation_width < W;
  parallel_for(
      0, g.planes(), std::max<std::int64_t>(1, 4096 / g.input_plane()),
      [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t plane = lo; plane < hi; ++plane) {
          const T* in = input + plane * H * W;
          T* out = output + plane * OH * OW;
          Index* idx = indices ? indices + plane * OH * OW : nullptr;
          for (std::int64_t oy = 0; oy < OH; ++oy)
            for (std::int64_t ox = 0; ox < OW; ++ox) {
              T best = -std::numeric_limits<T>::infinity();
              std::int64_t best_index = -1;
              if (inside) {
                const std::int64_t y0 = oy * g.stride_height, x0 = ox * g.stride_width;
                best_index = y0 * W + x0;
                best = in[best_index];
                for (int ky = 0; ky < g.kernel_height; ++ky) {
                  const std::int64_t row = (y0 + std::int64_t{ky} * g.dilation_height) * W + x0;
                  for (int kx = 0; kx < g.kernel_width; ++kx) {
                    const std::int64_t at = row + std::int64_t{kx} * g.dilation_width;
                    const T v = in[at];
                    // v > best, or v is the first NaN (NaN propagates, as in PyTorch)
                    if (v > best || (v != v && best == best)) {
                      best = v;
                      best_index = at;
                    }
                  }
                }
              } else {
                for (int ky = 0; ky < g.kernel_height; ++ky) {
                  const std::int64_t iy = oy * g.stride_height - g.padding_height +
                                          std::int64_t{ky} * g.dilation_height;
                  if (iy < 0 || iy >= H) continue;
                  for (int kx = 0; kx < g.kernel_width; ++kx) {
                    const std::int64_t ix =
                        ox * g.stride_width - g.padding_width + std::int64_t{kx} * g.dilation_width;
                    if (ix < 0 || ix >= W) continue;
                    const T v = in[iy * W + ix];
                    if (best_index < 0 || v > best || (std::isnan(v) && !std::isnan(best))) {
                      best = v;
                      best_index = iy * W + ix;
                    }
                  }
                }
              }
              out[oy * OW + ox] = best;
              if (idx) idx[oy * OW + ox] = static_cast<Index>(best_index);
            }
        }
      });
}

template <class T, class Index>
inline void max_pool2d_backward(const Pool2dGeometry& g, const T* grad_output, const Index* indices,
                                T* grad_input) {
  check_pool2d_geometry(g, "max_pool2d_backward");
  const std::int64_t HW = g.input_plane(), P = g.output_plane();
  parallel_for(0, g.planes(), std::max<std::int64_t>(1, 4096 / HW),
               [&](std::int64_t lo, std::int64_t hi) {
                 for (std::int64_t plane = lo; plane < hi; ++plane) {
                   T* gi = grad_input + plane * HW;
                   std::fill(gi, gi + HW, T(0));
                   const T* go = grad_output + plane * P;
                   const Index* idx = indices + plane * P;
                   for (std::int64_t p = 0; p < P; ++p) {
                     if (idx[p] < 0)
                       continue;  // a window that saw only padding (possible with dilation)
                     FROST_CHECK(idx[p] < HW, "max_pool2d_backward", "index ", idx[p],
                                 " outside the input plane of ", HW, " elements");
                     gi[idx[p]] += go[p];
                   }
                 }
               });
}

}  // namespace frost::kernels::fp32
