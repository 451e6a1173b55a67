#pragma once
// INT8 element-wise ops on u8 tensors, dispatched to the active ISA (kernels.hpp) and split
// over the frost pool; every path matches the scalar spec of reference/elementwise.hpp bit for
// bit, so results depend neither on the ISA nor on the thread count.
//
//   add_u8_array        out = a + b with their own scales / zero points (+ fused ReLU / ReLU6)
//   concat_channels_nhwc_u8   each input requantized to the output's parameters
//   global_average_pool_nhwc_u8   [batch][pixels][C] -> [batch][C]
//   quantize_u8_array / dequantize_u8_array   float <-> u8
//   unary ops: elementwise/lookup_table.hpp

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "frost/core/parallel.hpp"
#include "frost/kernels/elementwise/kernels.hpp"
#include "frost/kernels/elementwise/lookup_table.hpp"

namespace frost::kernels {

namespace elementwise {
// Element-wise work is memory-bound: split only arrays worth a thread.
inline constexpr std::int64_t kParallelGrain = 1 << 16;

template <class Body>
inline void parallel_elements(std::size_t n, Body&& body) {
  parallel_for(0, static_cast<std::int64_t>(n), kParallelGrain,
               [&](std::int64_t lo, std::int64_t hi) {
                 body(static_cast<std::size_t>(lo), static_cast<std::size_t>(hi - lo));
               });
}
}  // namespace elementwise

inline void add_u8_array(std::size_t n, const std::uint8_t* a, const std::uint8_t* b,
                         std::uint8_t* out, const AddParams& params,
                         const ElementwiseKernel<VaddFn>& kernel) {
  FROST_CHECK(n == 0 || (a != nullptr && b != nullptr && out != nullptr), "add_u8_array",
              "null pointer for ", n, " elements");
  FROST_CHECK(isa_supported(kernel.isa), "add_u8_array", "this CPU cannot run ", kernel.name);
  elementwise::parallel_elements(
      n, [&](std::size_t i, std::size_t len) { kernel.fn(len, a + i, b + i, out + i, params); });
}
inline void add_u8_array(std::size_t n, const std::uint8_t* a, const std::uint8_t* b,
                         std::uint8_t* out, const AddParams& params) {
  add_u8_array(n, a, b, out, params, select_elementwise_kernel(kVaddKernels));
}

inline void quantize_u8_array(std::size_t n, const float* x, std::uint8_t* out,
                              const QuantizationParams& params,
                              const ElementwiseKernel<VquantizeFn>& kernel) {
  check_quantization_params(params, "quantize_u8_array", "output");
  FROST_CHECK(n == 0 || (x != nullptr && out != nullptr), "quantize_u8_array", "null pointer for ",
              n, " elements");
  FROST_CHECK(isa_supported(kernel.isa), "quantize_u8_array", "this CPU cannot run ", kernel.name);
  elementwise::parallel_elements(
      n, [&](std::size_t i, std::size_t len) { kernel.fn(len, x + i, out + i, params); });
}
inline void quantize_u8_array(std::size_t n, const float* x, std::uint8_t* out,
                              const QuantizationParams& params) {
  quantize_u8_array(n, x, out, params, select_elementwise_kernel(kVquantizeKernels));
}

inline void dequantize_u8_array(std::size_t n, const std::uint8_t* q, float* out,
                                const QuantizationParams& params,
                                const ElementwiseKernel<VdequantizeFn>& kernel) {
  check_quantization_params(params, "dequantize_u8_array", "input");
  FROST_CHECK(n == 0 || (q != nullptr && out != nullptr), "dequantize_u8_array",
              "null pointer for ", n, " elements");
  FROST_CHECK(isa_supported(kernel.isa), "dequantize_u8_array", "this CPU cannot run ",
              kernel.name);
  elementwise::parallel_elements(
      n, [&](std::size_t i, std::size_t len) { kernel.fn(len, q + i, out + i, params); });
}
inline void dequantize_u8_array(std::size_t n, const std::uint8_t* q, float* out,
                                const QuantizationParams& params) {
  dequantize_u8_array(n, q, out, params, select_elementwise_kernel(kVdequantizeKernels));
}

// input [batch][params.pixels][channels] -> output [batch][channels]; images split over threads.
inline void global_average_pool_nhwc_u8(std::int64_t batch, std::int64_t channels,
                                        const std::uint8_t* input, std::uint8_t* output,
                                        const GlobalAvgPoolParams& params,
                                        const ElementwiseKernel<ChannelSumsFn>& kernel) {
  FROST_CHECK(batch >= 1 && channels >= 1, "global_average_pool_nhwc_u8",
              "batch and channels must be >= 1, got ", batch, " and ", channels);
  FROST_CHECK(params.pixels >= 1 && params.pixels <= kMaxPoolPixels, "global_average_pool_nhwc_u8",
              "bad pixel count ", params.pixels);
  FROST_CHECK(input != nullptr && output != nullptr, "global_average_pool_nhwc_u8", "null pointer");
  FROST_CHECK(isa_supported(kernel.isa), "global_average_pool_nhwc_u8", "this CPU cannot run ",
              kernel.name);
  parallel_for(0, batch, 1, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<std::int32_t> sums(static_cast<std::size_t>(channels));
    for (std::int64_t n = lo; n < hi; ++n) {
      kernel.fn(params.pixels, channels, input + n * params.pixels * channels, sums.data());
      for (std::int64_t c = 0; c < channels; ++c)
        output[n * channels + c] =
            global_avg_pool_output(sums[static_cast<std::size_t>(c)], params);
    }
  });
}
inline void global_average_pool_nhwc_u8(std::int64_t batch, std::int64_t channels,
                                        const std::uint8_t* input, std::uint8_t* output,
                                        const GlobalAvgPoolParams& params) {
  global_average_pool_nhwc_u8(batch, channels, input, output, params,
                              select_elementwise_kernel(kChannelSumsKernels));
}

// One input of a channel concatenation: [pixels][channels] codes with their own parameters.
struct ConcatInput {
  const std::uint8_t* data = nullptr;
  std::int64_t channels = 0;
  QuantizationParams quantization;
};

// output [pixels][sum of channels]: each input requantized to `output_quantization` (a copy when
// its parameters already equal the output's, which the spec then reproduces exactly).
inline void concat_channels_nhwc_u8(std::int64_t pixels, std::span<const ConcatInput> inputs,
                                    const QuantizationParams& output_quantization,
                                    std::uint8_t* output) {
  check_quantization_params(output_quantization, "concat_channels_nhwc_u8", "output");
  FROST_CHECK(pixels >= 0 && !inputs.empty() && output != nullptr, "concat_channels_nhwc_u8",
              "need pixels >= 0, at least one input and an output, got ", pixels, " pixels and ",
              inputs.size(), " inputs");
  std::int64_t out_channels = 0;
  std::vector<LookupTable> tables(inputs.size());
  std::vector<bool> identity(inputs.size());
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const ConcatInput& in = inputs[k];
    FROST_CHECK(in.channels >= 1 && in.data != nullptr, "concat_channels_nhwc_u8", "input ", k,
                " has ", in.channels, " channels", in.data == nullptr ? " and no data" : "");
    check_quantization_params(in.quantization, "concat_channels_nhwc_u8", "input");
    out_channels += in.channels;
    identity[k] = in.quantization.scale == output_quantization.scale &&
                  in.quantization.zero_point == output_quantization.zero_point;
    if (!identity[k]) {
      const float multiplier = in.quantization.scale / output_quantization.scale;
      check_requantization_scale(multiplier, "concat_channels_nhwc_u8");
      for (int q = 0; q < 256; ++q)
        tables[k][static_cast<std::size_t>(q)] =
            requantize_u8(static_cast<std::uint8_t>(q), in.quantization.zero_point, multiplier,
                          full_range(output_quantization.zero_point));
    }
  }
  parallel_for(0, pixels, std::max<std::int64_t>(1, (std::int64_t{1} << 14) / out_channels),
               [&](std::int64_t lo, std::int64_t hi) {
                 for (std::int64_t p = lo; p < hi; ++p) {
                   std::uint8_t* out = output + p * out_channels;
                   for (std::size_t k = 0; k < inputs.size(); ++k) {
                     const auto C = static_cast<std::size_t>(inputs[k].channels);
                     const std::uint8_t* in = inputs[k].data + static_cast<std::size_t>(p) * C;
                     if (identity[k])
                       std::memcpy(out, in, C);
                     else
                       apply_lookup_table(C, tables[k], in, out);
                     out += C;
                   }
                 }
               });
}

}  // namespace frost::kernels
