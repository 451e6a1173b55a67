#pragma once
// Portable GEMM path (any CPU): one column of packed weights at a time (layout nr = kr = 1, so
// each column is contiguous over K). Slow; it is the fallback, not the oracle.

#include <cstdint>

#include "frost/kernels/gemm/microkernel.hpp"
#include "frost/kernels/requantize.hpp"

namespace frost::kernels::gemm_scalar {

inline constexpr PackedLayout kLayout{.nr = 1, .kr = 1, .block = 1};

inline void run(const GemmTileArgs& args, std::int64_t m_begin, std::int64_t m_end,
                std::int64_t block_begin, std::int64_t block_end) {
  const PackedWeights& w = *args.weights;
  const std::int64_t k = w.k();
  const std::int8_t* weights = w.weights<std::int8_t>();
  for (std::int64_t m = m_begin; m < m_end; ++m) {
    const std::uint8_t* a = args.a + m * args.a_stride_bytes;
    for (std::int64_t n = block_begin; n < block_end; ++n) {
      const std::int8_t* column = weights + w.block_offset(n);
      std::uint32_t acc = static_cast<std::uint32_t>(w.bias()[n]);
      for (std::int64_t i = 0; i < k; ++i)
        acc += static_cast<std::uint32_t>(std::int32_t{a[i]} * std::int32_t{column[i]});
      if (args.c != nullptr)
        args.c[m * args.c_stride_bytes + n] =
            requantize(static_cast<std::int32_t>(acc), detail::column_scale(args, n), args.output);
      else
        args.c32[m * args.c32_stride + n] = static_cast<std::int32_t>(acc);
    }
  }
}

inline constexpr GemmKernel kKernel{"qu8_gemm_minmax_fp32_1x1__scalar", Isa::scalar, kLayout, 1,
                                    &run};

}  // namespace frost::kernels::gemm_scalar
