#pragma once
// dropout(x, p, training, gen): in training, zeroes each element with probability p and scales
// the survivors by 1 / (1 - p) (inverted dropout, as PyTorch); the identity in evaluation. The
// mask is drawn serially from `gen`, so a seed fixes it whatever the thread count.

#include <cstdint>
#include <vector>

#include "frost/core/rng.hpp"
#include "frost/core/tensor.hpp"

namespace frost {

template <FloatElement T>
inline Tensor<T> dropout(const Tensor<T>& x, double p, bool training,
                         Generator& gen = default_generator()) {
  const autograd::OpScope scope;
  const auto attributes = [&] { return autograd::OpAttributes{{"p", {p}}}; };
  FROST_CHECK(p >= 0.0 && p <= 1.0, "dropout", "probability ", p,
              " outside [0, 1] for input shape ", shape_str(x.shape()));
  if (!training || p == 0.0) return scope.finish("dropout", {&x}, x, attributes);
  const T keep_scale = p < 1.0 ? static_cast<T>(1.0 / (1.0 - p)) : T(0);
  Tensor<T> mask = Tensor<T>::empty(x.shape());
  T* m = mask.data();
  for (std::int64_t i = 0; i < mask.numel(); ++i)
    m[i] = gen.uniform_double() < p ? T(0) : keep_scale;
  const auto times = [](T a, T b) { return a * b; };
  Tensor<T> out = detail::elementwise<T>("dropout", times, x, mask);
  if (autograd::should_record(x))
    autograd::record("dropout", out, {x}, [mask, times](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{detail::elementwise<T>("dropout_backward", times, g, mask)};
    });
  return scope.finish("dropout", {&x}, out, attributes);
}

}  // namespace frost
