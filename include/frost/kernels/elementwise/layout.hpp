#pragma once
// Layout changes at the edges of the INT8 engine, which computes in NHWC while its user (and
// PyTorch's flatten) speak NCHW:
//
//   quantize_nchw_to_nhwc_u8     entry: the user's NCHW floats -> NHWC codes
//   dequantize_nhwc_to_nchw_u8   exit: NHWC codes -> NCHW floats
//   nhwc_to_nchw_u8              plain transpose of codes (flatten before a linear layer, whose
//                                features PyTorch orders channel-major)
//   nchw_to_nhwc_u8              its inverse
//
// Values are those of quantize_u8 / dequantize_u8 (reference/elementwise.hpp) exactly: a block
// of pixels is quantized one channel plane at a time by the dispatched quantize / dequantize
// kernel (bit-identical to the spec on every ISA) through a small [channels][pixels] staging
// buffer, then transposed. So each function equals the array op followed (or preceded) by the
// transpose. Blocks of pixels split over the frost pool. Inputs and outputs must not overlap.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/parallel.hpp"
#include "frost/kernels/detail/checked_size.hpp"
#include "frost/kernels/elementwise/elementwise.hpp"
#include "frost/kernels/elementwise/kernels.hpp"
#include "frost/kernels/reference/elementwise.hpp"

namespace frost::kernels {
namespace detail {

// Pixels per block: a staging buffer of about 16 KiB, at least 16 pixels.
inline std::int64_t layout_block_pixels(std::int64_t channels) {
  return std::clamp<std::int64_t>((std::int64_t{1} << 14) / std::max<std::int64_t>(channels, 1), 16,
                                  1024);
}

// transpose_u8 for a compile-time number of rows written densely (out_stride == kRows): the
// interleaving of a few channel planes into pixels, e.g. the RGB input of the engine.
template <int kRows>
inline void interleave_rows_u8(std::int64_t cols, const std::uint8_t* in, std::int64_t in_stride,
                               std::uint8_t* out) {
  for (std::int64_t j = 0; j < cols; ++j)
    for (int i = 0; i < kRows; ++i) out[j * kRows + i] = in[i * in_stride + j];
}

// out[j * out_stride + i] = in[i * in_stride + j] for i < rows, j < cols, in 16 x 16 tiles so
// that both sides are read and written a cache line at a time.
inline void transpose_u8(std::int64_t rows, std::int64_t cols, const std::uint8_t* in,
                         std::int64_t in_stride, std::uint8_t* out, std::int64_t out_stride) {
  if (out_stride == rows) {
    switch (rows) {
      case 2:
        return interleave_rows_u8<2>(cols, in, in_stride, out);
      case 3:
        return interleave_rows_u8<3>(cols, in, in_stride, out);
      case 4:
        return interleave_rows_u8<4>(cols, in, in_stride, out);
      default:
        break;
    }
  }
  constexpr std::int64_t kTile = 16;
  for (std::int64_t i0 = 0; i0 < rows; i0 += kTile)
    for (std::int64_t j0 = 0; j0 < cols; j0 += kTile) {
      const std::int64_t i1 = std::min(i0 + kTile, rows), j1 = std::min(j0 + kTile, cols);
      for (std::int64_t j = j0; j < j1; ++j)
        for (std::int64_t i = i0; i < i1; ++i) out[j * out_stride + i] = in[i * in_stride + j];
    }
}

// Checks a [batch, channels, height, width] shape and returns its element count.
inline std::int64_t layout_elements(const char* op, std::int64_t batch, std::int64_t channels,
                                    std::int64_t height, std::int64_t width) {
  return checked_elements(op, {batch, channels, height, width});
}

// Checks the pointers of a layout change of `elements` values with the given element sizes.
inline void check_layout_pointers(const char* op, std::int64_t elements, const void* in,
                                  std::size_t in_size, const void* out, std::size_t out_size) {
  FROST_CHECK(in != nullptr && out != nullptr, op, "null input or output for ", elements,
              " elements");
  const auto n = static_cast<std::size_t>(elements);
  FROST_CHECK(!ranges_overlap(in, n * in_size, out, n * out_size), op, "input and output overlap");
}

// Runs body(n, first_pixel, pixel_count, staging) over every image n and block of `block` of
// its `plane` pixels, the blocks split over the pool; staging is a per-thread buffer of
// block * channels bytes when `staged`, else null.
template <class Body>
inline void for_each_pixel_block(std::int64_t batch, std::int64_t plane, std::int64_t block,
                                 std::int64_t channels, bool staged, Body&& body) {
  const std::int64_t blocks = (plane + block - 1) / block;
  const std::int64_t grain =
      std::max<std::int64_t>(1, elementwise::kParallelGrain / (block * channels));
  parallel_for(0, batch * blocks, grain, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<std::uint8_t> staging(staged ? static_cast<std::size_t>(block * channels) : 0);
    for (std::int64_t u = lo; u < hi; ++u) {
      const std::int64_t n = u / blocks, p0 = u % blocks * block;
      body(n, p0, std::min(block, plane - p0), staging.data());
    }
  });
}

}  // namespace detail

// x [batch][channels][height][width] floats -> out [batch][height][width][channels] codes,
// out = quantize_u8(x, params) element for element.
inline void quantize_nchw_to_nhwc_u8(std::int64_t batch, std::int64_t channels, std::int64_t height,
                                     std::int64_t width, const float* x, std::uint8_t* out,
                                     const QuantizationParams& params) {
  const char* op = "quantize_nchw_to_nhwc_u8";
  const std::int64_t elements = detail::layout_elements(op, batch, channels, height, width);
  check_quantization_params(params, op, "output");
  if (elements == 0) return;
  detail::check_layout_pointers(op, elements, x, sizeof(float), out, 1);
  const std::int64_t plane = height * width, C = channels;
  // One channel or one pixel: both layouts are the same array.
  if (C == 1 || plane == 1) {
    quantize_u8_array(static_cast<std::size_t>(elements), x, out, params);
    return;
  }
  const ElementwiseKernel<VquantizeFn>& kernel = select_elementwise_kernel(kVquantizeKernels);
  const std::int64_t block = detail::layout_block_pixels(C);
  detail::for_each_pixel_block(
      batch, plane, block, C, true,
      [&](std::int64_t n, std::int64_t p0, std::int64_t count, std::uint8_t* staging) {
        // staging [C][block]: each channel's run of pixels, then transposed into place.
        for (std::int64_t c = 0; c < C; ++c)
          kernel.fn(static_cast<std::size_t>(count), x + (n * C + c) * plane + p0,
                    staging + c * block, params);
        detail::transpose_u8(C, count, staging, block, out + (n * plane + p0) * C, C);
      });
}

// q [batch][height][width][channels] codes -> out [batch][channels][height][width] floats,
// out = dequantize_u8(q, params) element for element.
inline void dequantize_nhwc_to_nchw_u8(std::int64_t batch, std::int64_t channels,
                                       std::int64_t height, std::int64_t width,
                                       const std::uint8_t* q, float* out,
                                       const QuantizationParams& params) {
  const char* op = "dequantize_nhwc_to_nchw_u8";
  const std::int64_t elements = detail::layout_elements(op, batch, channels, height, width);
  check_quantization_params(params, op, "input");
  if (elements == 0) return;
  detail::check_layout_pointers(op, elements, q, 1, out, sizeof(float));
  const std::int64_t plane = height * width, C = channels;
  if (C == 1 || plane == 1) {
    dequantize_u8_array(static_cast<std::size_t>(elements), q, out, params);
    return;
  }
  const ElementwiseKernel<VdequantizeFn>& kernel = select_elementwise_kernel(kVdequantizeKernels);
  const std::int64_t block = detail::layout_block_pixels(C);
  detail::for_each_pixel_block(
      batch, plane, block, C, true,
      [&](std::int64_t n, std::int64_t p0, std::int64_t count, std::uint8_t* staging) {
        detail::transpose_u8(count, C, q + (n * plane + p0) * C, C, staging, block);
        for (std::int64_t c = 0; c < C; ++c)
          kernel.fn(static_cast<std::size_t>(count), staging + c * block,
                    out + (n * C + c) * plane + p0, params);
      });
}

// in [batch][height][width][channels] -> out [batch][channels][height][width].
inline void nhwc_to_nchw_u8(std::int64_t batch, std::int64_t channels, std::int64_t height,
                            std::int64_t width, const std::uint8_t* in, std::uint8_t* out) {
  const char* op = "nhwc_to_nchw_u8";
  const std::int64_t elements = detail::layout_elements(op, batch, channels, height, width);
  if (elements == 0) return;
  detail::check_layout_pointers(op, elements, in, 1, out, 1);
  const std::int64_t plane = height * width, C = channels;
  if (C == 1 || plane == 1) {
    std::memcpy(out, in, static_cast<std::size_t>(elements));
    return;
  }
  const std::int64_t block = detail::layout_block_pixels(C);
  detail::for_each_pixel_block(batch, plane, block, C, false,
                               [&](std::int64_t n, std::int64_t p0, std::int64_t count, auto*) {
                                 detail::transpose_u8(count, C, in + (n * plane + p0) * C, C,
                                                      out + n * C * plane + p0, plane);
                               });
}

// in [batch][channels][height][width] -> out [batch][height][width][channels].
inline void nchw_to_nhwc_u8(std::int64_t batch, std::int64_t channels, std::int64_t height,
                            std::int64_t width, const std::uint8_t* in, std::uint8_t* out) {
  const char* op = "nchw_to_nhwc_u8";
  const std::int64_t elements = detail::layout_elements(op, batch, channels, height, width);
  if (elements == 0) return;
  detail::check_layout_pointers(op, elements, in, 1, out, 1);
  const std::int64_t plane = height * width, C = channels;
  if (C == 1 || plane == 1) {
    std::memcpy(out, in, static_cast<std::size_t>(elements));
    return;
  }
  const std::int64_t block = detail::layout_block_pixels(C);
  detail::for_each_pixel_block(batch, plane, block, C, false,
                               [&](std::int64_t n, std::int64_t p0, std::int64_t count, auto*) {
                                 detail::transpose_u8(C, count, in + n * C * plane + p0, plane,
                                                      out + (n * plane + p0) * C, C);
                               });
}

}  // namespace frost::kernels
