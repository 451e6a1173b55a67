#pragma once
// Differentiable matrix products through Eigen: matmul (1-D, 2-D, batched [..., M, K] x [K, N],
// and [B..., M, K] x [B..., K, N] with equal batch dimensions). detail::gemm maps strided 2-D
// tensors onto Eigen without copying (row- or column-major, so transposed views are free) and
// splits the rows of the product over the frost thread pool.

#include <cstdint>
#include <vector>

#include "frost/core/parallel.hpp"
#include "frost/core/tensor.hpp"

// GCC 12 reports -Wuninitialized inside its own AVX-512 intrinsics when Eigen's packet
// transposes are inlined (a known false positive); keep frost's programs warning-clean.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>

namespace frost {
namespace detail {

// Multiply-adds per parallel chunk of a GEMM: big enough to amortise waking a thread.
inline constexpr std::int64_t kGemmGrainMacs = std::int64_t(1) << 18;

// Calls fn with an Eigen map of the 2-D tensor t: row-major when rows are dense, column-major
// when columns are (a transposed view), otherwise of a dense copy.
template <class T, class Fn>
inline void with_eigen_matrix(const Tensor<T>& t, Fn&& fn) {
  using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using ColMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
  const std::int64_t rows = t.shape()[0], cols = t.shape()[1];
  if (t.strides()[1] == 1 || cols == 1) {
    const std::int64_t outer = rows <= 1 ? cols : t.strides()[0];
    fn(Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>(t.data(), rows, cols,
                                                           Eigen::OuterStride<>(outer)));
  } else if (t.strides()[0] == 1 || rows == 1) {
    fn(Eigen::Map<const ColMajor, 0, Eigen::OuterStride<>>(t.data(), rows, cols,
                                                           Eigen::OuterStride<>(t.strides()[1])));
  } else {
    const Tensor<T> dense = t.contiguous();
    fn(Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>(dense.data(), rows, cols,
                                                           Eigen::OuterStride<>(cols)));
  }
}

// c (dense row-major [M, N]) = a [M, K] * b [K, N], or += when accumulate.
template <class T>
inline void gemm(const Tensor<T>& a, const Tensor<T>& b, T* c, bool accumulate = false) {
  using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const std::int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  Eigen::Map<RowMajor> C(c, m, n);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) C.setZero();
    return;
  }
  with_eigen_matrix(a, [&](const auto& A) {
    with_eigen_matrix(b, [&](const auto& B) {
      const std::int64_t grain = std::max<std::int64_t>(1, kGemmGrainMacs / (n * k));
      parallel_for(0, m, grain, [&](std::int64_t lo, std::int64_t hi) {
        auto block = C.middleRows(lo, hi - lo);
        if (accumulate)
          block.noalias() += A.middleRows(lo, hi - lo) * B;
        else
          block.noalias() = A.middleRows(lo, hi - lo) * B;
      });
    });
  });
}

// a [M, K] x b [K, N] -> new dense [M, N] (no autograd).
template <class T>
inline Tensor<T> mm(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> c = Tensor<T>::empty({a.shape()[0], b.shape()[1]});
  gemm(a, b, c.data());
  return c;
}

}  // namespace detail

namespace detail {
template <FloatElement T>
inline Tensor<T> matmul_untraced(const Tensor<T>& a, const Tensor<T>& b) {
  FROST_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul", "shapes ", shape_str(a.shape()), " and ",
              shape_str(b.shape()), ": both operands need at least one dimension");
  if (a.dim() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul(a, b.unsqueeze(1)).squeeze(-1);
  const std::int64_t k = a.shape().back();
  FROST_CHECK(k == b.shape()[b.shape().size() - 2], "matmul", "shapes ", shape_str(a.shape()),
              " and ", shape_str(b.shape()), " cannot be multiplied (", k,
              " != ", b.shape()[b.shape().size() - 2], ")");
  const std::int64_t n = b.shape().back();
  Shape out_shape(a.shape().begin(), a.shape().end() - 1);
  out_shape.push_back(n);

  if (b.dim() == 2) {
    // Fold every leading dimension of a into the rows of one GEMM.
    const Tensor<T> a2 = a.detach().reshape({-1, k});
    Tensor<T> out = detail::mm(a2, b.detach()).view(out_shape);
    if (autograd::should_record(a, b))
      autograd::record("matmul", out, {a, b},
                       [a2, b2 = b.detach(), a_shape = a.shape(), ra = a.requires_grad(),
                        rb = b.requires_grad(), n](const Tensor<T>& g) {
                         const Tensor<T> g2 = g.reshape({-1, n});
                         Tensor<T> ga, gb;
                         if (ra) ga = detail::mm(g2, b2.t()).view(a_shape);
                         if (rb) gb = detail::mm(a2.t(), g2);
                         return std::vector<Tensor<T>>{ga, gb};
                       });
    return out;
  }

  FROST_CHECK(
      a.dim() == b.dim() && std::equal(a.shape().begin(), a.shape().end() - 2, b.shape().begin()),
      "matmul", "shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
      ": batched operands need equal batch dimensions");
  const std::int64_t m = a.shape()[a.shape().size() - 2];
  const Tensor<T> a3 = a.detach().reshape({-1, m, k});
  const Tensor<T> b3 = b.detach().reshape({-1, k, n});
  const std::int64_t batch = a3.shape()[0];
  Tensor<T> out = Tensor<T>::empty({batch, m, n});
  for (std::int64_t i = 0; i < batch; ++i)
    detail::gemm(a3.select(0, i), b3.select(0, i), out.data() + i * m * n);
  out = out.view(out_shape);
  if (autograd::should_record(a, b))
    autograd::record(
        "matmul", out, {a, b},
        [a3, b3, a_shape = a.shape(), b_shape = b.shape(), ra = a.requires_grad(),
         rb = b.requires_grad(), batch, m, k, n](const Tensor<T>& g) {
          const Tensor<T> g3 = g.reshape({batch, m, n});
          Tensor<T> ga, gb;
          if (ra) {
            ga = Tensor<T>::empty({batch, m, k});
            for (std::int64_t i = 0; i < batch; ++i)
              detail::gemm(g3.select(0, i), b3.select(0, i).t(), ga.data() + i * m * k);
            ga = ga.view(a_shape);
          }
          if (rb) {
            gb = Tensor<T>::empty({batch, k, n});
            for (std::int64_t i = 0; i < batch; ++i)
              detail::gemm(a3.select(0, i).t(), g3.select(0, i), gb.data() + i * k * n);
            gb = gb.view(b_shape);
          }
          return std::vector<Tensor<T>>{ga, gb};
        });
  return out;
}
}  // namespace detail

template <FloatElement T>
inline Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
  const autograd::OpScope scope;
  return scope.finish("matmul", {&a, &b}, detail::matmul_untraced(a, b));
}

}  // namespace frost

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
