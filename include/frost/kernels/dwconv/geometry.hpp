#pragma once
// Shape of an INT8 depthwise convolution on NHWC data: one filter per channel, any kernel size,
// stride, dilation and (asymmetric) padding. Shared by the scalar oracle and every path.

#include <cstdint>

#include "frost/core/error.hpp"

namespace frost::kernels {

struct DwconvGeometry {
  std::int64_t batch = 1;
  std::int64_t input_height = 0;
  std::int64_t input_width = 0;
  std::int64_t channels = 0;
  int kernel_height = 3;
  int kernel_width = 3;
  int stride_height = 1;
  int stride_width = 1;
  int dilation_height = 1;
  int dilation_width = 1;
  int padding_top = 0;
  int padding_left = 0;
  int padding_bottom = 0;
  int padding_right = 0;

  std::int64_t padded_height() const { return input_height + padding_top + padding_bottom; }
  std::int64_t padded_width() const { return input_width + padding_left + padding_right; }
  std::int64_t output_height() const {
    return (padded_height() - std::int64_t{dilation_height} * (kernel_height - 1) - 1) /
               stride_height +
           1;
  }
  std::int64_t output_width() const {
    return (padded_width() - std::int64_t{dilation_width} * (kernel_width - 1) - 1) / stride_width +
           1;
  }
  std::int64_t taps() const { return std::int64_t{kernel_height} * kernel_width; }
  // Multiply-accumulates of one run (benchmarks report 2 * macs() / time).
  std::int64_t macs() const { return batch * output_height() * output_width() * channels * taps(); }
};

// The int32 accumulator holds at most taps * 255 * 128 + |bias|; this bound keeps the taps' part
// below 2^30 so any bias of magnitude < 2^30 cannot overflow.
inline constexpr int kMaxDwconvTaps = 16384;

inline void check_dwconv_geometry(const DwconvGeometry& g, const char* op) {
  FROST_CHECK(g.batch >= 1 && g.input_height >= 1 && g.input_width >= 1 && g.channels >= 1, op,
              "batch, input height, width and channels must be >= 1, got ", g.batch, "x",
              g.input_height, "x", g.input_width, "x", g.channels);
  FROST_CHECK(g.kernel_height >= 1 && g.kernel_width >= 1 && g.taps() <= kMaxDwconvTaps, op,
              "kernel must be at least 1x1 and at most ", kMaxDwconvTaps, " taps, got ",
              g.kernel_height, "x", g.kernel_width);
  FROST_CHECK(g.stride_height >= 1 && g.stride_width >= 1, op, "strides must be >= 1, got ",
              g.stride_height, "x", g.stride_width);
  FROST_CHECK(g.dilation_height >= 1 && g.dilation_width >= 1, op, "dilations must be >= 1, got ",
              g.dilation_height, "x", g.dilation_width);
  FROST_CHECK(
      g.padding_top >= 0 && g.padding_left >= 0 && g.padding_bottom >= 0 && g.padding_right >= 0,
      op, "padding must be >= 0, got top ", g.padding_top, " left ", g.padding_left, " bottom ",
      g.padding_bottom, " right ", g.padding_right);
  const std::int64_t extent_h = std::int64_t{g.dilation_height} * (g.kernel_height - 1) + 1;
  const std::int64_t extent_w = std::int64_t{g.dilation_width} * (g.kernel_width - 1) + 1;
  FROST_CHECK(g.padded_height() >= extent_h && g.padded_width() >= extent_w, op, "padded input ",
              g.padded_height(), "x", g.padded_width(), " is smaller than the dilated kernel ",
              extent_h, "x", extent_w);
}

}  // namespace frost::kernels
