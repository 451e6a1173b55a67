#pragma once
// Arguments shared by the reference GEMM, the packed GEMM and every micro-kernel.
//
// The quantized product computed everywhere is
//   acc[m][n] = bias[n] + sum_k (a[m][k] - a_zero_point) * b[k][n]      (modulo 2^32)
// with u8 activations a (row-major, rows are NHWC pixels), s8 weights b and int32 bias, then
// either stored as int32 or requantized to u8 by kernels/requantize.hpp with scale[n] (per
// output channel) or one scale (per tensor). The sum is defined modulo 2^32 so every path, which
// reorders it and folds the zero point into the bias, agrees bit for bit even when a huge K
// overflows int32.

#include <cstdint>
#include <span>

#include "frost/core/error.hpp"
#include "frost/kernels/requantize.hpp"

namespace frost::kernels {

// Weights b[k][n] live at b[k * b_stride_k + n * b_stride_n] (elements), so both K x N
// row-major (b_stride_k = N, b_stride_n = 1) and N x K / OHWI conv weights (1, K) are views.
struct WeightView {
  const std::int8_t* data;
  std::int64_t stride_k;
  std::int64_t stride_n;
  std::int8_t operator()(std::int64_t k, std::int64_t n) const {
    return data[k * stride_k + n * stride_n];
  }
};

inline void check_gemm_shape(std::int64_t m, std::int64_t n, std::int64_t k,
                             std::int32_t a_zero_point, const char* op) {
  FROST_CHECK(m >= 1 && n >= 1 && k >= 1, op, "M, N, K must be >= 1, got M=", m, " N=", n,
              " K=", k);
  FROST_CHECK(a_zero_point >= 0 && a_zero_point <= 255, op,
              "activation zero_point must be in [0, 255], got ", a_zero_point);
}

// How int32 accumulators become u8 outputs: one scale per output channel (size N) or one for
// the whole tensor (size 1), then the output zero point and clamp.
struct GemmRequantization {
  std::span<const float> scales;
  OutputQuantization output;
};

inline void check_gemm_requantization(const GemmRequantization& rq, std::int64_t n,
                                      const char* op) {
  FROST_CHECK(static_cast<std::int64_t>(rq.scales.size()) == n || rq.scales.size() == 1, op,
              "expected 1 (per-tensor) or N = ", n, " (per-channel) scales, got ",
              rq.scales.size());
  for (float scale : rq.scales) check_requantization_scale(scale, op);
  FROST_CHECK(rq.output.zero_point >= 0 && rq.output.zero_point <= 255, op,
              "output zero_point must be in [0, 255], got ", rq.output.zero_point);
  FROST_CHECK(rq.output.output_min <= rq.output.output_max, op, "output_min ",
              int{rq.output.output_min}, " > output_max ", int{rq.output.output_max});
}

}  // namespace frost::kernels
