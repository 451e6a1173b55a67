// Part of core/tensor.hpp, which includes this file at its end; including it first also works.
#include "frost/core/tensor.hpp"

#ifndef FROST_CORE_REDUCE_HPP
#define FROST_CORE_REDUCE_HPP
// Reduction kernels (no autograd): sums over any set of dimensions, and max / argmax along one
// dimension. The differentiable reductions (frost::sum, mean, max, var, ...) in
// ops/reduction.hpp are built on these.
//
// Sums run on the dense input after merging neighbouring dimensions that are all reduced or all
// kept, so the loop nest is short: summing a [N, C, H, W] tensor over (N, H, W) is the nest
// reduce N x keep C x reduce H*W, whose innermost loop is a dense, vectorised sum.

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "frost/core/parallel.hpp"

namespace frost {

// The element type of a sum: floats sum in their own type, integers in int32 (int8/uint8 sums
// would overflow at once; the accumulation itself is in int64).
template <class T>
using sum_type = std::conditional_t<FloatElement<T>, T, std::int32_t>;

namespace detail {

inline constexpr std::int64_t kReduceGrain = 32768;

template <class T>
using accumulate_type = std::conditional_t<FloatElement<T>, T, std::int64_t>;

// Dense sum with eight independent partial sums: vectorises without -ffast-math and loses less
// precision than one running sum.
template <class A, class T>
inline A dense_sum(const T* x, std::int64_t n) {
  A partial[8] = {};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) partial[k] += static_cast<A>(x[i + k]);
  for (; i < n; ++i) partial[0] += static_cast<A>(x[i]);
  return ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
         ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

struct ReduceGroup {
  std::int64_t size;
  std::int64_t in_stride;   // elements of the dense input per step of this group
  std::int64_t out_stride;  // elements of the dense output per step (0 when reduced)
  bool reduced;
};

template <class A, class T>
inline void sum_groups(const std::vector<ReduceGroup>& groups, std::size_t g, const T* in, A* out) {
  const ReduceGroup& group = groups[g];
  if (g + 1 == groups.size()) {
    if (group.reduced) {
      *out += dense_sum<A>(in, group.size);
    } else {
      for (std::int64_t j = 0; j < group.size; ++j) out[j] += static_cast<A>(in[j]);
    }
    return;
  }
  for (std::int64_t j = 0; j < group.size; ++j)
    sum_groups(groups, g + 1, in + j * group.in_stride, out + j * group.out_stride);
}

// Sum of t over the dimensions d with reduce[d] true, in keepdim form (reduced sizes become 1).
template <class T>
inline Tensor<sum_type<T>> sum_dims(const Tensor<T>& t, const std::vector<bool>& reduce) {
  using A = accumulate_type<T>;
  const Tensor<T> x = t.detach().contiguous();
  Shape out_shape = x.shape();
  for (std::size_t d = 0; d < out_shape.size(); ++d)
    if (reduce[d]) out_shape[d] = 1;
  const std::int64_t out_numel = shape_numel(out_shape);

  // Group dimensions: drop size-1 ones, merge neighbours with the same reduced flag.
  std::vector<ReduceGroup> groups;
  for (std::size_t d = 0; d < x.shape().size(); ++d) {
    if (x.shape()[d] == 1) continue;
    if (!groups.empty() && groups.back().reduced == bool(reduce[d]))
      groups.back().size *= x.shape()[d];
    else
      groups.push_back({x.shape()[d], 0, 0, bool(reduce[d])});
  }
  std::int64_t in_stride = 1, out_stride = 1;
  for (std::size_t g = groups.size(); g-- > 0;) {
    groups[g].in_stride = in_stride;
    groups[g].out_stride = groups[g].reduced ? 0 : out_stride;
    in_stride *= groups[g].size;
    if (!groups[g].reduced) out_stride *= groups[g].size;
  }

  std::vector<A> acc(static_cast<std::size_t>(out_numel), A(0));
  if (x.numel() > 0) {
    if (groups.empty()) {
      acc[0] = static_cast<A>(x.data()[0]);
    } else if (!groups.front().reduced && groups.size() > 1) {
      // Rows of the outermost kept group are independent: split them over threads.
      const ReduceGroup& outer = groups.front();
      const std::int64_t per_row = x.numel() / outer.size;
      parallel_for(0, outer.size, std::max<std::int64_t>(1, kReduceGrain / per_row),
                   [&](std::int64_t lo, std::int64_t hi) {
                     for (std::int64_t j = lo; j < hi; ++j)
                       sum_groups(groups, 1, x.data() + j * outer.in_stride,
                                  acc.data() + j * outer.out_stride);
                   });
    } else {
      sum_groups(groups, 0, x.data(), acc.data());
    }
  }
  Tensor<sum_type<T>> out = Tensor<sum_type<T>>::empty(out_shape);
  for (std::int64_t i = 0; i < out_numel; ++i)
    out.data()[i] = static_cast<sum_type<T>>(acc[static_cast<std::size_t>(i)]);
  return out;
}

// Which dimensions a reduction over `dims` touches; empty `dims` means all.
inline std::vector<bool> reduce_mask(const std::vector<std::int64_t>& dims, std::int64_t ndim,
                                     const char* op) {
  std::vector<bool> mask(static_cast<std::size_t>(ndim), dims.empty());
  for (auto d : dims) {
    const auto w = static_cast<std::size_t>(wrap_dim(d, ndim, op));
    FROST_CHECK(!mask[w] || dims.empty(), op, "dimension ", d, " repeated");
    mask[w] = true;
  }
  return mask;
}

// The shape after reducing the masked dimensions (removed, or kept as 1 with keepdim).
inline Shape reduced_shape(const Shape& shape, const std::vector<bool>& mask, bool keepdim) {
  Shape out;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (!mask[d])
      out.push_back(shape[d]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

// Sums a broadcast gradient back to the shape of the operand that was broadcast.
template <class T>
inline Tensor<T> sum_to(const Tensor<T>& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  FROST_CHECK(t.dim() >= static_cast<std::int64_t>(shape.size()), "sum_to", "cannot sum shape ",
              shape_str(t.shape()), " to ", shape_str(shape));
  const std::size_t lead = t.shape().size() - shape.size();
  std::vector<bool> mask(t.shape().size(), false);
  for (std::size_t d = 0; d < t.shape().size(); ++d) {
    if (d < lead) {
      mask[d] = true;
      continue;
    }
    const std::int64_t want = shape[d - lead];
    FROST_CHECK(want == t.shape()[d] || want == 1, "sum_to", "cannot sum shape ",
                shape_str(t.shape()), " to ", shape_str(shape));
    mask[d] = want == 1 && t.shape()[d] != 1;
  }
  if constexpr (FloatElement<T>) {
    return sum_dims(t, mask).view(shape);
  } else {
    return sum_dims(t, mask).template cast<T>().view(shape);
  }
}

// Max (largest) or min and its first index along dimension d. `values`/`indices` get shape
// t.shape() without d (or with size 1 at d when keepdim). NaN wins, as in PyTorch.
template <class T>
inline void extreme_along(const Tensor<T>& t, std::int64_t d, bool keepdim, bool largest,
                          Tensor<T>* values, Tensor<std::int32_t>* indices, const char* op) {
  d = wrap_dim(d, t.dim(), op);
  const std::int64_t n = t.dim() == 0 ? 1 : t.shape()[d];
  FROST_CHECK(n > 0, op, "cannot reduce over an empty dimension ", d, " of shape ",
              shape_str(t.shape()));
  std::vector<std::int64_t> perm;
  for (std::int64_t i = 0; i < t.dim(); ++i)
    if (i != d) perm.push_back(i);
  if (t.dim() > 0) perm.push_back(d);
  const Tensor<T> x = t.detach().permute(perm).contiguous();
  std::vector<bool> mask(t.shape().size(), false);
  if (t.dim() > 0) mask[d] = true;
  const Shape out_shape = reduced_shape(t.shape(), mask, keepdim);
  const std::int64_t rows = x.numel() / n;
  if (values) *values = Tensor<T>::empty(out_shape);
  if (indices) *indices = Tensor<std::int32_t>::empty(out_shape);
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = x.data() + r * n;
    std::int64_t best = 0;
    for (std::int64_t j = 1; j < n; ++j) {
      bool better = largest ? row[j] > row[best] : row[j] < row[best];
      if constexpr (FloatElement<T>)
        better = better || (std::isnan(row[j]) && !std::isnan(row[best]));
      if (better) best = j;
    }
    if (values) values->data()[r] = row[best];
    if (indices) indices->data()[r] = static_cast<std::int32_t>(best);
  }
}

}  // namespace detail
}  // namespace frost

#endif  // FROST_CORE_REDUCE_HPP
