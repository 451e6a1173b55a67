#pragma once
// Shape of a 2-D pooling over NHWC u8 data (the INT8 engine's layout). The window rules are
// those of frost's FP32 pooling (kernels/fp32/pool_geometry.hpp), which the engine must
// reproduce: symmetric padding of at most half the kernel, dilation, PyTorch's output-size rule
// (floor; with ceil_mode rounded up, the last window starting inside the input or its left
// padding). The output size is computed by the FP32 geometry itself, so the two cannot drift.

#include <cstdint>

#include "frost/core/error.hpp"
#include "frost/kernels/detail/checked_size.hpp"
#include "frost/kernels/fp32/pool_geometry.hpp"

namespace frost::kernels {
namespace detail {
// About this many input bytes read per parallel chunk of pooling: enough work for a thread.
inline constexpr std::int64_t kPoolParallelBytes = std::int64_t{1} << 15;
}  // namespace detail

struct Pool2dNhwcGeometry {
  std::int64_t batch = 1;
  std::int64_t input_height = 0;
  std::int64_t input_width = 0;
  std::int64_t channels = 0;
  int kernel_height = 2;
  int kernel_width = 2;
  int stride_height = 2;
  int stride_width = 2;
  int padding_height = 0;
  int padding_width = 0;
  int dilation_height = 1;
  int dilation_width = 1;
  bool ceil_mode = false;

  // The same pooling as the FP32 kernels describe it (their planes are this tensor's channels).
  fp32::Pool2dGeometry fp32_geometry() const {
    fp32::Pool2dGeometry g;
    g.batch = batch;
    g.channels = channels;
    g.input_height = input_height;
    g.input_width = input_width;
    g.kernel_height = kernel_height;
    g.kernel_width = kernel_width;
    g.stride_height = stride_height;
    g.stride_width = stride_width;
    g.padding_height = padding_height;
    g.padding_width = padding_width;
    g.dilation_height = dilation_height;
    g.dilation_width = dilation_width;
    g.ceil_mode = ceil_mode;
    return g;
  }
  std::int64_t output_height() const { return fp32_geometry().output_height(); }
  std::int64_t output_width() const { return fp32_geometry().output_width(); }
  std::int64_t taps() const { return std::int64_t{kernel_height} * kernel_width; }
  std::int64_t output_pixels() const { return batch * output_height() * output_width(); }
};

// The geometry of the converted op, from the one its float model ran with.
inline Pool2dNhwcGeometry pool2d_nhwc_geometry(const fp32::Pool2dGeometry& g) {
  Pool2dNhwcGeometry q;
  q.batch = g.batch;
  q.input_height = g.input_height;
  q.input_width = g.input_width;
  q.channels = g.channels;
  q.kernel_height = g.kernel_height;
  q.kernel_width = g.kernel_width;
  q.stride_height = g.stride_height;
  q.stride_width = g.stride_width;
  q.padding_height = g.padding_height;
  q.padding_width = g.padding_width;
  q.dilation_height = g.dilation_height;
  q.dilation_width = g.dilation_width;
  q.ceil_mode = g.ceil_mode;
  return q;
}

// Accepts what fp32::check_pool2d_geometry accepts, except shapes too large to index in int64
// (more than detail::kMaxElements values), with messages in NHWC order.
inline void check_pool2d_nhwc_geometry(const Pool2dNhwcGeometry& g, const char* op) {
  FROST_CHECK(g.batch >= 0 && g.input_height >= 1 && g.input_width >= 1 && g.channels >= 1, op,
              "input must be [N, H, W, C] with H, W, C >= 1, got [", g.batch, ", ", g.input_height,
              ", ", g.input_width, ", ", g.channels, "]");
  (void)detail::checked_elements(op, {g.batch, g.input_height, g.input_width, g.channels});
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
              g.kernel_width, " (dilation ", g.dilation_height, "x", g.dilation_width,
              ") does not fit the padded input ",
              g.input_height + 2 * std::int64_t{g.padding_height}, "x",
              g.input_width + 2 * std::int64_t{g.padding_width});
}

}  // namespace frost::kernels
