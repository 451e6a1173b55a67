#pragma once
// The one list of INT8 GEMM kernels: dispatch, tests and benchmarks all read this table.
// A row exists for every path the target architecture can compile; whether this CPU can run it
// is isa_supported(kernel.isa).

#include "frost/config.hpp"
#include "frost/core/error.hpp"
#include "frost/kernels/gemm/avx2.hpp"
#include "frost/kernels/gemm/avx2_reduce_range.hpp"
#include "frost/kernels/gemm/avx512vnni.hpp"
#include "frost/kernels/gemm/avxvnni.hpp"
#include "frost/kernels/gemm/microkernel.hpp"
#include "frost/kernels/gemm/neon.hpp"
#include "frost/kernels/gemm/neondot.hpp"
#include "frost/kernels/gemm/scalar.hpp"
#include "frost/kernels/isa.hpp"

namespace frost::kernels {

inline constexpr GemmKernel kGemmKernels[] = {
    gemm_scalar::kKernel,
#if FROST_ARCH_X86_64
    gemm_avx2::kKernel,
    gemm_avxvnni::kKernel,
    gemm_avx512vnni::kKernel,
    gemm_avx2_reduce_range::kKernel,  // opt-in only: 7-bit activations
#endif
#if FROST_ARCH_AARCH64
    gemm_neon::kKernel,
    gemm_neondot::kKernel,
#endif
};

// The kernel of a path. reduce_range asks for a kernel that needs 7-bit activations ([0, 127])
// where the path has one (AVX2: vpmaddubsw); elsewhere the full-range kernel serves both.
inline const GemmKernel& gemm_kernel(Isa isa, bool reduce_range = false) {
  for (const GemmKernel& kernel : kGemmKernels)
    if (kernel.isa == isa && kernel.layout.reduce_range == reduce_range) return kernel;
  if (reduce_range) return gemm_kernel(isa, false);
  frost::detail::throw_error("gemm_kernel", "no INT8 GEMM kernel for the '", isa_name(isa),
                             "' path on this architecture");
}

}  // namespace frost::kernels
