#pragma once
// INT8 average pooling on NHWC u8 data: the windows and divisor of frost's FP32 avg_pool2d
// (padding, ceil_mode, count_include_pad; no dilation), the values of reference/pool.hpp bit for
// bit: an int32 sum of the window's codes per channel, the window's zero-point share taken off,
// then the one requantization with a multiplier of that window's divisor.
//
// In NHWC a window cell is a contiguous run of `channels` codes: the sums are plain widening
// adds over the run and the requantization a plain loop over the channels, both vectorised by
// the compiler on any ISA. Integer sums are exact in any order and the requantization's IEEE
// operations are the same in every lane, so there are no per-ISA kernels to keep in step.
// Output pixels split over the frost pool.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/parallel.hpp"
#include "frost/kernels/detail/checked_size.hpp"
#include "frost/kernels/pool/geometry.hpp"
#include "frost/kernels/reference/pool.hpp"
#include "frost/kernels/requantize.hpp"

namespace frost::kernels {
namespace detail {

// sums[c] += in[c], whole blocks of 16 first (a trip count GCC vectorises at -O2 too).
inline void add_u8_run(std::int64_t n, const std::uint8_t* __restrict in,
                       std::int32_t* __restrict sums) {
  constexpr std::int64_t kBlock = 16;
  std::int64_t c = 0;
  for (; c + kBlock <= n; c += kBlock)
    for (std::int64_t k = 0; k < kBlock; ++k) sums[c + k] += in[c + k];
  for (; c < n; ++c) sums[c] += in[c];
}

// out[c] = requantize(sums[c] - offset, multiplier, oq). The blocks of 16 repeat requantize()'s
// IEEE operations with the bounds hoisted and the clamp as clamp_round_u8 writes it
// (reference/elementwise.hpp: the same value for every finite product, and every product here
// is finite), a form GCC vectorises lane for lane where the target has a vector
// round-half-even (SSE4.1, NEON); otherwise it stays scalar, with the same values.
inline void requantize_run(std::int64_t n, const std::int32_t* __restrict sums, std::int32_t offset,
                           float multiplier, const OutputQuantization& oq,
                           std::uint8_t* __restrict out) {
  constexpr std::int64_t kBlock = 16;
  const float lo = static_cast<float>(std::int32_t{oq.output_min} - oq.zero_point);
  const float hi = static_cast<float>(std::int32_t{oq.output_max} - oq.zero_point);
  const std::int32_t zero_point = oq.zero_point;
  std::int64_t c = 0;
  for (; c + kBlock <= n; c += kBlock)
    for (std::int64_t k = 0; k < kBlock; ++k) {
      float y = static_cast<float>(sums[c + k] - offset) * multiplier;
      y = y > lo ? y : lo;
      y = y < hi ? y : hi;
      out[c + k] =
          static_cast<std::uint8_t>(static_cast<std::int32_t>(std::nearbyint(y)) + zero_point);
    }
  for (; c < n; ++c) out[c] = requantize(sums[c] - offset, multiplier, oq);
}

}  // namespace detail

// input [batch][input_height][input_width][channels] with input_quantization -> output
// [batch][oh][ow][channels] with output_quantization (oh, ow: g.output_height(),
// g.output_width()); input and output must not overlap. count_include_pad as in PyTorch (and
// frost::avg_pool2d): whether padded cells count in the divisor.
inline void avg_pool2d_nhwc_u8(const Pool2dNhwcGeometry& g, bool count_include_pad,
                               const std::uint8_t* input, std::uint8_t* output,
                               const QuantizationParams& input_quantization,
                               const QuantizationParams& output_quantization) {
  check_avg_pool2d_nhwc(g, count_include_pad, input_quantization, output_quantization,
                        "avg_pool2d_nhwc_u8");
  const std::int64_t H = g.input_height, W = g.input_width, C = g.channels;
  const std::int64_t OH = g.output_height(), OW = g.output_width();
  const std::int64_t pixels = g.batch * OH * OW;
  if (pixels == 0) return;
  FROST_CHECK(input != nullptr && output != nullptr, "avg_pool2d_nhwc_u8",
              "null input or output for input [", g.batch, ", ", H, ", ", W, ", ", C, "]");
  FROST_CHECK(!detail::ranges_overlap(input, static_cast<std::size_t>(g.batch * H * W * C), output,
                                      static_cast<std::size_t>(pixels * C)),
              "avg_pool2d_nhwc_u8", "input and output overlap");
  const std::int32_t zero_point = input_quantization.zero_point;
  const OutputQuantization oq = full_range(output_quantization.zero_point);
  const std::int64_t grain = std::max<std::int64_t>(1, detail::kPoolParallelBytes / (C * g.taps()));
  parallel_for(0, pixels, grain, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<std::int32_t> sums(static_cast<std::size_t>(C));
    // Interior windows share one divisor: recompute the multiplier only when it changes.
    std::int64_t divisor = 0;
    float multiplier = 0.0f;
    for (std::int64_t p = lo; p < hi; ++p) {
      const std::int64_t n = p / (OH * OW), oy = p / OW % OH, ox = p % OW;
      const AvgPoolWindow w = avg_pool2d_window(g, oy, ox, count_include_pad);
      if (w.divisor != divisor) {
        divisor = w.divisor;
        multiplier = avg_pool2d_multiplier(input_quantization, output_quantization, divisor);
      }
      std::fill(sums.begin(), sums.end(), 0);
      const std::uint8_t* image = input + n * H * W * C;
      for (std::int64_t iy = w.y0; iy < w.y1; ++iy)
        for (std::int64_t ix = w.x0; ix < w.x1; ++ix)
          detail::add_u8_run(C, image + (iy * W + ix) * C, sums.data());
      // sum of (q - zp) = sum of q - cells * zp; both fit int32 (taps <= kMaxPoolPixels).
      const auto offset = static_cast<std::int32_t>(w.cells()) * zero_point;
      std::uint8_t* out = output + p * C;
      detail::requantize_run(C, sums.data(), offset, multiplier, oq, out);
    }
  });
}

}  // namespace frost::kernels
