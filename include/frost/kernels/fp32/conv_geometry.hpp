#pragma once
// Shape of an NCHW 2-D convolution as PyTorch defines it: input [N, C, H, W], weight
// [OC, C / groups, KH, KW], symmetric zero padding, stride and dilation per axis. Every FP32
// convolution kernel (im2col + GEMM, pointwise, depthwise) takes one of these.

#include <cstdint>

#include "frost/core/error.hpp"

namespace frost::kernels::fp32 {

struct Conv2dGeometry {
  std::int64_t batch = 1;
  std::int64_t in_channels = 0;
  std::int64_t input_height = 0;
  std::int64_t input_width = 0;
  std::int64_t out_channels = 0;
  int kernel_height = 1;
  int kernel_width = 1;
  int stride_height = 1;
  int stride_width = 1;
  int padding_height = 0;
  int padding_width = 0;
  int dilation_height = 1;
  int dilation_width = 1;
  std::int64_t groups = 1;

  // 0 when the dilated kernel does not fit the padded input (C++ division truncates toward
  // zero, so the negative case needs its own branch).
  std::int64_t output_height() const {
    return output_extent(input_height, kernel_height, stride_height, padding_height,
                         dilation_height);
  }
  std::int64_t output_width() const {
    return output_extent(input_width, kernel_width, stride_width, padding_width, dilation_width);
  }
  static std::int64_t output_extent(std::int64_t input, int kernel, int stride, int padding,
                                    int dilation) {
    const std::int64_t room =
        input + 2 * std::int64_t{padding} - std::int64_t{dilation} * (kernel - 1) - 1;
    return room < 0 || stride < 1 ? 0 : room / stride + 1;
  }
  std::int64_t in_channels_per_group() const { return in_channels / groups; }
  std::int64_t out_channels_per_group() const { return out_channels / groups; }
  std::int64_t kernel_area() const { return std::int64_t{kernel_height} * kernel_width; }
  std::int64_t input_plane() const { return input_height * input_width; }
  std::int64_t output_plane() const { return output_height() * output_width(); }
  std::int64_t weight_numel() const {
    return out_channels * in_channels_per_group() * kernel_area();
  }

  // One filter per channel (PyTorch's groups == in_channels == out_channels).
  bool is_depthwise() const {
    return groups == in_channels && out_channels == in_channels && groups > 1;
  }
  // A plain matrix product per image: no window, no padding, no subsampling.
  bool is_pointwise() const {
    return kernel_height == 1 && kernel_width == 1 && stride_height == 1 && stride_width == 1 &&
           padding_height == 0 && padding_width == 0;
  }
  // Multiply-accumulates of one forward pass (benchmarks report 2 * macs() / time).
  std::int64_t macs() const {
    return batch * output_plane() * out_channels * in_channels_per_group() * kernel_area();
  }
};

inline void check_conv2d_geometry(const Conv2dGeometry& g, const char* op) {
  FROST_CHECK(g.batch >= 0 && g.in_channels >= 1 && g.input_height >= 1 && g.input_width >= 1, op,
              "input must be [N, C, H, W] with C, H, W >= 1, got [", g.batch, ", ", g.in_channels,
              ", ", g.input_height, ", ", g.input_width, "]");
  FROST_CHECK(g.groups >= 1 && g.in_channels % g.groups == 0 && g.out_channels >= 1 &&
                  g.out_channels % g.groups == 0,
              op, "groups (", g.groups, ") must divide in_channels (", g.in_channels,
              ") and out_channels (", g.out_channels, ")");
  FROST_CHECK(g.kernel_height >= 1 && g.kernel_width >= 1, op, "kernel must be at least 1x1, got ",
              g.kernel_height, "x", g.kernel_width);
  FROST_CHECK(g.stride_height >= 1 && g.stride_width >= 1, op, "stride must be >= 1, got (",
              g.stride_height, ", ", g.stride_width, ")");
  FROST_CHECK(g.dilation_height >= 1 && g.dilation_width >= 1, op, "dilation must be >= 1, got (",
              g.dilation_height, ", ", g.dilation_width, ")");
  FROST_CHECK(g.padding_height >= 0 && g.padding_width >= 0, op, "padding must be >= 0, got (",
              g.padding_height, ", ", g.padding_width, ")");
  FROST_CHECK(g.output_height() >= 1 && g.output_width() >= 1, op, "kernel ", g.kernel_height, "x",
              g.kernel_width, " with dilation (", g.dilation_height, ", ", g.dilation_width,
              ") does not fit the padded input ",
              g.input_height + 2 * std::int64_t{g.padding_height}, "x",
              g.input_width + 2 * std::int64_t{g.padding_width});
}

}  // namespace frost::kernels::fp32
