#pragma once
// INT8 2-D convolution on NHWC data (groups = 1), on top of the packed GEMM.
//
// With weights in OHWI order (out_channels x kernel_h x kernel_w x in_channels) the
// convolution is a GEMM: M = output pixels, N = out_channels, K = kernel_h * kernel_w *
// in_channels, and row m of A is the receptive field of output pixel m.
//   1x1, stride 1, no padding: A is the input itself (no copy).
//   1x1, any stride, no padding: each output row is a GEMM over input pixels `stride` apart
//     (the row stride of A), still with no copy.
//   otherwise: im2col, a chunk of output pixels at a time (the chunk stays in cache), padding
//     filled with the input zero point so that it contributes (zp - zp) * w = 0, exactly as
//     the zero-padded real-valued convolution.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/parallel.hpp"
#include "frost/kernels/detail/copy_short.hpp"
#include "frost/kernels/gemm/gemm.hpp"

namespace frost::kernels {

struct Conv2dGeometry {
  std::int64_t batch = 1;
  std::int64_t in_height = 1, in_width = 1, in_channels = 1;
  std::int64_t out_channels = 1;
  std::int64_t kernel_height = 1, kernel_width = 1;
  std::int64_t stride_height = 1, stride_width = 1;
  std::int64_t padding_top = 0, padding_left = 0, padding_bottom = 0, padding_right = 0;
  std::int64_t dilation_height = 1, dilation_width = 1;

  std::int64_t out_height() const {
    return (in_height + padding_top + padding_bottom - dilation_height * (kernel_height - 1) - 1) /
               stride_height +
           1;
  }
  std::int64_t out_width() const {
    return (in_width + padding_left + padding_right - dilation_width * (kernel_width - 1) - 1) /
               stride_width +
           1;
  }
  std::int64_t gemm_k() const { return kernel_height * kernel_width * in_channels; }
  std::int64_t output_pixels() const { return batch * out_height() * out_width(); }
  bool is_pointwise() const {
    return kernel_height == 1 && kernel_width == 1 && padding_top == 0 && padding_left == 0 &&
           padding_bottom == 0 && padding_right == 0;
  }
};

inline void check_conv2d_geometry(const Conv2dGeometry& g, const char* op) {
  FROST_CHECK(g.batch >= 1 && g.in_height >= 1 && g.in_width >= 1 && g.in_channels >= 1 &&
                  g.out_channels >= 1,
              op, "sizes must be >= 1, got input ", g.batch, "x", g.in_height, "x", g.in_width, "x",
              g.in_channels, " (NHWC), out_channels ", g.out_channels);
  FROST_CHECK(g.kernel_height >= 1 && g.kernel_width >= 1 && g.stride_height >= 1 &&
                  g.stride_width >= 1 && g.dilation_height >= 1 && g.dilation_width >= 1,
              op, "kernel ", g.kernel_height, "x", g.kernel_width, ", stride ", g.stride_height,
              "x", g.stride_width, " and dilation ", g.dilation_height, "x", g.dilation_width,
              " must be >= 1");
  FROST_CHECK(
      g.padding_top >= 0 && g.padding_left >= 0 && g.padding_bottom >= 0 && g.padding_right >= 0,
      op, "padding must be >= 0, got ", g.padding_top, ",", g.padding_left, ",", g.padding_bottom,
      ",", g.padding_right);
  FROST_CHECK(g.in_height + g.padding_top + g.padding_bottom >=
                      g.dilation_height * (g.kernel_height - 1) + 1 &&
                  g.in_width + g.padding_left + g.padding_right >=
                      g.dilation_width * (g.kernel_width - 1) + 1,
              op, "dilated kernel ", g.kernel_height, "x", g.kernel_width,
              " does not fit the padded ", g.in_height, "x", g.in_width, " input");
}

// weights: out_channels x kernel_height x kernel_width x in_channels (OHWI); bias may be null.
inline PackedWeights pack_conv2d_weights(const Conv2dGeometry& g, const std::int8_t* weights,
                                         const std::int32_t* bias, std::int32_t input_zero_point,
                                         Isa isa = active_isa()) {
  check_conv2d_geometry(g, "pack_conv2d_weights");
  return pack_gemm_weights(g.gemm_k(), g.out_channels, {weights, 1, g.gemm_k()}, bias,
                           input_zero_point, isa);
}

namespace detail {

// Output pixels per im2col chunk: about 64 KiB of gathered activations (L2-resident), a
// multiple of 16 rows so every chunk but the last fills whole register tiles.
inline std::int64_t im2col_chunk_pixels(std::int64_t k) {
  return std::max<std::int64_t>(16, (std::int64_t{64} << 10) / k / 16 * 16);
}

// memcpy, without a library call for the short runs of few-channel inputs (the stem copies 9
// bytes per kernel row).
inline void copy_run(std::uint8_t* dst, const std::uint8_t* src, std::int64_t n) {
  if (n < 16)
    copy_short<16>(dst, src, static_cast<std::size_t>(n));
  else
    std::memcpy(dst, src, static_cast<std::size_t>(n));
}

// Gathers the receptive fields of output pixels [first, first + count) into rows of k bytes.
inline void im2col(const Conv2dGeometry& g, const std::uint8_t* input, std::uint8_t zero_point,
                   std::int64_t first, std::int64_t count, std::uint8_t* rows) {
  const std::int64_t oh_count = g.out_height(), ow_count = g.out_width();
  const std::int64_t c = g.in_channels, k = g.gemm_k();
  // Walk (n, oh, ow) incrementally: no divisions per pixel.
  std::int64_t n = first / (oh_count * ow_count);
  std::int64_t oh = first / ow_count % oh_count, ow = first % ow_count;
  for (std::int64_t p = 0; p < count; ++p) {
    std::uint8_t* row = rows + p * k;
    const std::int64_t iw0 = ow * g.stride_width - g.padding_left;
    const bool row_inside = g.dilation_width == 1 && iw0 >= 0 && iw0 + g.kernel_width <= g.in_width;
    for (std::int64_t kh = 0; kh < g.kernel_height; ++kh) {
      const std::int64_t ih = oh * g.stride_height - g.padding_top + kh * g.dilation_height;
      if (row_inside && ih >= 0 && ih < g.in_height) {
        // The kernel row lies inside the input: its pixels are contiguous in NHWC.
        copy_run(row, input + ((n * g.in_height + ih) * g.in_width + iw0) * c, g.kernel_width * c);
        row += g.kernel_width * c;
        continue;
      }
      for (std::int64_t kw = 0; kw < g.kernel_width; ++kw, row += c) {
        const std::int64_t iw = iw0 + kw * g.dilation_width;
        if (ih < 0 || ih >= g.in_height || iw < 0 || iw >= g.in_width)
          std::memset(row, zero_point, static_cast<std::size_t>(c));
        else
          copy_run(row, input + ((n * g.in_height + ih) * g.in_width + iw) * c, c);
      }
    }
    if (++ow == ow_count) {
      ow = 0;
      if (++oh == oh_count) {
        oh = 0;
        ++n;
      }
    }
  }
}

}  // namespace detail

// input: batch x in_height x in_width x in_channels u8 (zero point = the one the weights were
// packed with); output: batch x out_height x out_width x out_channels u8, requantized by rq.
inline void qu8_conv2d(const Conv2dGeometry& g, const std::uint8_t* input,
                       const PackedWeights& weights, const GemmRequantization& rq,
                       std::uint8_t* output) {
  check_conv2d_geometry(g, "qu8_conv2d");
  FROST_CHECK(!weights.empty() && weights.k() == g.gemm_k() && weights.n() == g.out_channels,
              "qu8_conv2d", "packed weights are ", weights.k(), " x ", weights.n(),
              " (K x N), the geometry needs ", g.gemm_k(), " x ", g.out_channels);
  FROST_CHECK(input != nullptr && output != nullptr, "qu8_conv2d", "null input or output");
  check_gemm_requantization(rq, g.out_channels, "qu8_conv2d");
  const std::int64_t c = g.in_channels, n_out = g.out_channels;
  const std::int64_t oh_count = g.out_height(), ow_count = g.out_width();

  if (g.is_pointwise() && g.stride_height == 1 && g.stride_width == 1) {
    qu8_gemm(g.output_pixels(), input, c, weights, rq, output, n_out);
    return;
  }
  if (g.is_pointwise()) {
    // One GEMM per output row: its pixels are stride_width input pixels apart.
    parallel_for(0, g.batch * oh_count, 1, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t row = lo; row < hi; ++row) {
        const std::int64_t n = row / oh_count, oh = row % oh_count;
        const std::uint8_t* a = input + (n * g.in_height + oh * g.stride_height) * g.in_width * c;
        qu8_gemm(ow_count, a, g.stride_width * c, weights, rq, output + row * ow_count * n_out,
                 n_out);
      }
    });
    return;
  }
  const std::int64_t k = g.gemm_k(), pixels = g.output_pixels();
  const std::int64_t chunk = detail::im2col_chunk_pixels(k);
  const std::int64_t chunks = (pixels + chunk - 1) / chunk;
  const auto zero_point = static_cast<std::uint8_t>(weights.a_zero_point());
  parallel_for(0, chunks, 1, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<std::uint8_t> rows(static_cast<std::size_t>(chunk * k));
    for (std::int64_t i = lo; i < hi; ++i) {
      const std::int64_t first = i * chunk, count = std::min(chunk, pixels - first);
      detail::im2col(g, input, zero_point, first, count, rows.data());
      qu8_gemm(count, rows.data(), k, weights, rq, output + first * n_out, n_out);
    }
  });
}

}  // namespace frost::kernels
