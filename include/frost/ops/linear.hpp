#pragma once
// linear(x, w, b) = x w^T + b with PyTorch's layout: x [..., in], w [out, in], b [out] (optional).
// One node, one GEMM forward, two GEMMs backward; the weight is read transposed in place.

#include <cstdint>
#include <vector>

#include "frost/core/tensor.hpp"
#include "frost/ops/matmul.hpp"

namespace frost {

template <FloatElement T>
inline Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b = Tensor<T>()) {
  const autograd::OpScope scope;
  FROST_CHECK(w.dim() == 2 && x.dim() >= 1 && x.shape().back() == w.shape()[1], "linear",
              "input shape ", shape_str(x.shape()), " and weight shape ", shape_str(w.shape()),
              " do not match (weight must be [out, in] with in = the input's last dimension)");
  const std::int64_t in = w.shape()[1], out_features = w.shape()[0];
  FROST_CHECK(!b.defined() || (b.dim() == 1 && b.shape()[0] == out_features), "linear",
              "bias shape ", shape_str(b.shape()), " does not match weight shape ",
              shape_str(w.shape()));
  const Tensor<T> x2 = x.detach().reshape({-1, in});
  const std::int64_t rows = x2.shape()[0];
  Tensor<T> y = Tensor<T>::empty({rows, out_features});
  detail::gemm(x2, w.detach().t(), y.data());
  if (b.defined()) {
    const Tensor<T> dense_bias = b.detach().contiguous();
    const T* bias = dense_bias.data();
    T* yp = y.data();
    parallel_for(0, rows,
                 std::max<std::int64_t>(
                     1, detail::kElementwiseGrain / std::max<std::int64_t>(out_features, 1)),
                 [&](std::int64_t lo, std::int64_t hi) {
                   for (std::int64_t r = lo; r < hi; ++r)
                     for (std::int64_t j = 0; j < out_features; ++j)
                       yp[r * out_features + j] += bias[j];
                 });
  }
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(out_features);
  y = y.view(out_shape);
  if (autograd::should_record(x, w, b))
    autograd::record(
        "linear", y, {x, w, b},
        [x2, w2 = w.detach(), x_shape = x.shape(), rx = x.requires_grad(), rw = w.requires_grad(),
         rb = b.requires_grad(), out_features](const Tensor<T>& g) {
          const Tensor<T> g2 = g.reshape({-1, out_features});
          Tensor<T> gx, gw, gb;
          if (rx) gx = detail::mm(g2, w2).view(x_shape);
          if (rw) gw = detail::mm(g2.t(), x2);
          if (rb) gb = detail::sum_dims(g2, {true, false}).view({out_features});
          return std::vector<Tensor<T>>{gx, gw, gb};
        });
  return scope.finish("linear", {&x, &w, &b}, y);
}

}  // namespace frost
