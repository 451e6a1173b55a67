#pragma once
// Element counts of user-given shapes, checked before any index arithmetic: a kernel computes
// offsets such as ((n * H + y) * W + x) * C in int64, which is undefined behaviour once the
// product overflows, so every shape is bounded here first.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>

#include "frost/core/error.hpp"

namespace frost::kernels::detail {

// The largest element count a kernel accepts: far beyond any memory, far below int64 overflow
// even after adding a padding or multiplying by a small factor.
inline constexpr std::int64_t kMaxElements = std::int64_t{1} << 48;

// The product of `dims`, each >= 0; throws frost::Error naming `op` when one is negative or the
// product exceeds kMaxElements.
inline std::int64_t checked_elements(const char* op, std::initializer_list<std::int64_t> dims) {
  std::int64_t product = 1;
  for (const std::int64_t d : dims) {
    FROST_CHECK(d >= 0, op, "sizes must be >= 0, got ", d);
    FROST_CHECK(d <= kMaxElements, op, "size ", d, " exceeds ", kMaxElements);
  }
  for (const std::int64_t d : dims) {
    if (d == 0) return 0;
    FROST_CHECK(product <= kMaxElements / d, op, "shape has more than ", kMaxElements, " elements");
    product *= d;
  }
  return product;
}

// Whether the byte ranges [a, a + a_bytes) and [b, b + b_bytes) share a byte (std::less gives
// the total order on pointers that the built-in < lacks across objects).
inline bool ranges_overlap(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes) {
  if (a_bytes == 0 || b_bytes == 0) return false;
  const auto* pa = static_cast<const unsigned char*>(a);
  const auto* pb = static_cast<const unsigned char*>(b);
  const std::less<const unsigned char*> less;
  return less(pa, pb + b_bytes) && less(pb, pa + a_bytes);
}

}  // namespace frost::kernels::detail
