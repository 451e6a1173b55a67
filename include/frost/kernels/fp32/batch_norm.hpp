#pragma once
// Batch normalisation over NCHW data (per channel, statistics over N, H and W), PyTorch's
// formulas exactly. With M = N * H * W values per channel:
//
//   training:  mean = sum(x) / M, var = sum((x - mean)^2) / M (biased), invstd = 1 / sqrt(var +
//   eps)
//              running_mean = (1 - momentum) * running_mean + momentum * mean
//              running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
//   eval:      mean, var = running statistics
//   y = (x - mean) * invstd * weight + bias             (weight 1 and bias 0 when nullptr)
//
//   backward, with dy = grad_output, xhat = (x - mean) * invstd:
//   grad_bias   = sum(dy),  grad_weight = sum(dy * xhat)
//   grad_input  = weight * invstd * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M)   (training)
//               = weight * invstd * dy                                              (eval)
//
// Channels run in parallel; each channel's sums are taken per plane (Eigen's vectorised
// reduction) and then across planes in double, in a fixed order.

#include <cmath>
#include <cstdint>

#include "frost/core/error.hpp"
#include "frost/core/parallel.hpp"
#include "frost/kernels/fp32/eigen.hpp"

namespace frost::kernels::fp32 {

// [N, C, H, W] as batch, channels and the H * W values of one plane.
struct BatchNormShape {
  std::int64_t batch = 0;
  std::int64_t channels = 0;
  std::int64_t plane = 0;  // H * W

  std::int64_t count() const { return batch * plane; }  // values per channel
};

namespace detail {

template <class T>
using PlaneArray = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// Calls fn(lo, hi) over channel ranges, with enough values per task to be worth a thread.
template <class Fn>
inline void for_channels(const BatchNormShape& s, Fn&& fn) {
  const std::int64_t per_channel = std::max<std::int64_t>(1, s.count());
  parallel_for(0, s.channels, std::max<std::int64_t>(1, 16384 / per_channel), fn);
}

template <class T>
inline T weight_at(const T* weight, std::int64_t c) {
  return weight != nullptr ? weight[c] : T(1);
}

// y[c] = x[c] * scale + shift, plane by plane.
template <class T>
inline void scale_shift_channel(const BatchNormShape& s, std::int64_t c, const T* x, T scale,
                                T shift, T* y) {
  for (std::int64_t n = 0; n < s.batch; ++n) {
    const std::int64_t base = (n * s.channels + c) * s.plane;
    for (std::int64_t i = 0; i < s.plane; ++i) y[base + i] = x[base + i] * scale + shift;
  }
}

}  // namespace detail

inline void check_batch_norm_shape(const BatchNormShape& s, const char* op) {
  FROST_CHECK(s.batch >= 0 && s.channels >= 1 && s.plane >= 0, op,
              "expected batch >= 0, channels >= 1 and H * W >= 0, got batch ", s.batch,
              ", channels ", s.channels, ", H * W ", s.plane);
}

// Training forward: normalises with the batch statistics, writes save_mean[C] and
// save_invstd[C] (for backward), and updates running_mean / running_var when not nullptr.
template <class T>
inline void batch_norm2d_forward_training(const BatchNormShape& s, const T* x, const T* weight,
                                          const T* bias, T eps, T momentum, T* running_mean,
                                          T* running_var, T* y, T* save_mean, T* save_invstd) {
  check_batch_norm_shape(s, "batch_norm2d");
  FROST_CHECK(s.count() > 1, "batch_norm2d",
              "expected more than 1 value per channel when training, got input [", s.batch, ", ",
              s.channels, ", H * W = ", s.plane, "]");
  const std::int64_t M = s.count();
  detail::for_channels(s, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t c = lo; c < hi; ++c) {
      double sum = 0;
      for (std::int64_t n = 0; n < s.batch; ++n)
        sum += detail::PlaneArray<T>(x + (n * s.channels + c) * s.plane, s.plane).sum();
      const T mean = static_cast<T>(sum / static_cast<double>(M));
      // Two passes (deviations from the mean) rather than E[x^2] - mean^2, which cancels badly.
      double squares = 0;
      for (std::int64_t n = 0; n < s.batch; ++n)
        squares += (detail::PlaneArray<T>(x + (n * s.channels + c) * s.plane, s.plane) - mean)
                       .square()
                       .sum();
      const double var = squares / static_cast<double>(M);
      const T invstd = static_cast<T>(1.0 / std::sqrt(var + static_cast<double>(eps)));
      save_mean[c] = mean;
      save_invstd[c] = invstd;
      if (running_mean != nullptr)
        running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean;
      if (running_var != nullptr)
        running_var[c] =
            (1 - momentum) * running_var[c] +
            momentum * static_cast<T>(var * static_cast<double>(M) / static_cast<double>(M - 1));
      const T scale = detail::weight_at(weight, c) * invstd;
      const T shift = (bias != nullptr ? bias[c] : T(0)) - mean * scale;
      detail::scale_shift_channel(s, c, x, scale, shift, y);
    }
  });
}

// Eval forward: normalises with the given running statistics.
template <class T>
inline void batch_norm2d_forward_inference(const BatchNormShape& s, const T* x, const T* weight,
                                           const T* bias, const T* running_mean,
                                           const T* running_var, T eps, T* y) {
  check_batch_norm_shape(s, "batch_norm2d");
  detail::for_channels(s, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t c = lo; c < hi; ++c) {
      const T invstd = T(1) / std::sqrt(running_var[c] + eps);
      const T scale = detail::weight_at(weight, c) * invstd;
      const T shift = (bias != nullptr ? bias[c] : T(0)) - running_mean[c] * scale;
      detail::scale_shift_channel(s, c, x, scale, shift, y);
    }
  });
}

// Backward of either forward. `mean` and `invstd` are save_mean / save_invstd of the training
// forward, or the running mean and 1 / sqrt(running_var + eps) in eval. Any of grad_input,
// grad_weight, grad_bias may be nullptr; the others are overwritten.
template <class T>
inline void batch_norm2d_backward(const BatchNormShape& s, const T* grad_output, const T* x,
                                  const T* weight, const T* mean, const T* invstd, bool training,
                                  T* grad_input, T* grad_weight, T* grad_bias) {
  check_batch_norm_shape(s, "batch_norm2d_backward");
  const double M = static_cast<double>(s.count());
  detail::for_channels(s, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t c = lo; c < hi; ++c) {
      const T mu = mean[c], inv = invstd[c];
      double sum_dy = 0, sum_dy_xmu = 0;  // sum(dy), sum(dy * (x - mean))
      for (std::int64_t n = 0; n < s.batch; ++n) {
        const std::int64_t base = (n * s.channels + c) * s.plane;
        const detail::PlaneArray<T> dy(grad_output + base, s.plane), xs(x + base, s.plane);
        sum_dy += dy.sum();
        sum_dy_xmu += (dy * (xs - mu)).sum();
      }
      if (grad_bias != nullptr) grad_bias[c] = static_cast<T>(sum_dy);
      if (grad_weight != nullptr) grad_weight[c] = static_cast<T>(sum_dy_xmu) * inv;
      if (grad_input == nullptr) continue;
      const T w = detail::weight_at(weight, c);
      if (!training || M == 0) {
        const T scale = w * inv;
        detail::scale_shift_channel(s, c, grad_output, scale, T(0), grad_input);
        continue;
      }
      // The training formula above with its per-channel constants hoisted out of the loop.
      const T mean_dy = static_cast<T>(sum_dy / M);
      const T k = static_cast<T>(sum_dy_xmu / M) * inv * inv;  // sum(dy * xhat) / M / invstd
      const T a = w * inv;
      for (std::int64_t n = 0; n < s.batch; ++n) {
        const std::int64_t base = (n * s.channels + c) * s.plane;
        for (std::int64_t i = 0; i < s.plane; ++i)
          grad_input[base + i] = (grad_output[base + i] - mean_dy - (x[base + i] - mu) * k) * a;
      }
    }
  });
}

}  // namespace frost::kernels::fp32
