#pragma once
// The scalar oracle of the INT8 GEMM: the definition every packed, SIMD and threaded path is
// tested against, written for clarity only (no packing, no zero-point folding).

#include <cstdint>

#include "frost/core/error.hpp"
#include "frost/kernels/gemm/params.hpp"
#include "frost/kernels/requantize.hpp"

namespace frost::kernels::reference {

// acc[m][n] = bias[n] + sum_k (a[m][k] - a_zero_point) * b[k][n], modulo 2^32.
// bias may be null (zero).
inline std::int32_t qu8_dot(const std::uint8_t* a_row, std::int32_t a_zero_point, WeightView b,
                            std::int64_t n, std::int64_t k, const std::int32_t* bias) {
  std::uint32_t acc = bias != nullptr ? static_cast<std::uint32_t>(bias[n]) : 0u;
  for (std::int64_t i = 0; i < k; ++i) {
    const std::int32_t product = (std::int32_t{a_row[i]} - a_zero_point) * std::int32_t{b(i, n)};
    acc += static_cast<std::uint32_t>(product);
  }
  return static_cast<std::int32_t>(acc);
}

// Raw int32 output: c[m * c_stride + n] = acc[m][n].
inline void qu8_gemm_s32(std::int64_t m, std::int64_t n, std::int64_t k, const std::uint8_t* a,
                         std::int64_t a_stride_bytes, std::int32_t a_zero_point, WeightView b,
                         const std::int32_t* bias, std::int32_t* c, std::int64_t c_stride) {
  check_gemm_shape(m, n, k, a_zero_point, "reference::qu8_gemm_s32");
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      c[i * c_stride + j] = qu8_dot(a + i * a_stride_bytes, a_zero_point, b, j, k, bias);
}

// Requantized u8 output: c[m * c_stride_bytes + n] = requantize(acc[m][n], scale[n], output).
inline void qu8_gemm(std::int64_t m, std::int64_t n, std::int64_t k, const std::uint8_t* a,
                     std::int64_t a_stride_bytes, std::int32_t a_zero_point, WeightView b,
                     const std::int32_t* bias, const GemmRequantization& rq, std::uint8_t* c,
                     std::int64_t c_stride_bytes) {
  check_gemm_shape(m, n, k, a_zero_point, "reference::qu8_gemm");
  check_gemm_requantization(rq, n, "reference::qu8_gemm");
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      const float scale = rq.scales.size() == 1 ? rq.scales[0] : rq.scales[j];
      const std::int32_t acc = qu8_dot(a + i * a_stride_bytes, a_zero_point, b, j, k, bias);
      c[i * c_stride_bytes + j] = requantize(acc, scale, rq.output);
    }
}

}  // namespace frost::kernels::reference
