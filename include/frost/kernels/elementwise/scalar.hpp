#pragma once
// Portable loops over the element specs of reference/elementwise.hpp: the scalar paths of the
// element-wise kernel lists, and the tails of the SIMD paths.

#include <cstddef>
#include <cstdint>

#include "frost/kernels/reference/elementwise.hpp"

namespace frost::kernels::elementwise {

inline void vadd_scalar(std::size_t n, const std::uint8_t* a, const std::uint8_t* b,
                        std::uint8_t* out, const AddParams& p) {
  for (std::size_t i = 0; i < n; ++i) out[i] = add_u8(a[i], b[i], p);
}

inline void vquantize_scalar(std::size_t n, const float* x, std::uint8_t* out,
                             const QuantizationParams& p) {
  for (std::size_t i = 0; i < n; ++i) out[i] = quantize_u8(x[i], p);
}

inline void vdequantize_scalar(std::size_t n, const std::uint8_t* q, float* out,
                               const QuantizationParams& p) {
  for (std::size_t i = 0; i < n; ++i) out[i] = dequantize_u8(q[i], p);
}

// sums[c] = sum over pixels of input[pixel][c].
inline void channel_sums_scalar(std::int64_t pixels, std::int64_t channels,
                                const std::uint8_t* input, std::int32_t* sums) {
  for (std::int64_t c = 0; c < channels; ++c) sums[c] = 0;
  for (std::int64_t i = 0; i < pixels; ++i)
    for (std::int64_t c = 0; c < channels; ++c) sums[c] += input[i * channels + c];
}

}  // namespace frost::kernels::elementwise
