#pragma once
// INT8 max pooling on NHWC u8 data: the window rules of frost's FP32 max_pool2d (kernel, stride,
// padding, dilation, ceil_mode; padding never wins), the values of reference/pool.hpp bit for
// bit. Input and output share one quantization (max commutes with it), so this is a max of
// codes, no arithmetic.
//
// In NHWC a window cell is a contiguous run of `channels` codes, so each output pixel is a copy
// of its first cell and a running max over the others: plain byte loops the compiler vectorises
// on any ISA, with no per-ISA kernels to keep in step. Output pixels split over the frost pool.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "frost/core/error.hpp"
#include "frost/core/parallel.hpp"
#include "frost/kernels/detail/checked_size.hpp"
#include "frost/kernels/pool/geometry.hpp"

namespace frost::kernels {
namespace detail {

// out[c] = max(out[c], in[c]); the two runs never overlap (input and output are distinct).
// Whole blocks of 32 first: a loop of known trip count is one GCC vectorises at -O2 too (its
// "very cheap" cost model refuses loops that would need a scalar epilogue).
inline void max_u8_run(std::int64_t n, const std::uint8_t* __restrict in,
                       std::uint8_t* __restrict out) {
  constexpr std::int64_t kBlock = 32;
  std::int64_t c = 0;
  for (; c + kBlock <= n; c += kBlock)
    for (std::int64_t k = 0; k < kBlock; ++k)
      out[c + k] = in[c + k] > out[c + k] ? in[c + k] : out[c + k];
  for (; c < n; ++c) out[c] = in[c] > out[c] ? in[c] : out[c];
}

}  // namespace detail

// input [batch][input_height][input_width][channels] -> output [batch][oh][ow][channels]
// (oh, ow: g.output_height(), g.output_width()); input and output must not overlap.
inline void max_pool2d_nhwc_u8(const Pool2dNhwcGeometry& g, const std::uint8_t* input,
                               std::uint8_t* output) {
  check_pool2d_nhwc_geometry(g, "max_pool2d_nhwc_u8");
  const std::int64_t H = g.input_height, W = g.input_width, C = g.channels;
  const std::int64_t OH = g.output_height(), OW = g.output_width();
  const std::int64_t pixels = g.batch * OH * OW;
  if (pixels == 0) return;
  FROST_CHECK(input != nullptr && output != nullptr, "max_pool2d_nhwc_u8",
              "null input or output for input [", g.batch, ", ", H, ", ", W, ", ", C, "]");
  FROST_CHECK(!detail::ranges_overlap(input, static_cast<std::size_t>(g.batch * H * W * C), output,
                                      static_cast<std::size_t>(pixels * C)),
              "max_pool2d_nhwc_u8", "input and output overlap");
  const std::int64_t grain = std::max<std::int64_t>(1, detail::kPoolParallelBytes / (C * g.taps()));
  parallel_for(0, pixels, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      const std::int64_t n = p / (OH * OW), oy = p / OW % OH, ox = p % OW;
      const std::uint8_t* image = input + n * H * W * C;
      std::uint8_t* out = output + p * C;
      bool first = true;
      for (int ky = 0; ky < g.kernel_height; ++ky) {
        const std::int64_t iy =
            oy * g.stride_height - g.padding_height + std::int64_t{ky} * g.dilation_height;
        if (iy < 0 || iy >= H) continue;
        for (int kx = 0; kx < g.kernel_width; ++kx) {
          const std::int64_t ix =
              ox * g.stride_width - g.padding_width + std::int64_t{kx} * g.dilation_width;
          if (ix < 0 || ix >= W) continue;
          const std::uint8_t* cell = image + (iy * W + ix) * C;
          if (first)
            std::memcpy(out, cell, static_cast<std::size_t>(C));
          else
            detail::max_u8_run(C, cell, out);
          first = false;
        }
      }
      // Only padding under a dilated window: the float kernel's -inf, quantized.
      if (first) std::memset(out, 0, static_cast<std::size_t>(C));
    }
  });
}

}  // namespace frost::kernels
