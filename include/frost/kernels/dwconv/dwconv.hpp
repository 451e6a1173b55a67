#pragma once
// INT8 depthwise convolution on NHWC u8 activations with packed s8 weights:
//
//   PackedDwconvWeights w = pack_dwconv_weights(C, 3, 3, weights, bias, scales, input_zp,
//                                               output_quantization(s_out, zp_out,
//                                               FusedActivation::relu));
//   dwconv_nhwc(geometry, w, input, output);          // the active ISA's kernel, on the frost pool
//
// Output rows are split over threads; every row is computed the same way whatever the split,
// so results do not depend on the thread count.

#include <algorithm>
#include <cstdint>

#include "frost/core/parallel.hpp"
#include "frost/kernels/dwconv/kernels.hpp"

namespace frost::kernels {

// Runs `kernel` (one row of kDwconvKernels, which must handle g and run on this CPU).
inline void dwconv_nhwc(const DwconvGeometry& g, const PackedDwconvWeights& w,
                        const std::uint8_t* input, std::uint8_t* output,
                        const DwconvKernel& kernel) {
  check_dwconv_geometry(g, "dwconv_nhwc");
  FROST_CHECK(w.channels == g.channels && w.kernel_height == g.kernel_height &&
                  w.kernel_width == g.kernel_width,
              "dwconv_nhwc", "weights packed for ", w.channels, " channels of ", w.kernel_height,
              "x", w.kernel_width, " but the geometry has ", g.channels, " channels of ",
              g.kernel_height, "x", g.kernel_width);
  FROST_CHECK(input != nullptr && output != nullptr, "dwconv_nhwc", "input or output is null");
  FROST_CHECK(kernel.handles(g), "dwconv_nhwc", "kernel ", kernel.name, " does not handle ",
              g.kernel_height, "x", g.kernel_width, " stride ", g.stride_height, "x",
              g.stride_width, " dilation ", g.dilation_height, "x", g.dilation_width);
  FROST_CHECK(isa_supported(kernel.isa), "dwconv_nhwc", "this CPU cannot run ", kernel.name);
  const std::int64_t rows = g.batch * g.output_height();
  // About 64K multiply-accumulates per chunk at least, so tiny layers stay on one thread.
  const std::int64_t row_macs = std::max<std::int64_t>(g.output_width() * g.channels * g.taps(), 1);
  const std::int64_t grain = std::max<std::int64_t>(1, (std::int64_t{1} << 16) / row_macs);
  parallel_for(0, rows, grain,
               [&](std::int64_t lo, std::int64_t hi) { kernel.fn(g, w, input, output, lo, hi); });
}

inline void dwconv_nhwc(const DwconvGeometry& g, const PackedDwconvWeights& w,
                        const std::uint8_t* input, std::uint8_t* output) {
  dwconv_nhwc(g, w, input, output, select_dwconv_kernel(g));
}

}  // namespace frost::kernels
