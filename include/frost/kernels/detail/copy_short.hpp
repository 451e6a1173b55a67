#pragma once
// Copies n < kBound bytes (kBound a power of two up to 16) as at most four fixed-size moves. A
// memcpy of a run-time size becomes a library call, and a call in a micro-kernel clobbers every
// vector register: all accumulators are spilled and reloaded around it (seen at the K tail of
// the GEMM, where it made small-K shapes several times slower).

#include <cstddef>
#include <cstring>

#include "frost/kernels/detail/target.hpp"

namespace frost::kernels::detail {

template <std::size_t kBound>
FROST_ALWAYS_INLINE void copy_short(void* dst, const void* src, std::size_t n) {
  static_assert(kBound == 2 || kBound == 4 || kBound == 8 || kBound == 16);
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  if constexpr (kBound > 8) {
    if (n & 8) {
      std::memcpy(d, s, 8);
      d += 8;
      s += 8;
    }
  }
  if constexpr (kBound > 4) {
    if (n & 4) {
      std::memcpy(d, s, 4);
      d += 4;
      s += 4;
    }
  }
  if constexpr (kBound > 2) {
    if (n & 2) {
      std::memcpy(d, s, 2);
      d += 2;
      s += 2;
    }
  }
  if (n & 1) *d = *s;
}

}  // namespace frost::kernels::detail
