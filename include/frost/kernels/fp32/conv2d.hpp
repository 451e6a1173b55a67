#pragma once
// NCHW 2-D convolution with PyTorch's semantics (stride, padding, dilation, groups): forward,
// backward-input, backward-weight and backward-bias on raw contiguous buffers, T = float or
// double. Layouts: input [N, C, H, W], weight [OC, C / groups, KH, KW], bias [OC],
// output [N, OC, OH, OW].
//
// Per image and group, the convolution is the product weight_g [OCg, K] x columns [K, P]
// (K = Cg * KH * KW, P = OH * OW, columns from im2col). Depthwise convolutions go to the direct
// kernels in depthwise_conv2d.hpp; pointwise (1x1, stride 1, no padding) ones multiply the input
// plane directly, since it already is the column matrix.
//
// Threads: the work is cut into independent tiles, as many as needed to feed every thread even
// at batch 1, each writing a disjoint part of the result:
//   forward          (image, group, output-pixel range)
//   backward-input   (image, group, input-channel range): col2im of different input channels
//                    never touches the same input element
//   backward-weight  (group, input-channel range[, image range]): image ranges, only used when
//                    the other two cannot feed the threads, sum into private partial buffers
//                    that are added in a fixed order, so results depend on the thread count
//                    only through that order.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "frost/core/parallel.hpp"
#include "frost/kernels/fp32/conv_geometry.hpp"
#include "frost/kernels/fp32/depthwise_conv2d.hpp"
#include "frost/kernels/fp32/eigen.hpp"
#include "frost/kernels/fp32/im2col.hpp"

namespace frost::kernels::fp32 {
namespace detail {

// Elements of one thread's column buffer: small enough to stay in L2 next to the weights.
inline constexpr std::int64_t kColumnBufferElements = std::int64_t(1) << 17;

inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}

// How many pieces to cut `extent` into so that `units` independent units times the pieces feed
// every thread and one piece (`elements_per_index * extent / pieces` buffer elements) stays
// within the column budget.
inline std::int64_t piece_count(std::int64_t extent, std::int64_t units,
                                std::int64_t elements_per_index) {
  const std::int64_t for_threads = ceil_div(num_threads(), std::max<std::int64_t>(units, 1));
  const std::int64_t for_cache = ceil_div(elements_per_index * extent, kColumnBufferElements);
  return std::clamp<std::int64_t>(std::max(for_threads, for_cache), 1, extent);
}

}  // namespace detail

template <class T>
inline void conv2d_forward(const Conv2dGeometry& g, const T* input, const T* weight, const T* bias,
                           T* output) {
  check_conv2d_geometry(g, "conv2d_forward");
  if (g.batch == 0) return;
  if (g.is_depthwise()) return depthwise_conv2d_forward(g, input, weight, bias, output);

  const std::int64_t G = g.groups, Cg = g.in_channels_per_group(), OCg = g.out_channels_per_group();
  const std::int64_t K = Cg * g.kernel_area(), P = g.output_plane(), HW = g.input_plane();
  const bool pointwise = g.is_pointwise();
  // Pixel tiles: a multiple of 16 columns keeps Eigen's micro-kernel on full panels.
  std::int64_t tile = detail::ceil_div(P, detail::piece_count(P, g.batch * G, pointwise ? 0 : K));
  if (tile < P) tile = std::min(P, detail::ceil_div(tile, 16) * 16);
  const std::int64_t tiles = detail::ceil_div(P, tile);

  parallel_for(0, g.batch * G * tiles, 1, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<T> columns(pointwise ? 0 : static_cast<std::size_t>(K * tile));
    for (std::int64_t item = lo; item < hi; ++item) {
      const std::int64_t t = item % tiles, group = (item / tiles) % G, n = item / (tiles * G);
      const std::int64_t p0 = t * tile, p1 = std::min(P, p0 + tile), width = p1 - p0;
      const T* image = input + (n * g.in_channels + group * Cg) * HW;
      const auto w = matrix_map(weight + group * OCg * K, OCg, K, K);
      auto out = matrix_map(output + (n * g.out_channels + group * OCg) * P + p0, OCg, width, P);
      if (pointwise) {
        out.noalias() = w * matrix_map(image + p0, Cg, width, HW);
      } else {
        im2col(g, image, 0, Cg, p0, p1, columns.data(), width);
        out.noalias() = w * matrix_map(static_cast<const T*>(columns.data()), K, width, width);
      }
      if (bias != nullptr)
        for (std::int64_t oc = 0; oc < OCg; ++oc) out.row(oc).array() += bias[group * OCg + oc];
    }
  });
}

// grad_input = d(sum(output * grad_output)) / d(input); overwritten.
template <class T>
inline void conv2d_backward_input(const Conv2dGeometry& g, const T* grad_output, const T* weight,
                                  T* grad_input) {
  check_conv2d_geometry(g, "conv2d_backward_input");
  if (g.batch == 0) return;
  if (g.is_depthwise()) return depthwise_conv2d_backward_input(g, grad_output, weight, grad_input);

  const std::int64_t G = g.groups, Cg = g.in_channels_per_group(), OCg = g.out_channels_per_group();
  const std::int64_t KA = g.kernel_area(), K = Cg * KA, P = g.output_plane(), HW = g.input_plane();
  const bool pointwise = g.is_pointwise();
  const std::int64_t blocks = detail::piece_count(Cg, g.batch * G, pointwise ? 0 : KA * P);
  const std::int64_t block = detail::ceil_div(Cg, blocks);

  parallel_for(0, g.batch * G * blocks, 1, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<T> columns(pointwise ? 0 : static_cast<std::size_t>(block * KA * P));
    for (std::int64_t item = lo; item < hi; ++item) {
      const std::int64_t b = item % blocks, group = (item / blocks) % G, n = item / (blocks * G);
      const std::int64_t c0 = std::min(Cg, b * block), c1 = std::min(Cg, c0 + block);
      if (c0 == c1) continue;
      const auto go = matrix_map(grad_output + (n * g.out_channels + group * OCg) * P, OCg, P, P);
      // The columns of weight_g that belong to input channels [c0, c1).
      const auto w = matrix_map(weight + group * OCg * K + c0 * KA, OCg, (c1 - c0) * KA, K);
      T* image = grad_input + (n * g.in_channels + group * Cg) * HW;
      if (pointwise) {
        matrix_map(image + c0 * HW, c1 - c0, HW, HW).noalias() = w.transpose() * go;
      } else {
        auto cols = matrix_map(columns.data(), (c1 - c0) * KA, P, P);
        cols.noalias() = w.transpose() * go;
        std::fill(image + c0 * HW, image + c1 * HW, T(0));
        col2im_add(g, static_cast<const T*>(columns.data()), P, c0, c1, 0, P, image);
      }
    }
  });
}

// grad_bias[oc] = sum over images and pixels of grad_output[n, oc]; overwritten.
template <class T>
inline void conv2d_backward_bias(const Conv2dGeometry& g, const T* grad_output, T* grad_bias) {
  check_conv2d_geometry(g, "conv2d_backward_bias");
  const std::int64_t OC = g.out_channels, P = g.output_plane();
  parallel_for(0, OC, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(1, g.batch * P)),
               [&](std::int64_t lo, std::int64_t hi) {
                 for (std::int64_t oc = lo; oc < hi; ++oc) {
                   T sum = 0;
                   for (std::int64_t n = 0; n < g.batch; ++n)
                     sum += Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(
                                grad_output + (n * OC + oc) * P, P)
                                .sum();
                   grad_bias[oc] = sum;
                 }
               });
}

// grad_weight = d(sum(output * grad_output)) / d(weight), overwritten; grad_bias likewise when
// not nullptr.
template <class T>
inline void conv2d_backward_weight(const Conv2dGeometry& g, const T* input, const T* grad_output,
                                   T* grad_weight, T* grad_bias) {
  check_conv2d_geometry(g, "conv2d_backward_weight");
  if (g.batch == 0) {
    std::fill(grad_weight, grad_weight + g.weight_numel(), T(0));
    if (grad_bias != nullptr) std::fill(grad_bias, grad_bias + g.out_channels, T(0));
    return;
  }
  if (g.is_depthwise())
    return depthwise_conv2d_backward_weight(g, input, grad_output, grad_weight, grad_bias);
  if (grad_bias != nullptr) conv2d_backward_bias(g, grad_output, grad_bias);

  const std::int64_t G = g.groups, Cg = g.in_channels_per_group(), OCg = g.out_channels_per_group();
  const std::int64_t KA = g.kernel_area(), K = Cg * KA, P = g.output_plane(), HW = g.input_plane();
  const bool pointwise = g.is_pointwise();
  const std::int64_t blocks = detail::piece_count(Cg, G, pointwise ? 0 : KA * P);
  const std::int64_t block = detail::ceil_div(Cg, blocks);
  const std::int64_t image_ranges =
      std::clamp<std::int64_t>(detail::ceil_div(num_threads(), G * blocks), 1, g.batch);
  // Image range r > 0 accumulates into partial[r - 1]; range 0 writes grad_weight itself.
  std::vector<T> partial(static_cast<std::size_t>((image_ranges - 1) * g.weight_numel()));

  parallel_for(0, image_ranges * G * blocks, 1, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<T> columns(pointwise ? 0 : static_cast<std::size_t>(block * KA * P));
    for (std::int64_t item = lo; item < hi; ++item) {
      const std::int64_t b = item % blocks, group = (item / blocks) % G, r = item / (blocks * G);
      const std::int64_t c0 = std::min(Cg, b * block), c1 = std::min(Cg, c0 + block);
      if (c0 == c1) continue;
      T* target = r == 0 ? grad_weight : partial.data() + (r - 1) * g.weight_numel();
      auto gw = matrix_map(target + group * OCg * K + c0 * KA, OCg, (c1 - c0) * KA, K);
      gw.setZero();
      const std::int64_t n0 = g.batch * r / image_ranges, n1 = g.batch * (r + 1) / image_ranges;
      for (std::int64_t n = n0; n < n1; ++n) {
        const auto go = matrix_map(grad_output + (n * g.out_channels + group * OCg) * P, OCg, P, P);
        const T* image = input + (n * g.in_channels + group * Cg) * HW;
        if (pointwise) {
          gw.noalias() += go * matrix_map(image + c0 * HW, c1 - c0, HW, HW).transpose();
        } else {
          im2col(g, image, c0, c1, 0, P, columns.data(), P);
          gw.noalias() +=
              go *
              matrix_map(static_cast<const T*>(columns.data()), (c1 - c0) * KA, P, P).transpose();
        }
      }
    }
  });
  if (image_ranges > 1) {
    parallel_for(0, g.weight_numel(), 4096, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t r = 1; r < image_ranges; ++r) {
        const T* part = partial.data() + (r - 1) * g.weight_numel();
        for (std::int64_t i = lo; i < hi; ++i) grad_weight[i] += part[i];
      }
    });
  }
}

}  // namespace frost::kernels::fp32
