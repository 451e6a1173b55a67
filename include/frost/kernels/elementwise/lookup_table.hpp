#pragma once
// Unary INT8 ops through a 256-entry table built from the float definition:
//   table[q] = quantize(f(dequantize(q, input)), output)
// so the INT8 op is exactly "dequantize, apply f in float, quantize", for any f.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "frost/kernels/reference/elementwise.hpp"

namespace frost::kernels {

using LookupTable = std::array<std::uint8_t, 256>;

enum class UnaryOp { hardswish, hardsigmoid, sigmoid, tanh };

// PyTorch's float definitions.
inline float unary_op(UnaryOp op, float x) {
  switch (op) {
    case UnaryOp::hardswish:
      return x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f;
    case UnaryOp::hardsigmoid:
      return std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f;
    case UnaryOp::sigmoid:
      return 1.0f / (1.0f + std::exp(-x));
    case UnaryOp::tanh:
      return std::tanh(x);
  }
  return x;
}

template <class F>
inline LookupTable make_lookup_table(F&& f, const QuantizationParams& input,
                                     const QuantizationParams& output) {
  check_quantization_params(input, "make_lookup_table", "input");
  check_quantization_params(output, "make_lookup_table", "output");
  LookupTable table{};
  for (int q = 0; q < 256; ++q)
    table[static_cast<std::size_t>(q)] = quantize_u8(
        static_cast<float>(f(dequantize_u8(static_cast<std::uint8_t>(q), input))), output);
  return table;
}

inline LookupTable make_unary_lookup_table(UnaryOp op, const QuantizationParams& input,
                                           const QuantizationParams& output) {
  return make_lookup_table([op](float x) { return unary_op(op, x); }, input, output);
}

inline void apply_lookup_table(std::size_t n, const LookupTable& table, const std::uint8_t* input,
                               std::uint8_t* output) {
  for (std::size_t i = 0; i < n; ++i) output[i] = table[input[i]];
}

}  // namespace frost::kernels
