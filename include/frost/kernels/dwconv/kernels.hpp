#pragma once
// The one list of depthwise kernels: dispatch, tests and benchmarks all read kDwconvKernels.
// Names follow XNNPACK's grammar: qu8 (u8 activations) dwconv, minmax clamp, fp32
// requantization, the shape it is specialised for (or "general"), then __isa.

#include <cstdint>
#include <span>
#include <string_view>

#include "frost/config.hpp"
#include "frost/kernels/dwconv/avx2.hpp"
#include "frost/kernels/dwconv/avx512vnni.hpp"
#include "frost/kernels/dwconv/neon.hpp"
#include "frost/kernels/dwconv/packing.hpp"
#include "frost/kernels/dwconv/scalar.hpp"
#include "frost/kernels/isa.hpp"

namespace frost::kernels {

// Computes output rows [row_begin, row_end) of the flattened (batch, output_height) index.
using DwconvKernelFn = void (*)(const DwconvGeometry& geometry, const PackedDwconvWeights& weights,
                                const std::uint8_t* input, std::uint8_t* output,
                                std::int64_t row_begin, std::int64_t row_end);

struct DwconvKernel {
  std::string_view name;
  Isa isa;
  int kernel_height;  // 0: the general kernel of its ISA (any size, stride and dilation)
  int kernel_width;
  int stride_height;
  int stride_width;
  int channel_tile;  // channels per SIMD step; tests probe counts below, at, between and above it
  DwconvKernelFn fn;

  bool handles(const DwconvGeometry& g) const {
    if (kernel_height == 0) return true;
    return g.kernel_height == kernel_height && g.kernel_width == kernel_width &&
           g.stride_height == stride_height && g.stride_width == stride_width &&
           g.dilation_height == 1 && g.dilation_width == 1;
  }
};

// Specialised kernels first; each ISA's general kernel last.
inline constexpr DwconvKernel kDwconvKernels[] = {
#if FROST_ARCH_X86_64
    {"qu8_dwconv_minmax_fp32_3x3s1__avx512vnni", Isa::avx512vnni, 3, 3, 1, 1, 16,
     &dwconv::dwconv_quads_avx512vnni<3, 3, 1, 1>},
    {"qu8_dwconv_minmax_fp32_3x3s2__avx512vnni", Isa::avx512vnni, 3, 3, 2, 2, 16,
     &dwconv::dwconv_quads_avx512vnni<3, 3, 2, 2>},
    {"qu8_dwconv_minmax_fp32_5x5s1__avx512vnni", Isa::avx512vnni, 5, 5, 1, 1, 16,
     &dwconv::dwconv_quads_avx512vnni<5, 5, 1, 1>},
    {"qu8_dwconv_minmax_fp32_5x5s2__avx512vnni", Isa::avx512vnni, 5, 5, 2, 2, 16,
     &dwconv::dwconv_quads_avx512vnni<5, 5, 2, 2>},
    {"qu8_dwconv_minmax_fp32_general__avx512vnni", Isa::avx512vnni, 0, 0, 0, 0, 16,
     &dwconv::dwconv_general_avx512vnni},
    {"qu8_dwconv_minmax_fp32_3x3s1__avx2", Isa::avx2, 3, 3, 1, 1, 8,
     &dwconv::dwconv_pairs_avx2<3, 3, 1, 1>},
    {"qu8_dwconv_minmax_fp32_3x3s2__avx2", Isa::avx2, 3, 3, 2, 2, 8,
     &dwconv::dwconv_pairs_avx2<3, 3, 2, 2>},
    {"qu8_dwconv_minmax_fp32_5x5s1__avx2", Isa::avx2, 5, 5, 1, 1, 8,
     &dwconv::dwconv_pairs_avx2<5, 5, 1, 1>},
    {"qu8_dwconv_minmax_fp32_5x5s2__avx2", Isa::avx2, 5, 5, 2, 2, 8,
     &dwconv::dwconv_pairs_avx2<5, 5, 2, 2>},
    {"qu8_dwconv_minmax_fp32_general__avx2", Isa::avx2, 0, 0, 0, 0, 8,
     &dwconv::dwconv_general_avx2},
#endif
#if FROST_ARCH_AARCH64
    {"qu8_dwconv_minmax_fp32_3x3s1__neon", Isa::neon, 3, 3, 1, 1, 16,
     &dwconv::dwconv_neon<3, 3, 1, 1>},
    {"qu8_dwconv_minmax_fp32_3x3s2__neon", Isa::neon, 3, 3, 2, 2, 16,
     &dwconv::dwconv_neon<3, 3, 2, 2>},
    {"qu8_dwconv_minmax_fp32_5x5s1__neon", Isa::neon, 5, 5, 1, 1, 16,
     &dwconv::dwconv_neon<5, 5, 1, 1>},
    {"qu8_dwconv_minmax_fp32_5x5s2__neon", Isa::neon, 5, 5, 2, 2, 16,
     &dwconv::dwconv_neon<5, 5, 2, 2>},
    {"qu8_dwconv_minmax_fp32_general__neon", Isa::neon, 0, 0, 0, 0, 8,
     &dwconv::dwconv_general_neon},
#endif
    {"qu8_dwconv_minmax_fp32_general__scalar", Isa::scalar, 0, 0, 0, 0, 1,
     &dwconv::dwconv_general_scalar},
};

// The kernel dispatch runs for `g` on `isa` (default: the active path).
inline const DwconvKernel& select_dwconv_kernel(const DwconvGeometry& g, Isa isa = active_isa()) {
  for (Isa candidate = isa;; candidate = fallback_isa(candidate)) {
    for (const DwconvKernel& k : kDwconvKernels)
      if (k.isa == candidate && k.handles(g)) return k;
    if (candidate == Isa::scalar) break;
  }
  frost::detail::throw_error("select_dwconv_kernel", "no kernel for this geometry");  // unreachable
}

}  // namespace frost::kernels
