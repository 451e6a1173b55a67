// Part of core/tensor.hpp, which includes this file at its end; including it first also works.
#include "frost/core/tensor.hpp"

#ifndef FROST_CORE_PRINT_HPP
#define FROST_CORE_PRINT_HPP
// std::ostream << Tensor: values laid out like PyTorch's repr (nested brackets, aligned
// columns, long dimensions summarised with "..." once the tensor has more than 1000 elements),
// followed by the shape and dtype.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

namespace frost {
namespace detail {

inline constexpr std::int64_t kPrintThreshold = 1000;
inline constexpr std::int64_t kPrintEdgeItems = 3;

// Floats print with 4 decimals, or in scientific notation when the shown values span magnitudes
// that fixed notation would hide (>= 1e8, or nonzero below 1e-4), as PyTorch does.
template <class T>
inline std::string format_element(T v, bool scientific) {
  char buf[64];
  if constexpr (FloatElement<T>) {
    if (std::isnan(v)) return "nan";  // not "-nan": the sign of a NaN means nothing
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    std::snprintf(buf, sizeof(buf), scientific ? "%.4e" : "%.4f", static_cast<double>(v));
  } else {
    (void)scientific;
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(v));
  }
  return buf;
}

// Indices shown along a dimension of size n.
inline std::vector<std::int64_t> shown_indices(std::int64_t n, bool summarize) {
  std::vector<std::int64_t> idx;
  if (summarize && n > 2 * kPrintEdgeItems) {
    for (std::int64_t i = 0; i < kPrintEdgeItems; ++i) idx.push_back(i);
    idx.push_back(-1);  // the "..." marker
    for (std::int64_t i = n - kPrintEdgeItems; i < n; ++i) idx.push_back(i);
  } else {
    for (std::int64_t i = 0; i < n; ++i) idx.push_back(i);
  }
  return idx;
}

template <class T>
inline void print_dim(std::ostream& os, const T* p, const Shape& shape, const Shape& strides,
                      std::size_t d, bool summarize, bool scientific, std::size_t width,
                      std::size_t indent) {
  os << '[';
  const auto idx = shown_indices(shape[d], summarize);
  for (std::size_t k = 0; k < idx.size(); ++k) {
    if (k) {
      if (d + 1 == shape.size()) {
        os << ", ";
      } else {
        os << ',' << std::string(shape.size() - d - 1, '\n') << std::string(indent + d + 1, ' ');
      }
    }
    if (idx[k] < 0) {
      os << "...";
      continue;
    }
    const T* q = p + idx[k] * strides[d];
    if (d + 1 == shape.size()) {
      const std::string s = format_element(*q, scientific);
      os << std::string(width - std::min(width, s.size()), ' ') << s;
    } else {
      print_dim(os, q, shape, strides, d + 1, summarize, scientific, width, indent);
    }
  }
  os << ']';
}

// Visits every element that will be printed.
template <class T, class Fn>
inline void for_each_shown(const T* p, const Shape& shape, const Shape& strides, std::size_t d,
                           bool summarize, Fn&& fn) {
  for (std::int64_t i : shown_indices(shape[d], summarize)) {
    if (i < 0) continue;
    const T* q = p + i * strides[d];
    if (d + 1 == shape.size())
      fn(*q);
    else
      for_each_shown(q, shape, strides, d + 1, summarize, fn);
  }
}

}  // namespace detail

template <class T>
inline std::ostream& operator<<(std::ostream& os, const Tensor<T>& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  constexpr std::size_t kIndent = 7;  // strlen("tensor(")
  os << "tensor(";
  if (t.dim() == 0) {
    os << detail::format_element(*t.data(), false);
  } else if (t.numel() == 0) {
    os << "[]";
  } else {
    const bool summarize = t.numel() > detail::kPrintThreshold;
    bool scientific = false;
    if constexpr (FloatElement<T>) {
      detail::for_each_shown(t.data(), t.shape(), t.strides(), 0, summarize, [&](T v) {
        const double a = std::abs(static_cast<double>(v));
        if (std::isfinite(a) && (a >= 1e8 || (a > 0 && a < 1e-4))) scientific = true;
      });
    }
    std::size_t width = 0;
    detail::for_each_shown(t.data(), t.shape(), t.strides(), 0, summarize, [&](T v) {
      width = std::max(width, detail::format_element(v, scientific).size());
    });
    detail::print_dim(os, t.data(), t.shape(), t.strides(), 0, summarize, scientific, width,
                      kIndent);
  }
  os << ", shape=" << shape_str(t.shape()) << ", dtype=" << dtype_name(t.dtype());
  if (t.requires_grad()) os << (t.is_leaf() ? ", requires_grad=true" : ", grad_fn=");
  if (!t.is_leaf()) os << t.grad_fn()->name();
  return os << ')';
}

}  // namespace frost

#endif  // FROST_CORE_PRINT_HPP
