#pragma once
// Shape of a 2-D pooling window over NCHW planes, with PyTorch's output-size rule: floor by
// default; with ceil_mode rounded up, except that the last window must start inside the input
// or its left padding.

#include <cstdint>

#include "frost/core/error.hpp"

namespace frost::kernels::fp32 {

struct Pool2dGeometry {
  std::int64_t batch = 1;
  std::int64_t channels = 0;
  std::int64_t input_height = 0;
  std::int64_t input_width = 0;
  int kernel_height = 2;
  int kernel_width = 2;
  int stride_height = 2;
  int stride_width = 2;
  int padding_height = 0;
  int padding_width = 0;
  int dilation_height = 1;
  int dilation_width = 1;
  bool ceil_mode = false;

  std::int64_t output_height() const {
    return output_extent(input_height, kernel_height, stride_height, padding_height,
                         dilation_height);
  }
  std::int64_t output_width() const {
    return output_extent(input_width, kernel_width, stride_width, padding_width, dilation_width);
  }
  std::int64_t planes() const { return batch * channels; }
  std::int64_t input_plane() const { return input_height * input_width; }
  std::int64_t output_plane() const { return output_height() * output_width(); }

  std::int64_t output_extent(std::int64_t input, int kernel, int stride, int padding,
                             int dilation) const {
    const std::int64_t room =
        input + 2 * std::int64_t{padding} - std::int64_t{dilation} * (kernel - 1) - 1;
    if (room < 0 || stride < 1) return 0;
    std::int64_t out = (room + (ceil_mode ? stride - 1 : 0)) / stride + 1;
    if (ceil_mode && (out - 1) * stride >= input + padding) --out;
    return out;
  }
};

inline void check_pool2d_geometry(const Pool2dGeometry& g, const char* op) {
  FROST_CHECK(g.batch >= 0 && g.channels >= 1 && g.input_height >= 1 && g.input_width >= 1, op,
              "input must be [N, C, H, W] with C, H, W >= 1, got [", g.batch, ", ", g.channels,
              ", ", g.input_height, ", ", g.input_width, "]");
  FROST_CHECK(g.kernel_height >= 1 && g.kernel_width >= 1, op, "kernel must be at least 1x1, got ",
              g.kernel_height, "x", g.kernel_width);
  FROST_CHECK(g.stride_height >= 1 && g.stride_width >= 1, op, "stride must be >= 1, got (",
              g.stride_height, ", ", g.stride_width, ")");
  FROST_CHECK(g.dilation_height >= 1 && g.dilation_width >= 1, op, "dilation must be >= 1, got (",
              g.dilation_height, ", ", g.dilation_width, ")");
  // PyTorch's rule (on the kernel size, not its dilated extent).
  FROST_CHECK(g.padding_height >= 0 && g.padding_width >= 0 &&
                  g.padding_height <= g.kernel_height / 2 && g.padding_width <= g.kernel_width / 2,
              op, "padding must be >= 0 and at most half the kernel size, got padding (",
              g.padding_height, ", ", g.padding_width, ") for kernel ", g.kernel_height, "x",
              g.kernel_width);
  FROST_CHECK(g.output_height() >= 1 && g.output_width() >= 1, op, "kernel ", g.kernel_height, "x",
              g.kernel_width, " does not fit the padded input ",
              g.input_height + 2 * std::int64_t{g.padding_height}, "x",
              g.input_width + 2 * std::int64_t{g.padding_width});
}

}  // namespace frost::kernels::fp32
