#pragma once
// softmax and log_softmax along one dimension, computed stably per row (x - max) with the
// row's log-sum-exp; other dimensions are handled by transposing the dimension last (a view).
// Backward: log_softmax: g - softmax * sum(g); softmax: y * (g - sum(g * y)).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "frost/core/simd.hpp"

#include "frost/core/parallel.hpp"
#include "frost/core/tensor.hpp"

namespace frost {
namespace detail {

// Applies row_fn(in_row, out_row, n) to each row of length n of the dense x (rows split
// across threads).
template <class T, class RowFn>
inline void for_each_row(const Tensor<T>& x, const Tensor<T>& out, RowFn row_fn) {
  const std::int64_t n = x.dim() == 0 ? 1 : x.shape().back();
  if (n == 0 || x.numel() == 0) return;
  const std::int64_t rows = x.numel() / n;
  const T* in = x.data();
  T* o = out.data();
  parallel_for(0, rows, std::max<std::int64_t>(1, kElementwiseGrain / n),
               [&](std::int64_t lo, std::int64_t hi) {
                 for (std::int64_t r = lo; r < hi; ++r) row_fn(in + r * n, o + r * n, n);
               });
}

// The row loops run on xsimd batches of the architecture the user compiles for (xsimd's exp is
// within a few ULP of std::exp); the tail goes through one batch padded with the row's shift, so
// every element takes the same instructions wherever it sits in the row.
//
// Returns sum_j exp(x[j] - shift) and, when out is not null, writes each term to out[j].
template <class T>
inline T row_exp_shifted(const T* x, T shift, T* out, std::int64_t n) {
  using B = xsimd::batch<T>;
  constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
  const B s(shift);
  B acc(T(0));
  std::int64_t j = 0;
  for (; j + w <= n; j += w) {
    const B e = xsimd::exp(B::load_unaligned(x + j) - s);
    if (out != nullptr) e.store_unaligned(out + j);
    acc += e;
  }
  T sum = xsimd::hadd(acc);
  if (j < n) {
    alignas(64) T buf[B::size];
    std::fill(buf, buf + w, shift);
    std::copy(x + j, x + n, buf);
    xsimd::exp(B::load_aligned(buf) - s).store_aligned(buf);
    for (std::int64_t k = 0; k < n - j; ++k) sum += buf[k];
    if (out != nullptr) std::copy(buf, buf + (n - j), out + j);
  }
  return sum;
}

template <class T>
inline T row_max(const T* x, std::int64_t n) {
  T max = x[0];
  for (std::int64_t j = 1; j < n; ++j) max = x[j] > max ? x[j] : max;
  return max;
}

// log(sum_j exp(x[j])), stable: max + log(sum exp(x - max)). n >= 1.
template <class T>
inline T row_log_sum_exp(const T* x, std::int64_t n) {
  const T max = row_max(x, n);
  if (std::isinf(max)) return max;  // all -inf, or +inf present
  return max + std::log(row_exp_shifted(x, max, static_cast<T*>(nullptr), n));
}

}  // namespace detail

namespace detail {
template <FloatElement T>
inline Tensor<T> log_softmax_untraced(const Tensor<T>& x, std::int64_t dim = -1) {
  dim = wrap_dim(dim, x.dim(), "log_softmax");
  if (x.dim() > 0 && dim != x.dim() - 1)
    return log_softmax(x.transpose(dim, -1), -1).transpose(dim, -1);
  const Tensor<T> xc = x.detach().contiguous();
  Tensor<T> out = Tensor<T>::empty(x.shape());
  detail::for_each_row(xc, out, [](const T* in, T* o, std::int64_t n) {
    const T lse = detail::row_log_sum_exp(in, n);
    for (std::int64_t j = 0; j < n; ++j) o[j] = in[j] - lse;
  });
  if (autograd::should_record(x))
    autograd::record("log_softmax", out, {x}, [y = out.detach()](const Tensor<T>& g) {
      const Tensor<T> gc = g.contiguous();
      Tensor<T> grad = Tensor<T>::empty(y.shape());
      detail::for_each_row(gc, grad, [&](const T* gr, T* o, std::int64_t len) {
        const T* yr = y.data() + (gr - gc.data());
        T total = 0;
        for (std::int64_t j = 0; j < len; ++j) total += gr[j];
        for (std::int64_t j = 0; j < len; ++j) o[j] = gr[j] - std::exp(yr[j]) * total;
      });
      return std::vector<Tensor<T>>{grad};
    });
  return out;
}
}  // namespace detail

template <FloatElement T>
inline Tensor<T> log_softmax(const Tensor<T>& x, std::int64_t dim = -1) {
  const autograd::OpScope scope;
  return scope.finish("log_softmax", {&x}, detail::log_softmax_untraced(x, dim), [&] {
    return autograd::OpAttributes{{"dim", {double(dim)}}};
  });
}

namespace detail {
template <FloatElement T>
inline Tensor<T> softmax_untraced(const Tensor<T>& x, std::int64_t dim = -1) {
  dim = wrap_dim(dim, x.dim(), "softmax");
  if (x.dim() > 0 && dim != x.dim() - 1)
    return softmax(x.transpose(dim, -1), -1).transpose(dim, -1);
  const Tensor<T> xc = x.detach().contiguous();
  Tensor<T> out = Tensor<T>::empty(x.shape());
  detail::for_each_row(xc, out, [](const T* in, T* o, std::int64_t n) {
    detail::row_exp_shifted(in, detail::row_log_sum_exp(in, n), o, n);
  });
  if (autograd::should_record(x))
    autograd::record("softmax", out, {x}, [y = out.detach()](const Tensor<T>& g) {
      const Tensor<T> gc = g.contiguous();
      Tensor<T> grad = Tensor<T>::empty(y.shape());
      detail::for_each_row(gc, grad, [&](const T* gr, T* o, std::int64_t len) {
        const T* yr = y.data() + (gr - gc.data());
        T dot = 0;
        for (std::int64_t j = 0; j < len; ++j) dot += gr[j] * yr[j];
        for (std::int64_t j = 0; j < len; ++j) o[j] = yr[j] * (gr[j] - dot);
      });
      return std::vector<Tensor<T>>{grad};
    });
  return out;
}
}  // namespace detail

template <FloatElement T>
inline Tensor<T> softmax(const Tensor<T>& x, std::int64_t dim = -1) {
  const autograd::OpScope scope;
  return scope.finish("softmax", {&x}, detail::softmax_untraced(x, dim), [&] {
    return autograd::OpAttributes{{"dim", {double(dim)}}};
  });
}

}  // namespace frost
