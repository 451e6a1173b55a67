#pragma once
// The element-wise kernel lists: one per op family, read by dispatch, tests and benchmarks.
// Names follow XNNPACK's grammar (qu8_vadd_minmax_fp32__avx2, f32_qu8_vcvt__avx512vnni, ...).
// The lookup-table ops (unary activations, concat requantization) are scalar only: a table
// lookup per byte is already as cheap as the loads and stores around it.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "frost/config.hpp"
#include "frost/kernels/elementwise/avx2.hpp"
#include "frost/kernels/elementwise/avx512vnni.hpp"
#include "frost/kernels/elementwise/neon.hpp"
#include "frost/kernels/elementwise/scalar.hpp"
#include "frost/kernels/isa.hpp"

namespace frost::kernels {

using VaddFn = void (*)(std::size_t n, const std::uint8_t* a, const std::uint8_t* b,
                        std::uint8_t* out, const AddParams& params);
using VquantizeFn = void (*)(std::size_t n, const float* x, std::uint8_t* out,
                             const QuantizationParams& params);
using VdequantizeFn = void (*)(std::size_t n, const std::uint8_t* q, float* out,
                               const QuantizationParams& params);
// sums[c] = sum of input[pixel][c] over pixels (global average pooling's reduction).
using ChannelSumsFn = void (*)(std::int64_t pixels, std::int64_t channels,
                               const std::uint8_t* input, std::int32_t* sums);

template <class Fn>
struct ElementwiseKernel {
  std::string_view name;
  Isa isa;
  Fn fn;
};

inline constexpr ElementwiseKernel<VaddFn> kVaddKernels[] = {
#if FROST_ARCH_X86_64
    {"qu8_vadd_minmax_fp32__avx512vnni", Isa::avx512vnni, &elementwise::vadd_avx512vnni},
    {"qu8_vadd_minmax_fp32__avx2", Isa::avx2, &elementwise::vadd_avx2},
#endif
#if FROST_ARCH_AARCH64
    {"qu8_vadd_minmax_fp32__neon", Isa::neon, &elementwise::vadd_neon},
#endif
    {"qu8_vadd_minmax_fp32__scalar", Isa::scalar, &elementwise::vadd_scalar},
};

inline constexpr ElementwiseKernel<VquantizeFn> kVquantizeKernels[] = {
#if FROST_ARCH_X86_64
    {"f32_qu8_vcvt__avx512vnni", Isa::avx512vnni, &elementwise::vquantize_avx512vnni},
    {"f32_qu8_vcvt__avx2", Isa::avx2, &elementwise::vquantize_avx2},
#endif
#if FROST_ARCH_AARCH64
    {"f32_qu8_vcvt__neon", Isa::neon, &elementwise::vquantize_neon},
#endif
    {"f32_qu8_vcvt__scalar", Isa::scalar, &elementwise::vquantize_scalar},
};

inline constexpr ElementwiseKernel<VdequantizeFn> kVdequantizeKernels[] = {
#if FROST_ARCH_X86_64
    {"qu8_f32_vcvt__avx512vnni", Isa::avx512vnni, &elementwise::vdequantize_avx512vnni},
    {"qu8_f32_vcvt__avx2", Isa::avx2, &elementwise::vdequantize_avx2},
#endif
#if FROST_ARCH_AARCH64
    {"qu8_f32_vcvt__neon", Isa::neon, &elementwise::vdequantize_neon},
#endif
    {"qu8_f32_vcvt__scalar", Isa::scalar, &elementwise::vdequantize_scalar},
};

inline constexpr ElementwiseKernel<ChannelSumsFn> kChannelSumsKernels[] = {
#if FROST_ARCH_X86_64
    {"qu8_gavgpool_sum__avx512vnni", Isa::avx512vnni, &elementwise::channel_sums_avx512vnni},
    {"qu8_gavgpool_sum__avx2", Isa::avx2, &elementwise::channel_sums_avx2},
#endif
#if FROST_ARCH_AARCH64
    {"qu8_gavgpool_sum__neon", Isa::neon, &elementwise::channel_sums_neon},
#endif
    {"qu8_gavgpool_sum__scalar", Isa::scalar, &elementwise::channel_sums_scalar},
};

// The kernel of `list` that dispatch runs on `isa` (default: the active path).
template <class Fn, std::size_t N>
inline const ElementwiseKernel<Fn>& select_elementwise_kernel(
    const ElementwiseKernel<Fn> (&list)[N], Isa isa = active_isa()) {
  for (Isa candidate = isa;; candidate = fallback_isa(candidate)) {
    for (const ElementwiseKernel<Fn>& k : list)
      if (k.isa == candidate) return k;
    if (candidate == Isa::scalar) break;
  }
  frost::detail::throw_error("select_elementwise_kernel",
                             "no scalar kernel in the list");  // unreachable
}

}  // namespace frost::kernels
