#pragma once
// batch_norm2d with PyTorch's semantics: per-channel normalisation of x [N, C, H, W] (any
// x [N, C, ...] works; statistics are over every dimension but 1).
//
//   training (or no running statistics given): normalise with the batch mean and biased
//     variance; when running_mean / running_var are given they are updated in place,
//     running = (1 - momentum) * running + momentum * batch statistic (unbiased variance).
//   eval: normalise with running_mean / running_var.
//   y = (x - mean) / sqrt(var + eps) * weight + bias   (weight, bias optional: affine = false)
//
// Differentiable in x, weight and bias (the running statistics are buffers, not inputs).
// Formulas and kernels: kernels/fp32/batch_norm.hpp.

#include <cmath>
#include <cstdint>
#include <vector>

#include "frost/core/tensor.hpp"
#include "frost/kernels/fp32/batch_norm.hpp"

namespace frost {
namespace detail {

template <class T>
inline void check_channel_vector(const Tensor<T>& t, std::int64_t channels, const Shape& x_shape,
                                 const char* what) {
  FROST_CHECK(!t.defined() || (t.dim() == 1 && t.size(0) == channels), "batch_norm2d", what,
              " shape ", shape_str(t.shape()), " does not match input shape ", shape_str(x_shape),
              " (expected [", channels, "])");
}

}  // namespace detail

template <FloatElement T>
inline Tensor<T> batch_norm2d(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias,
                              const Tensor<T>& running_mean, const Tensor<T>& running_var,
                              bool training, double momentum = 0.1, double eps = 1e-5) {
  const autograd::OpScope scope;
  FROST_CHECK(x.defined() && x.dim() >= 2, "batch_norm2d",
              "expected input [N, C, H, W], got shape ",
              shape_str(x.defined() ? x.shape() : Shape{}));
  const std::int64_t C = x.size(1);
  detail::check_channel_vector(weight, C, x.shape(), "weight");
  detail::check_channel_vector(bias, C, x.shape(), "bias");
  detail::check_channel_vector(running_mean, C, x.shape(), "running_mean");
  detail::check_channel_vector(running_var, C, x.shape(), "running_var");
  FROST_CHECK(running_mean.defined() == running_var.defined(), "batch_norm2d",
              "running_mean and running_var must be given together");
  FROST_CHECK(
      !running_mean.defined() || (running_mean.is_contiguous() && running_var.is_contiguous()),
      "batch_norm2d", "running statistics are updated in place and must be contiguous");
  FROST_CHECK(eps > 0 && momentum >= 0 && momentum <= 1, "batch_norm2d",
              "need eps > 0 and momentum in [0, 1], got eps ", eps, ", momentum ", momentum);

  kernels::fp32::BatchNormShape s;
  s.batch = x.size(0);
  s.channels = C;
  s.plane = x.numel() / std::max<std::int64_t>(1, s.batch * C);
  if (x.numel() == 0) s.plane = 0;
  const Tensor<T> xc = x.detach().contiguous();
  const Tensor<T> wc = weight.defined() ? weight.detach().contiguous() : Tensor<T>();
  const Tensor<T> bc = bias.defined() ? bias.detach().contiguous() : Tensor<T>();
  const T* w = wc.defined() ? wc.data() : nullptr;
  const T* b = bc.defined() ? bc.data() : nullptr;
  Tensor<T> y = Tensor<T>::empty(x.shape());
  Tensor<T> mean = Tensor<T>::empty({C}), invstd = Tensor<T>::empty({C});
  const bool batch_stats = training || !running_mean.defined();
  if (batch_stats) {
    kernels::fp32::batch_norm2d_forward_training(
        s, xc.data(), w, b, static_cast<T>(eps), static_cast<T>(momentum),
        running_mean.defined() ? running_mean.data() : nullptr,
        running_var.defined() ? running_var.data() : nullptr, y.data(), mean.data(), invstd.data());
  } else {
    for (std::int64_t c = 0; c < C; ++c) {
      mean.data()[c] = running_mean.data()[c];
      invstd.data()[c] = T(1) / std::sqrt(running_var.data()[c] + static_cast<T>(eps));
    }
    kernels::fp32::batch_norm2d_forward_inference(
        s, xc.data(), w, b, running_mean.data(), running_var.data(), static_cast<T>(eps), y.data());
  }
  if (autograd::should_record(x, weight, bias)) {
    autograd::record("batch_norm2d", y, {x, weight, bias},
                     [s, xc, wc, mean, invstd, batch_stats, need_x = x.requires_grad(),
                      need_w = weight.requires_grad(), need_b = bias.requires_grad(),
                      x_shape = x.shape()](const Tensor<T>& grad) {
                       const Tensor<T> go = grad.contiguous();
                       Tensor<T> gx, gw, gb;
                       if (need_x) gx = Tensor<T>::empty(x_shape);
                       if (need_w) gw = Tensor<T>::empty({s.channels});
                       if (need_b) gb = Tensor<T>::empty({s.channels});
                       kernels::fp32::batch_norm2d_backward(
                           s, go.data(), xc.data(), wc.defined() ? wc.data() : nullptr, mean.data(),
                           invstd.data(), batch_stats, need_x ? gx.data() : nullptr,
                           need_w ? gw.data() : nullptr, need_b ? gb.data() : nullptr);
                       return std::vector<Tensor<T>>{gx, gw, gb};
                     });
  }
  return scope.finish("batch_norm2d", {&x, &weight, &bias, &running_mean, &running_var}, y, [&] {
    return autograd::OpAttributes{
        {"training", {training ? 1.0 : 0.0}}, {"momentum", {momentum}}, {"eps", {eps}}};
  });
}

}  // namespace frost
