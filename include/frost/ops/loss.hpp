#pragma once
// Losses: cross_entropy (log-softmax + negative log-likelihood in one pass, with label smoothing
// and ignore_index, exactly as torch.nn.functional.cross_entropy defines them) and mse_loss.
//
// cross_entropy for a sample with logits x (C classes), target t and smoothing e:
//   loss = (1 - e) * (-log p_t) + (e / C) * sum_c (-log p_c),   p = softmax(x)
// Samples whose target equals ignore_index contribute 0 and are left out of the mean's count.
// Gradient w.r.t. x_c: p_c - (1 - e) [c == t] - e / C, times the reduction's weight.

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "frost/core/tensor.hpp"
#include "frost/ops/elementwise.hpp"
#include "frost/ops/reduction.hpp"
#include "frost/ops/softmax.hpp"

namespace frost {

enum class Reduction { none, mean, sum };

// logits [N, C] (or [N, C, d1, ...] with targets [N, d1, ...]), targets int32 class indices.
template <FloatElement T>
inline Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<std::int32_t>& targets,
                               double label_smoothing = 0.0, std::int32_t ignore_index = -100,
                               Reduction reduction = Reduction::mean) {
  FROST_CHECK(logits.dim() >= 2, "cross_entropy",
              "logits must be [N, C] or [N, C, ...], got shape ", shape_str(logits.shape()),
              " with targets ", shape_str(targets.shape()));
  Shape expected_targets = logits.shape();
  expected_targets.erase(expected_targets.begin() + 1);
  FROST_CHECK(targets.shape() == expected_targets, "cross_entropy", "logits of shape ",
              shape_str(logits.shape()), " need targets of shape ", shape_str(expected_targets),
              ", got ", shape_str(targets.shape()));
  FROST_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, "cross_entropy", "label_smoothing ",
              label_smoothing, " outside [0, 1]");
  if (logits.dim() > 2) {
    // Spatial targets: classes last, then one row per position.
    const std::int64_t c = logits.shape()[1];
    const Tensor<T> rows = logits.transpose(1, -1).reshape({-1, c});
    Tensor<T> loss =
        cross_entropy(rows, targets.reshape({-1}), label_smoothing, ignore_index, reduction);
    return reduction == Reduction::none ? loss.reshape(targets.shape()) : loss;
  }

  const Tensor<T> x = logits.detach().contiguous();
  const Tensor<std::int32_t> t = targets.contiguous();
  const std::int64_t n = x.shape()[0], c = x.shape()[1];
  const T smooth = static_cast<T>(label_smoothing);
  std::vector<T> lse(static_cast<std::size_t>(n));
  Tensor<T> per_sample = Tensor<T>::zeros({n});
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int32_t target = t.data()[i];
    if (target == ignore_index) continue;
    FROST_CHECK(target >= 0 && target < c, "cross_entropy", "target ", target, " at index ", i,
                " out of range for ", c, " classes (logits shape ", shape_str(logits.shape()), ")");
    ++count;
    const T* row = x.data() + i * c;
    const T l = c > 0 ? detail::row_log_sum_exp(row, c) : T(0);
    lse[static_cast<std::size_t>(i)] = l;
    T row_sum = 0;
    if (smooth != T(0))
      for (std::int64_t j = 0; j < c; ++j) row_sum += row[j];
    per_sample.data()[i] = l - (T(1) - smooth) * row[target] - smooth / static_cast<T>(c) * row_sum;
  }

  Tensor<T> out;
  if (reduction == Reduction::none) {
    out = per_sample;
  } else {
    double total = 0;
    for (std::int64_t i = 0; i < n; ++i) total += per_sample.data()[i];
    if (reduction == Reduction::mean)
      total /= static_cast<double>(count);  // 0 / 0 = NaN, as PyTorch
    out = Tensor<T>::scalar(static_cast<T>(total));
  }
  if (autograd::should_record(logits))
    autograd::record(
        "cross_entropy", out, {logits},
        [x, t, lse = std::move(lse), count, reduction, smooth, ignore_index](const Tensor<T>& g) {
          const std::int64_t rows = x.shape()[0], classes = x.shape()[1];
          const Tensor<T> gc = g.contiguous();
          Tensor<T> grad = Tensor<T>::empty(x.shape());
          const T uniform = smooth / static_cast<T>(classes);
          for (std::int64_t i = 0; i < rows; ++i) {
            T* o = grad.data() + i * classes;
            const std::int32_t target = t.data()[i];
            if (target == ignore_index) {
              std::fill_n(o, classes, T(0));
              continue;
            }
            T w = reduction == Reduction::none ? gc.data()[i] : gc.data()[0];
            if (reduction == Reduction::mean) w /= static_cast<T>(count);
            const T* row = x.data() + i * classes;
            const T l = lse[static_cast<std::size_t>(i)];
            detail::row_exp_shifted(row, l, o, classes);  // softmax of the row
            for (std::int64_t j = 0; j < classes; ++j) o[j] = w * (o[j] - uniform);
            o[target] -= w * (T(1) - smooth);
          }
          return std::vector<Tensor<T>>{grad};
        });
  return out;
}

// Squared error, averaged (mean), summed (sum) or per element (none); input and target must
// have the same shape.
template <FloatElement T>
inline Tensor<T> mse_loss(const Tensor<T>& input, const Tensor<T>& target,
                          Reduction reduction = Reduction::mean) {
  FROST_CHECK(input.shape() == target.shape(), "mse_loss", "input shape ", shape_str(input.shape()),
              " and target shape ", shape_str(target.shape()), " differ");
  const Tensor<T> diff = sub(input, target);
  const Tensor<T> squares = mul(diff, diff);
  switch (reduction) {
    case Reduction::none:
      return squares;
    case Reduction::sum:
      return sum(squares);
    case Reduction::mean:
      break;
  }
  return mean(squares);
}

}  // namespace frost
