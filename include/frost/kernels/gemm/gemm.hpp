#pragma once
// The INT8 GEMM: pack the weights once, then multiply activations by them as often as needed.
//
//   auto w = pack_gemm_weights(K, N, {b, N, 1}, bias, a_zero_point);   // b is K x N row-major
//   qu8_gemm(M, a, K, w, {scales, output}, c, N);                       // c = requantized u8
//
// Numerics: gemm/params.hpp and requantize.hpp; every path equals reference::qu8_gemm bit for
// bit. The weights are packed for one path (the active one by default); the multiply runs the
// kernel of that path, split over row panels and column blocks on the frost thread pool.
// The split never changes a result: each output is computed by one thread, in one order.

#include <algorithm>
#include <cstdint>

#include "frost/core/error.hpp"
#include "frost/core/parallel.hpp"
#include "frost/kernels/gemm/kernel_list.hpp"
#include "frost/kernels/gemm/packing.hpp"
#include "frost/kernels/gemm/params.hpp"
#include "frost/kernels/isa.hpp"

namespace frost::kernels {

// Packs b for one kernel of the list. b[k][n] = b.data[k * b.stride_k + n * b.stride_n]; bias
// (N entries) may be null. The activation zero point is folded into the packed bias, so it is
// fixed here.
inline PackedWeights pack_gemm_weights(std::int64_t k, std::int64_t n, WeightView b,
                                       const std::int32_t* bias, std::int32_t a_zero_point,
                                       const GemmKernel& kernel) {
  FROST_CHECK(isa_supported(kernel.isa), "pack_gemm_weights", "this CPU cannot run ", kernel.name);
  FROST_CHECK(!kernel.layout.reduce_range || a_zero_point <= 127, "pack_gemm_weights", kernel.name,
              " needs 7-bit activations, but the zero point is ", a_zero_point);
  return PackedWeights(kernel.isa, kernel.layout, k, n, b, bias, a_zero_point);
}

// Packs b for the full-range kernel of a path (the active one by default).
inline PackedWeights pack_gemm_weights(std::int64_t k, std::int64_t n, WeightView b,
                                       const std::int32_t* bias, std::int32_t a_zero_point,
                                       Isa isa = active_isa()) {
  FROST_CHECK(isa_supported(isa), "pack_gemm_weights", "this CPU cannot run the '", isa_name(isa),
              "' path");
  return pack_gemm_weights(k, n, b, bias, a_zero_point, gemm_kernel(isa));
}

namespace detail {

// Below this many multiply-adds a GEMM stays on the calling thread.
inline constexpr std::int64_t kMinParallelMacs = std::int64_t{1} << 18;

inline void check_gemm_call(std::int64_t m, const std::uint8_t* a, std::int64_t a_stride_bytes,
                            const PackedWeights& w, const void* c, std::int64_t c_stride,
                            const char* op) {
  FROST_CHECK(!w.empty(), op, "weights are not packed");
  FROST_CHECK(m >= 1, op, "M must be >= 1, got ", m, " (N=", w.n(), " K=", w.k(), ")");
  FROST_CHECK(a != nullptr && c != nullptr, op, "null activation or output pointer (M=", m,
              " N=", w.n(), " K=", w.k(), ")");
  FROST_CHECK(a_stride_bytes >= w.k() || m == 1, op, "activation row stride ", a_stride_bytes,
              " < K=", w.k());
  FROST_CHECK(c_stride >= w.n() || m == 1, op, "output row stride ", c_stride, " < N=", w.n());
  if (w.layout().reduce_range) {
    // A 7-bit kernel would saturate silently on larger activations: refuse them instead.
    std::uint8_t high = 0;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < w.k(); ++j) high |= a[i * a_stride_bytes + j];
    FROST_CHECK(high < 128, op,
                "weights packed for 7-bit activations (reduce_range), but an "
                "activation exceeds 127 (M=",
                m, " K=", w.k(), ")");
  }
}

inline void run_gemm(const GemmTileArgs& args, std::int64_t m) {
  const PackedWeights& w = *args.weights;
  const GemmKernel& kernel = gemm_kernel(w.isa(), w.layout().reduce_range);
  const std::int64_t blocks = w.blocks();
  const std::int64_t macs = m * w.n_padded() * w.k_padded();
  if (num_threads() == 1 || macs < kMinParallelMacs) {
    kernel.run(args, 0, m, 0, blocks);
    return;
  }
  // Tiles of mr rows x one column block, numbered block-major so a thread's share is a few
  // contiguous row ranges of few blocks (their weights stay in its cache).
  const std::int64_t row_tiles = (m + kernel.mr - 1) / kernel.mr;
  parallel_for(0, row_tiles * blocks, 1, [&](std::int64_t lo, std::int64_t hi) {
    while (lo < hi) {
      const std::int64_t b = lo / row_tiles, first = lo % row_tiles;
      const std::int64_t last = std::min(row_tiles, first + (hi - lo));
      kernel.run(args, first * kernel.mr, std::min(m, last * kernel.mr), b, b + 1);
      lo += last - first;
    }
  });
}

}  // namespace detail

// c[i * c_stride_bytes + j] = requantize(acc[i][j], scale[j], rq.output), i < m, j < N.
inline void qu8_gemm(std::int64_t m, const std::uint8_t* a, std::int64_t a_stride_bytes,
                     const PackedWeights& w, const GemmRequantization& rq, std::uint8_t* c,
                     std::int64_t c_stride_bytes) {
  detail::check_gemm_call(m, a, a_stride_bytes, w, c, c_stride_bytes, "qu8_gemm");
  check_gemm_requantization(rq, w.n(), "qu8_gemm");
  GemmTileArgs args;
  args.a = a;
  args.a_stride_bytes = a_stride_bytes;
  args.weights = &w;
  args.scales = rq.scales.data();
  args.per_channel_scales = rq.scales.size() != 1 || w.n() == 1;
  args.scales_below_one =
      std::all_of(rq.scales.begin(), rq.scales.end(), [](float scale) { return scale < 1.0f; });
  args.output = rq.output;
  args.c = c;
  args.c_stride_bytes = c_stride_bytes;
  detail::run_gemm(args, m);
}

// c[i * c_stride + j] = acc[i][j] (int32, bias included, no requantization).
inline void qu8_gemm_s32(std::int64_t m, const std::uint8_t* a, std::int64_t a_stride_bytes,
                         const PackedWeights& w, std::int32_t* c, std::int64_t c_stride) {
  detail::check_gemm_call(m, a, a_stride_bytes, w, c, c_stride, "qu8_gemm_s32");
  GemmTileArgs args;
  args.a = a;
  args.a_stride_bytes = a_stride_bytes;
  args.weights = &w;
  args.c32 = c;
  args.c32_stride = c_stride;
  detail::run_gemm(args, m);
}

}  // namespace frost::kernels
