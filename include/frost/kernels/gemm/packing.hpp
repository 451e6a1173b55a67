#pragma once
// Weights of the INT8 GEMM packed once, into the layout one micro-kernel reads linearly.
//
// Layout: the N columns are cut into slivers of `nr` columns (one SIMD register of int32
// accumulators); `block` slivers side by side form one register tile of the micro-kernel; K is
// cut into groups of `kr` consecutive k (the depth of one dot-product instruction: 4 for
// vpdpbusd / sdot, 2 for vpmaddwd, 1 for widening multiplies). Inside a block the groups come
// first, so the micro-kernel walks its weights as one stream:
//
//   element (k, n) of block b, sliver r, column c:  base(b) + ((g * block_b + r) * nr + c) * kr +
//   kk with g = k / kr, kk = k % kr, and block_b the slivers in block b (the last block may be
//   narrower).
//
// K is padded to a multiple of kr and N to a multiple of nr with zero weights, so tails cost
// no branches in the inner loop and padded lanes contribute nothing.
//
// The activation zero point and the bias are folded into one int32 per column, so the inner
// loop is a plain u8 x s8 dot product:
//   acc = sum_k (a - a_zp) * w + bias = sum_k (a - shift) * w + [bias + (shift - a_zp) * sum_k w]
// where `shift` is what the kernel subtracts from activations itself (128 on NEON sdot, which
// multiplies s8 by s8 and sees a ^ 0x80 = a - 128; 0 elsewhere).

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "frost/core/error.hpp"
#include "frost/kernels/detail/aligned_buffer.hpp"
#include "frost/kernels/gemm/params.hpp"
#include "frost/kernels/isa.hpp"

namespace frost::kernels {

struct PackedLayout {
  int nr = 1;                 // columns per sliver
  int kr = 1;                 // consecutive k per column and group
  int block = 1;              // slivers per register tile
  bool widen_to_s16 = false;  // weights stored as int16 (widening-multiply kernels)
  int activation_shift = 0;   // the kernel computes with (a - shift); 0 or 128
  bool reduce_range = false;  // exact only for activations in [0, 127] (checked by qu8_gemm)
};

class PackedWeights {
 public:
  PackedWeights() = default;

  // b[k][n] = b.data[k * b.stride_k + n * b.stride_n]; bias may be null (zero).
  PackedWeights(Isa isa, const PackedLayout& layout, std::int64_t k, std::int64_t n, WeightView b,
                const std::int32_t* bias, std::int32_t a_zero_point)
      : isa_(isa), layout_(layout), k_(k), n_(n), a_zero_point_(a_zero_point) {
    check_gemm_shape(1, n, k, a_zero_point, "pack_gemm_weights");
    FROST_CHECK(b.data != nullptr, "pack_gemm_weights", "weights pointer is null (K=", k, " N=", n,
                ")");
    k_padded_ = (k + layout.kr - 1) / layout.kr * layout.kr;
    n_padded_ = (n + layout.nr - 1) / layout.nr * layout.nr;
    const std::int64_t element_bytes = layout.widen_to_s16 ? 2 : 1;
    data_ = detail::AlignedBuffer<std::int8_t>(
        static_cast<std::size_t>(k_padded_ * n_padded_ * element_bytes));
    bias_ = detail::AlignedBuffer<std::int32_t>(static_cast<std::size_t>(n_padded_));
    for (std::int64_t j = 0; j < n; ++j) {
      std::int64_t column_sum = 0;
      for (std::int64_t i = 0; i < k; ++i) {
        const std::int8_t w = b(i, j);
        column_sum += w;
        const std::int64_t at = offset(i, j);
        if (layout.widen_to_s16) {
          const std::int16_t w16 = w;
          std::memcpy(data_.data() + at * 2, &w16, sizeof w16);
        } else {
          data_[static_cast<std::size_t>(at)] = w;
        }
      }
      // Modulo 2^32, like the accumulation itself (see gemm/params.hpp).
      const std::int64_t folded = (bias != nullptr ? std::int64_t{bias[j]} : 0) +
                                  (layout.activation_shift - a_zero_point) * column_sum;
      bias_[static_cast<std::size_t>(j)] =
          static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(folded)));
    }
  }

  Isa isa() const { return isa_; }
  const PackedLayout& layout() const { return layout_; }
  std::int64_t k() const { return k_; }
  std::int64_t n() const { return n_; }
  std::int64_t k_padded() const { return k_padded_; }
  std::int64_t n_padded() const { return n_padded_; }
  std::int32_t a_zero_point() const { return a_zero_point_; }
  bool empty() const { return data_.empty(); }

  std::int64_t slivers() const { return n_padded_ / layout_.nr; }
  std::int64_t blocks() const { return (slivers() + layout_.block - 1) / layout_.block; }
  // Slivers in block b: `block`, except possibly the last.
  int block_slivers(std::int64_t b) const {
    return static_cast<int>(std::min<std::int64_t>(layout_.block, slivers() - b * layout_.block));
  }
  std::int64_t block_first_column(std::int64_t b) const { return b * layout_.block * layout_.nr; }
  // First weight of block b, in elements (int8 or int16).
  std::int64_t block_offset(std::int64_t b) const {
    return b * layout_.block * layout_.nr * k_padded_;
  }

  template <class T>
  const T* weights() const {
    return reinterpret_cast<const T*>(data_.data());
  }
  // Folded bias per column (see above); padded columns hold 0.
  const std::int32_t* bias() const { return bias_.data(); }

 private:
  std::int64_t offset(std::int64_t k, std::int64_t n) const {
    const std::int64_t sliver = n / layout_.nr, c = n % layout_.nr;
    const std::int64_t b = sliver / layout_.block, r = sliver % layout_.block;
    const std::int64_t g = k / layout_.kr, kk = k % layout_.kr;
    return block_offset(b) + ((g * block_slivers(b) + r) * layout_.nr + c) * layout_.kr + kk;
  }

  Isa isa_ = Isa::scalar;
  PackedLayout layout_;
  std::int64_t k_ = 0, n_ = 0, k_padded_ = 0, n_padded_ = 0;
  std::int32_t a_zero_point_ = 0;
  detail::AlignedBuffer<std::int8_t> data_;
  detail::AlignedBuffer<std::int32_t> bias_;
};

}  // namespace frost::kernels
