#pragma once
// The one signature of every GEMM micro-kernel driver: compute output rows [m_begin, m_end) of
// the packed blocks [block_begin, block_end), with fused bias and requantization.

#include <cstdint>
#include <type_traits>

#include "frost/kernels/gemm/packing.hpp"
#include "frost/kernels/requantize.hpp"

namespace frost::kernels {

struct GemmTileArgs {
  const std::uint8_t* a = nullptr;  // activations, M x K
  std::int64_t a_stride_bytes = 0;
  const PackedWeights* weights = nullptr;
  // u8 output (when c != nullptr): scales has N entries if per_channel_scales, else 1.
  const float* scales = nullptr;
  bool per_channel_scales = false;
  // Every scale < 1, so float(acc) * scale always converts to int32 without overflow: kernels
  // may then clamp after rounding, in the integer domain (same result, fewer instructions).
  bool scales_below_one = false;
  OutputQuantization output;
  std::uint8_t* c = nullptr;
  std::int64_t c_stride_bytes = 0;
  // int32 output (when c == nullptr): acc as defined in gemm/params.hpp.
  std::int32_t* c32 = nullptr;
  std::int64_t c32_stride = 0;  // elements
};

using GemmTileFn = void (*)(const GemmTileArgs& args, std::int64_t m_begin, std::int64_t m_end,
                            std::int64_t block_begin, std::int64_t block_end);

// One row of the kernel list (gemm/kernel_list.hpp).
struct GemmKernel {
  const char* name;  // XNNPACK grammar; also the test and benchmark name
  Isa isa;
  PackedLayout layout;
  int mr;  // rows of the register tile
  GemmTileFn run;
};

namespace detail {

template <int kRows, int R = kRows - 1, class TileFn>
void last_row_tile(int rows, std::int64_t m, std::int64_t b, TileFn& tile) {
  if constexpr (R >= 1) {
    if (rows == R) return tile(std::integral_constant<int, R>{}, m, b);
    last_row_tile<kRows, R - 1>(rows, m, b, tile);
  }
}

// Rows [m_begin, m_end) of column block b as register tiles: tile(rows, m, b) with `rows` a
// std::integral_constant, kRows for every full tile and then the count left over, so the
// micro-kernel is instantiated once per height. No SIMD here: `tile` calls into the path's
// target-specific code.
template <int kRows, class TileFn>
void for_each_row_tile(std::int64_t m_begin, std::int64_t m_end, std::int64_t b, TileFn&& tile) {
  std::int64_t m = m_begin;
  for (; m + kRows <= m_end; m += kRows) tile(std::integral_constant<int, kRows>{}, m, b);
  if (m < m_end) last_row_tile<kRows>(static_cast<int>(m_end - m), m, b, tile);
}

// Every register tile of rows [m_begin, m_end) times column blocks [block_begin, block_end), for
// kernels whose blocks hold 1 or 2 slivers: tile(rows, slivers, m, b), rows and slivers as
// std::integral_constant.
template <int kRows, class TileFn>
void for_each_tile(const PackedWeights& w, std::int64_t m_begin, std::int64_t m_end,
                   std::int64_t block_begin, std::int64_t block_end, TileFn&& tile) {
  for (std::int64_t b = block_begin; b < block_end; ++b) {
    if (w.block_slivers(b) == 2)
      for_each_row_tile<kRows>(m_begin, m_end, b, [&](auto rows, std::int64_t m, std::int64_t bb) {
        tile(rows, std::integral_constant<int, 2>{}, m, bb);
      });
    else
      for_each_row_tile<kRows>(m_begin, m_end, b, [&](auto rows, std::int64_t m, std::int64_t bb) {
        tile(rows, std::integral_constant<int, 1>{}, m, bb);
      });
  }
}

// The scale of column n.
inline float column_scale(const GemmTileArgs& args, std::int64_t n) {
  return args.per_channel_scales ? args.scales[n] : args.scales[0];
}
}  // namespace detail

}  // namespace frost::kernels
