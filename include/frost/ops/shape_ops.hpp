#pragma once
// Differentiable reshaping and joining: reshape, flatten, cat, stack, split, chunk. reshape and
// flatten are views when the layout allows (see Tensor::reshape); split and chunk return views;
// cat copies each input once, into its slice of the output, and its backward hands out views
// of the output gradient.

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "frost/core/tensor.hpp"

namespace frost {

template <class T>
inline Tensor<T> reshape(const Tensor<T>& x, const Shape& shape) {
  return x.reshape(shape);
}

template <class T>
inline Tensor<T> flatten(const Tensor<T>& x, std::int64_t start_dim = 0,
                         std::int64_t end_dim = -1) {
  return x.flatten(start_dim, end_dim);
}

// Joins tensors along an existing dimension; all other sizes must agree.
template <class T>
inline Tensor<T> cat(const std::vector<Tensor<T>>& tensors, std::int64_t dim = 0) {
  const autograd::OpScope scope;
  FROST_CHECK(!tensors.empty(), "cat", "expects at least one tensor");
  const Tensor<T>& first = tensors.front();
  FROST_CHECK(first.dim() > 0, "cat", "zero-dimensional tensor (shape []) cannot be concatenated");
  dim = wrap_dim(dim, first.dim(), "cat");
  Shape out_shape = first.shape();
  out_shape[dim] = 0;
  for (const Tensor<T>& t : tensors) {
    bool compatible = t.dim() == first.dim();
    for (std::int64_t d = 0; compatible && d < t.dim(); ++d)
      compatible = d == dim || t.shape()[d] == first.shape()[d];
    FROST_CHECK(compatible, "cat", "shapes ", shape_str(first.shape()), " and ",
                shape_str(t.shape()), " differ outside dimension ", dim);
    out_shape[dim] += t.shape()[dim];
  }
  Tensor<T> out = Tensor<T>::empty(out_shape);
  std::vector<std::int64_t> offsets;
  std::int64_t offset = 0;
  bool record = false;
  for (const Tensor<T>& t : tensors) {
    offsets.push_back(offset);
    detail::elementwise_into(
        "cat", out.detach().narrow(dim, offset, t.shape()[dim]), [](T v) { return v; }, t);
    offset += t.shape()[dim];
    record = record || autograd::should_record(t);
  }
  if (record) {
    std::vector<std::int64_t> sizes;
    std::vector<bool> needs;
    for (const Tensor<T>& t : tensors) {
      sizes.push_back(t.shape()[dim]);
      needs.push_back(t.requires_grad());
    }
    autograd::record("cat", out, tensors, [dim, offsets, sizes, needs](const Tensor<T>& g) {
      std::vector<Tensor<T>> grads(sizes.size());
      for (std::size_t i = 0; i < sizes.size(); ++i)
        if (needs[i]) grads[i] = g.narrow(dim, offsets[i], sizes[i]);
      return grads;
    });
  }
  return scope.finish("cat", tensors, out, [&] {
    return autograd::OpAttributes{{"dim", {double(dim)}}};
  });
}

template <class T>
inline Tensor<T> cat(std::initializer_list<Tensor<T>> tensors, std::int64_t dim = 0) {
  return cat(std::vector<Tensor<T>>(tensors), dim);
}

// Joins tensors of one shape along a new dimension.
template <class T>
inline Tensor<T> stack(const std::vector<Tensor<T>>& tensors, std::int64_t dim = 0) {
  FROST_CHECK(!tensors.empty(), "stack", "expects at least one tensor");
  std::vector<Tensor<T>> expanded;
  for (const Tensor<T>& t : tensors) {
    FROST_CHECK(t.shape() == tensors.front().shape(), "stack", "shapes ",
                shape_str(tensors.front().shape()), " and ", shape_str(t.shape()), " differ");
    expanded.push_back(t.unsqueeze(dim));
  }
  return cat(expanded, dim);
}

template <class T>
inline Tensor<T> stack(std::initializer_list<Tensor<T>> tensors, std::int64_t dim = 0) {
  return stack(std::vector<Tensor<T>>(tensors), dim);
}

// Views of consecutive pieces of the given sizes along dim (sizes must add up to its length).
template <class T>
inline std::vector<Tensor<T>> split(const Tensor<T>& x, const std::vector<std::int64_t>& sizes,
                                    std::int64_t dim = 0) {
  dim = wrap_dim(dim, x.dim(), "split");
  std::int64_t total = 0;
  for (auto s : sizes) {
    FROST_CHECK(s >= 0, "split", "negative size ", s, " for shape ", shape_str(x.shape()));
    total += s;
  }
  FROST_CHECK(total == x.shape()[dim], "split", "sizes add up to ", total, " but dimension ", dim,
              " of shape ", shape_str(x.shape()), " has ", x.shape()[dim]);
  std::vector<Tensor<T>> parts;
  std::int64_t offset = 0;
  for (auto s : sizes) {
    parts.push_back(x.narrow(dim, offset, s));
    offset += s;
  }
  return parts;
}

// Views of `split_size` elements along dim (the last one may be shorter), as torch.split.
template <class T>
inline std::vector<Tensor<T>> split(const Tensor<T>& x, std::int64_t split_size,
                                    std::int64_t dim = 0) {
  dim = wrap_dim(dim, x.dim(), "split");
  FROST_CHECK(split_size > 0, "split", "split size must be positive, got ", split_size);
  std::vector<std::int64_t> sizes;
  for (std::int64_t left = x.shape()[dim]; left > 0; left -= split_size)
    sizes.push_back(std::min(left, split_size));
  return split(x, sizes, dim);
}

// `chunks` views of (nearly) equal size along dim, as torch.chunk.
template <class T>
inline std::vector<Tensor<T>> chunk(const Tensor<T>& x, std::int64_t chunks, std::int64_t dim = 0) {
  FROST_CHECK(chunks > 0, "chunk", "number of chunks must be positive, got ", chunks);
  const std::int64_t n = x.shape()[wrap_dim(dim, x.dim(), "chunk")];
  return split(x, std::max<std::int64_t>(1, (n + chunks - 1) / chunks), dim);
}

}  // namespace frost
