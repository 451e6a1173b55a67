// Part of core/tensor.hpp, which includes this file at its end; including it first also works.
#include "frost/core/tensor.hpp"

#ifndef FROST_CORE_TENSOR_OPS_HPP
#define FROST_CORE_TENSOR_OPS_HPP
// The element-wise engine under every element-wise op, forward and backward: out = fn(inputs...)
// with NumPy broadcasting over any strides. Three paths, fastest first:
//   1. every operand dense with the output's shape: one flat loop the compiler vectorises;
//   2. otherwise the loop nest after dropping size-1 dimensions and merging dimensions that are
//      contiguous for every operand (a [N,C,H,W] + [1,C,1,1] bias add becomes [N, C, H*W]),
//      with a dense inner loop when every operand is dense along the last dimension;
//   3. a strided inner loop (broadcast operands have stride 0).
// Big ranges are split over the frost thread pool. `fn` is a template parameter: no per-element
// indirect calls.

#include "frost/core/simd.hpp"

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "frost/core/parallel.hpp"

namespace frost::detail {

// Elements per parallel chunk of an element-wise loop: large enough that waking a thread pays.
inline constexpr std::int64_t kElementwiseGrain = 32768;

template <class T>
inline Shape broadcast_strides(const Tensor<T>& t, const Shape& out_shape) {
  Shape strides(out_shape.size(), 0);
  const std::size_t lead = out_shape.size() - t.shape().size();
  for (std::size_t i = 0; i < t.shape().size(); ++i)
    strides[lead + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return strides;
}

inline void check_broadcasts_to(const char* op, const Shape& from, const Shape& to) {
  FROST_CHECK(broadcast_shapes(from, to, op) == to, op, "shape ", shape_str(from),
              " cannot be broadcast to ", shape_str(to));
}

template <std::size_t N>
inline void coalesce_dims(Shape& shape, std::array<Shape, N>& strides) {
  Shape new_shape;
  std::array<Shape, N> new_strides;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !new_shape.empty();
    for (std::size_t k = 0; k < N && merge; ++k)
      merge = new_strides[k].back() == strides[k][d] * shape[d];
    if (merge) {
      new_shape.back() *= shape[d];
      for (std::size_t k = 0; k < N; ++k) new_strides[k].back() = strides[k][d];
    } else {
      new_shape.push_back(shape[d]);
      for (std::size_t k = 0; k < N; ++k) new_strides[k].push_back(strides[k][d]);
    }
  }
  if (new_shape.empty()) {
    new_shape.push_back(1);
    for (std::size_t k = 0; k < N; ++k) new_strides[k].push_back(0);
  }
  shape = std::move(new_shape);
  strides = std::move(new_strides);
}

// A one-input float function with an xsimd form `fn.batch(xsimd::batch<T>)` (transcendental
// activations: exp, log, sigmoid, tanh, ...). The dense loop runs it on whole batches of the
// architecture the user compiles for, and the tail as one batch padded with zeros, so every
// element goes through the same instructions: its result does not depend on where it sits.
template <class Fn, class T>
concept SimdUnaryFn = std::is_floating_point_v<T> && requires(const Fn& f, xsimd::batch<T> b) {
  { f.batch(b) } -> std::same_as<xsimd::batch<T>>;
};

template <class R, class Fn, class Ptrs, std::size_t... I>
inline void dense_loop(R* out, const Ptrs& in, std::int64_t lo, std::int64_t hi, Fn& fn,
                       std::index_sequence<I...>) {
  if constexpr (sizeof...(I) == 1) {
    using T = std::remove_cv_t<std::remove_pointer_t<std::tuple_element_t<0, Ptrs>>>;
    if constexpr (std::is_same_v<T, R> && SimdUnaryFn<Fn, T>) {
      using B = xsimd::batch<T>;
      constexpr std::int64_t w = static_cast<std::int64_t>(B::size);
      const T* x = std::get<0>(in);
      std::int64_t i = lo;
      for (; i + w <= hi; i += w) fn.batch(B::load_unaligned(x + i)).store_unaligned(out + i);
      if (i < hi) {
        alignas(64) T buf[B::size] = {};
        std::copy(x + i, x + hi, buf);
        fn.batch(B::load_aligned(buf)).store_aligned(buf);
        std::copy(buf, buf + (hi - i), out + i);
      }
      return;
    }
  }
  for (std::int64_t i = lo; i < hi; ++i) out[i] = static_cast<R>(fn(std::get<I>(in)[i]...));
}

// Elements per block of the buffered strided loop: operands that are not dense along the
// innermost dimension (broadcast with stride 0, or transposed) are gathered into small dense
// buffers so that fn always runs in the vectorised dense loop, branch-free.
inline constexpr std::int64_t kElementwiseBlock = 256;

template <class T>
struct BlockBuffer {
  BlockBuffer() {}  // left uninitialised: every block is written before it is read
  alignas(64) T data[kElementwiseBlock];
};

template <class T>
inline const T* dense_block(const T* src, std::int64_t stride, std::int64_t m,
                            BlockBuffer<T>& buf) {
  if (stride == 1) return src;
  if (stride == 0) {
    std::fill_n(buf.data, m, *src);
  } else {
    for (std::int64_t j = 0; j < m; ++j) buf.data[j] = src[j * stride];
  }
  return buf.data;
}

template <class R, class Fn, class... Ts, std::size_t... I>
inline void buffered_loop(R* out, std::int64_t out_stride, const std::tuple<const Ts*...>& in,
                          const std::array<std::int64_t, sizeof...(Ts)>& in_strides, std::int64_t n,
                          Fn& fn, std::index_sequence<I...> seq) {
  std::tuple<BlockBuffer<Ts>...> buffers;
  BlockBuffer<R> out_buffer;
  for (std::int64_t j0 = 0; j0 < n; j0 += kElementwiseBlock) {
    const std::int64_t m = std::min(kElementwiseBlock, n - j0);
    const std::tuple<const Ts*...> block(dense_block(std::get<I>(in) + j0 * in_strides[I],
                                                     in_strides[I], m, std::get<I>(buffers))...);
    if (out_stride == 1) {
      dense_loop(out + j0, block, 0, m, fn, seq);
    } else {
      dense_loop(out_buffer.data, block, 0, m, fn, seq);
      for (std::int64_t j = 0; j < m; ++j) out[(j0 + j) * out_stride] = out_buffer.data[j];
    }
  }
}

// out[...] = fn(inputs[...]...), inputs broadcast to out's shape. `out` may be any strided view
// (not an expanded one); it may alias an input element-for-element (in-place ops).
template <class R, class Fn, class... Ts>
inline void elementwise_into(const char* op, const Tensor<R>& out, Fn fn,
                             const Tensor<Ts>&... inputs) {
  constexpr std::size_t kInputs = sizeof...(Ts);
  (void)op;  // unused when there are no inputs (fill_)
  const Shape& out_shape = out.shape();
  (check_broadcasts_to(op, inputs.shape(), out_shape), ...);
  const std::int64_t n = out.numel();
  if (n == 0) return;
  using Seq = std::index_sequence_for<Ts...>;
  const std::tuple<const Ts*...> ptrs(inputs.data()...);

  if (out.is_contiguous() && ((inputs.is_contiguous() && inputs.shape() == out_shape) && ...)) {
    R* o = out.data();
    parallel_for(0, n, kElementwiseGrain,
                 [&](std::int64_t lo, std::int64_t hi) { dense_loop(o, ptrs, lo, hi, fn, Seq{}); });
    return;
  }

  Shape shape = out_shape;
  std::array<Shape, kInputs + 1> strides{out.strides(), broadcast_strides(inputs, out_shape)...};
  if (!out.is_contiguous()) {
    for (std::size_t d = 0; d < shape.size(); ++d)
      FROST_CHECK(shape[d] <= 1 || strides[0][d] != 0, op,
                  "cannot write into an expanded tensor (shape ", shape_str(out_shape),
                  ", strides ", shape_str(out.strides()),
                  "): several elements share one memory location");
    // Walk the output in memory order (a transposed destination is written densely).
    std::vector<std::size_t> order(shape.size());
    for (std::size_t d = 0; d < order.size(); ++d) order[d] = d;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t x, std::size_t y) { return strides[0][x] > strides[0][y]; });
    const auto permuted = [&order](const Shape& v) {
      Shape p(order.size());
      for (std::size_t d = 0; d < order.size(); ++d) p[d] = v[order[d]];
      return p;
    };
    shape = permuted(shape);
    for (auto& s : strides) s = permuted(s);
  }
  coalesce_dims(shape, strides);
  const std::size_t nd = shape.size();
  const std::int64_t inner = shape.back();
  const std::int64_t rows = n / inner;
  bool dense_inner = true;
  for (const auto& s : strides) dense_inner = dense_inner && s.back() == 1;
  std::array<std::int64_t, kInputs> inner_strides{};
  for (std::size_t k = 0; k < kInputs; ++k) inner_strides[k] = strides[k + 1].back();

  parallel_for(0, rows, std::max<std::int64_t>(1, kElementwiseGrain / inner),
               [&](std::int64_t lo, std::int64_t hi) {
                 // Odometer over the outer dimensions, started at row `lo`.
                 Shape index(nd, 0);
                 std::array<std::int64_t, kInputs + 1> offset{};
                 std::int64_t rest = lo;
                 for (std::size_t d = nd - 1; d-- > 0;) {
                   index[d] = rest % shape[d];
                   rest /= shape[d];
                   for (std::size_t k = 0; k <= kInputs; ++k) offset[k] += index[d] * strides[k][d];
                 }
                 for (std::int64_t r = lo; r < hi; ++r) {
                   R* o = out.data() + offset[0];
                   const auto row_ptrs = [&]<std::size_t... I>(std::index_sequence<I...>) {
                     return std::tuple<const Ts*...>((std::get<I>(ptrs) + offset[I + 1])...);
                   }
                   (Seq{});
                   if (dense_inner)
                     dense_loop(o, row_ptrs, 0, inner, fn, Seq{});
                   else
                     buffered_loop(o, strides[0].back(), row_ptrs, inner_strides, inner, fn, Seq{});
                   for (std::size_t d = nd - 1; d-- > 0;) {
                     for (std::size_t k = 0; k <= kInputs; ++k) offset[k] += strides[k][d];
                     if (++index[d] < shape[d]) break;
                     for (std::size_t k = 0; k <= kInputs; ++k)
                       offset[k] -= shape[d] * strides[k][d];
                     index[d] = 0;
                   }
                 }
               });
}

template <class... Shapes>
inline Shape broadcast_all(const char* op, const Shape& first, const Shapes&... rest) {
  (void)op;  // unused for one operand
  Shape out = first;
  ((out = broadcast_shapes(out, rest, op)), ...);
  return out;
}

// A new dense tensor out = fn(inputs...) with the broadcast shape of the inputs. A shape
// mismatch throws "op: shapes [..] and [..] are not broadcastable".
template <class R, class Fn, class T, class... Ts>
inline Tensor<R> elementwise(const char* op, Fn fn, const Tensor<T>& first,
                             const Tensor<Ts>&... rest) {
  Tensor<R> out = Tensor<R>::empty(broadcast_all(op, first.shape(), rest.shape()...));
  elementwise_into(op, out, fn, first, rest...);
  return out;
}

}  // namespace frost::detail

#endif  // FROST_CORE_TENSOR_OPS_HPP
