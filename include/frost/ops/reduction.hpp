#pragma once
// Differentiable reductions: sum, mean, var (over all elements or a list of dimensions, with
// keepdim), max and min (all, or along one dimension), and argmax / argmin (not differentiable).
// The backward of sum and mean is the output gradient expanded back to the input's shape: a
// stride-0 view, no copy.

#include <cstdint>
#include <vector>

#include "frost/core/tensor.hpp"
#include "frost/ops/elementwise.hpp"

namespace frost {
namespace detail {

template <class T>
inline Tensor<sum_type<T>> sum_impl(const Tensor<T>& x, const std::vector<std::int64_t>& dims,
                                    bool keepdim, bool all, const char* op) {
  const std::vector<bool> mask =
      all ? std::vector<bool>(x.shape().size(), true) : reduce_mask(dims, x.dim(), op);
  const Shape keep_shape = reduced_shape(x.shape(), mask, true);
  Tensor<sum_type<T>> out = sum_dims(x, mask).view(reduced_shape(x.shape(), mask, keepdim));
  if constexpr (FloatElement<T>) {
    if (autograd::should_record(x))
      autograd::record("sum", out, {x}, [keep_shape, in_shape = x.shape()](const Tensor<T>& g) {
        return std::vector<Tensor<T>>{g.reshape(keep_shape).expand(in_shape)};
      });
  }
  return out;
}

inline std::int64_t reduced_count(const Shape& shape, const std::vector<bool>& mask) {
  std::int64_t n = 1;
  for (std::size_t d = 0; d < shape.size(); ++d)
    if (mask[d]) n *= shape[d];
  return n;
}

}  // namespace detail

// Sum of all elements (shape []). Integer tensors sum into int32.
template <class T>
inline Tensor<sum_type<T>> sum(const Tensor<T>& x) {
  return detail::sum_impl(x, {}, false, true, "sum");
}
template <class T>
inline Tensor<sum_type<T>> sum(const Tensor<T>& x, const std::vector<std::int64_t>& dims,
                               bool keepdim = false) {
  FROST_CHECK(!dims.empty(), "sum", "empty list of dimensions; use sum(x) to reduce all");
  return detail::sum_impl(x, dims, keepdim, false, "sum");
}

template <FloatElement T>
inline Tensor<T> mean(const Tensor<T>& x, const std::vector<std::int64_t>& dims,
                      bool keepdim = false) {
  const autograd::OpScope scope;
  FROST_CHECK(!dims.empty(), "mean", "empty list of dimensions; use mean(x) to reduce all");
  const auto mask = detail::reduce_mask(dims, x.dim(), "mean");
  return scope.finish(
      "mean", {&x},
      mul(detail::sum_impl(x, dims, keepdim, false, "mean"),
          T(1) / static_cast<T>(detail::reduced_count(x.shape(), mask))),
      [&] {
        std::vector<double> d(dims.begin(), dims.end());
        return autograd::OpAttributes{{"dims", d}, {"keepdim", {keepdim ? 1.0 : 0.0}}};
      });
}
template <FloatElement T>
inline Tensor<T> mean(const Tensor<T>& x) {
  const autograd::OpScope scope;
  return scope.finish(
      "mean", {&x},
      mul(detail::sum_impl(x, {}, false, true, "mean"), T(1) / static_cast<T>(x.numel())), [&] {
        return autograd::OpAttributes{{"dims", {}}, {"keepdim", {0.0}}};
      });
}

// Variance over `dims` (all when empty), with Bessel's correction (divide by n - 1) when unbiased.
template <FloatElement T>
inline Tensor<T> var(const Tensor<T>& x, const std::vector<std::int64_t>& dims = {},
                     bool unbiased = true, bool keepdim = false) {
  const auto mask = dims.empty() ? std::vector<bool>(x.shape().size(), true)
                                 : detail::reduce_mask(dims, x.dim(), "var");
  std::vector<std::int64_t> all_dims;
  for (std::size_t d = 0; d < mask.size(); ++d)
    if (mask[d]) all_dims.push_back(static_cast<std::int64_t>(d));
  const std::int64_t n = detail::reduced_count(x.shape(), mask);
  const Tensor<T> centered = all_dims.empty() ? sub(x, x) : sub(x, mean(x, all_dims, true));
  const Tensor<T> squares = mul(centered, centered);
  const Tensor<T> total =
      all_dims.empty() ? squares : detail::sum_impl(squares, all_dims, keepdim, false, "var");
  return div(total, static_cast<T>(unbiased ? n - 1 : n));
}

namespace detail {

// max or min along dim, differentiable: the gradient goes to the (first) extreme element.
template <class T>
inline Tensor<T> extreme(const Tensor<T>& x, std::int64_t dim, bool keepdim, bool largest,
                         const char* op) {
  Tensor<T> values;
  Tensor<std::int32_t> indices;
  extreme_along(x, dim, keepdim, largest, &values, &indices, op);
  if (autograd::should_record(x)) {
    dim = wrap_dim(dim, x.dim(), op);
    autograd::record(op, values, {x}, [indices, dim, in_shape = x.shape()](const Tensor<T>& g) {
      // Scatter into the layout extreme_along used: `dim` moved last.
      std::vector<std::int64_t> perm, inverse(in_shape.size());
      Shape perm_shape;
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(in_shape.size()); ++i)
        if (i != dim) perm.push_back(i);
      if (!in_shape.empty()) perm.push_back(dim);
      for (std::size_t i = 0; i < perm.size(); ++i) {
        inverse[static_cast<std::size_t>(perm[i])] = static_cast<std::int64_t>(i);
        perm_shape.push_back(in_shape[static_cast<std::size_t>(perm[i])]);
      }
      const std::int64_t n = in_shape.empty() ? 1 : in_shape[static_cast<std::size_t>(dim)];
      Tensor<T> grad = Tensor<T>::zeros(perm_shape);
      const Tensor<T> gc = g.contiguous();
      for (std::int64_t r = 0; r < gc.numel(); ++r)
        grad.data()[r * n + indices.data()[r]] = gc.data()[r];
      return std::vector<Tensor<T>>{grad.permute(inverse)};
    });
  }
  return values;
}

}  // namespace detail

// Maximum along `dim`; the gradient goes to the (first) maximal element.
template <class T>
inline Tensor<T> max(const Tensor<T>& x, std::int64_t dim, bool keepdim = false) {
  return detail::extreme(x, dim, keepdim, true, "max");
}
template <class T>
inline Tensor<T> max(const Tensor<T>& x) {
  return max(x.reshape({-1}), 0, false);
}
// Minimum along `dim`; the gradient goes to the (first) minimal element.
template <class T>
inline Tensor<T> min(const Tensor<T>& x, std::int64_t dim, bool keepdim = false) {
  return detail::extreme(x, dim, keepdim, false, "min");
}
template <class T>
inline Tensor<T> min(const Tensor<T>& x) {
  return min(x.reshape({-1}), 0, false);
}

// Index of the first maximum (minimum) along `dim`, or in the flattened tensor.
template <class T>
inline Tensor<std::int32_t> argmax(const Tensor<T>& x, std::int64_t dim, bool keepdim = false) {
  Tensor<std::int32_t> indices;
  detail::extreme_along(x, dim, keepdim, true, static_cast<Tensor<T>*>(nullptr), &indices,
                        "argmax");
  return indices;
}
template <class T>
inline Tensor<std::int32_t> argmax(const Tensor<T>& x) {
  return argmax(x.detach().reshape({-1}), 0, false);
}
template <class T>
inline Tensor<std::int32_t> argmin(const Tensor<T>& x, std::int64_t dim, bool keepdim = false) {
  Tensor<std::int32_t> indices;
  detail::extreme_along(x, dim, keepdim, false, static_cast<Tensor<T>*>(nullptr), &indices,
                        "argmin");
  return indices;
}
template <class T>
inline Tensor<std::int32_t> argmin(const Tensor<T>& x) {
  return argmin(x.detach().reshape({-1}), 0, false);
}

}  // namespace frost
