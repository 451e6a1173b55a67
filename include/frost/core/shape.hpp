#pragma once
// Shapes and strides (both counted in elements), and the shape arithmetic every op shares:
// dimension wrapping, NumPy broadcasting, and the text used in error messages.

#include <cstdint>
#include <string>
#include <vector>

#include "frost/core/error.hpp"

namespace frost {

using Shape = std::vector<std::int64_t>;

// "[2, 3, 4]": the form every error message uses.
inline std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

inline std::int64_t shape_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// Row-major (C order) strides of a dense tensor of this shape.
inline Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  std::int64_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i] > 0 ? shape[i] : 1;
  }
  return strides;
}

// Wraps a possibly negative dimension index (Python style) into [0, ndim).
inline std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op) {
  const std::int64_t lo = -std::max<std::int64_t>(ndim, 1);
  const std::int64_t hi = std::max<std::int64_t>(ndim, 1) - 1;
  FROST_CHECK(dim >= lo && dim <= hi, op, "dimension ", dim, " out of range for a tensor with ",
              ndim, " dimensions");
  return dim < 0 ? dim + ndim : dim;
}

// NumPy broadcasting: shapes aligned on the right, each pair of sizes equal or one of them 1.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    FROST_CHECK(da == db || da == 1 || db == 1, op, "shapes ", shape_str(a), " and ", shape_str(b),
                " are not broadcastable");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace frost
