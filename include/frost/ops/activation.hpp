#pragma once
// Differentiable activations: relu, relu6, leaky_relu, sigmoid, tanh, hardswish, hardsigmoid.
// Each is one element-wise forward and one element-wise backward rule; the rules at the kinks
// follow PyTorch's (relu: 0 at x = 0; relu6 and hardsigmoid: 0 at the ends of the linear part;
// hardswish: derivative x / 3 + 0.5 on [-3, 3]).

#include <algorithm>
#include <cmath>
#include <vector>

#include "frost/core/tensor.hpp"

namespace frost {
namespace detail {

// y = forward(x); backward gets (grad_y, x, y) per element and returns grad_x.
template <class T, class Forward, class Backward,
          class Attributes = autograd::OpScope::NoAttributes>
inline Tensor<T> unary_activation(const char* name, const Tensor<T>& x, Forward forward,
                                  Backward backward, Attributes attributes = {}) {
  const autograd::OpScope scope;
  Tensor<T> y = elementwise<T>(name, forward, x);
  if (autograd::should_record(x))
    autograd::record(name, y, {x},
                     [name, backward, xs = x.detach(), ys = y.detach()](const Tensor<T>& g) {
                       return std::vector<Tensor<T>>{elementwise<T>(name, backward, g, xs, ys)};
                     });
  return scope.finish(name, {&x}, y, attributes);
}

}  // namespace detail

template <FloatElement T>
inline Tensor<T> relu(const Tensor<T>& x) {
  return detail::unary_activation(
      "relu", x, [](T v) { return v > T(0) ? v : T(0); },
      [](T g, T, T y) { return y > T(0) ? g : T(0); });
}

template <FloatElement T>
inline Tensor<T> relu6(const Tensor<T>& x) {
  return detail::unary_activation(
      "relu6", x, [](T v) { return std::min(std::max(v, T(0)), T(6)); },
      [](T g, T v, T) { return (v > T(0) && v < T(6)) ? g : T(0); });
}

template <FloatElement T>
inline Tensor<T> leaky_relu(const Tensor<T>& x, std::type_identity_t<T> negative_slope = T(0.01)) {
  return detail::unary_activation(
      "leaky_relu", x, [negative_slope](T v) { return v > T(0) ? v : v * negative_slope; },
      [negative_slope](T g, T v, T) { return v > T(0) ? g : g * negative_slope; },
      [negative_slope] {
        return autograd::OpAttributes{{"negative_slope", {double(negative_slope)}}};
      });
}

template <FloatElement T>
inline Tensor<T> sigmoid(const Tensor<T>& x) {
  return detail::unary_activation(
      "sigmoid", x, [](T v) { return T(1) / (T(1) + std::exp(-v)); },
      [](T g, T, T y) { return g * y * (T(1) - y); });
}

template <FloatElement T>
inline Tensor<T> tanh(const Tensor<T>& x) {
  return detail::unary_activation(
      "tanh", x, [](T v) { return std::tanh(v); }, [](T g, T, T y) { return g * (T(1) - y * y); });
}

// x * relu6(x + 3) / 6
template <FloatElement T>
inline Tensor<T> hardswish(const Tensor<T>& x) {
  return detail::unary_activation(
      "hardswish", x, [](T v) { return v * std::min(std::max(v + T(3), T(0)), T(6)) / T(6); },
      [](T g, T v, T) { return v < T(-3) ? T(0) : (v <= T(3) ? g * (v / T(3) + T(0.5)) : g); });
}

// relu6(x + 3) / 6
template <FloatElement T>
inline Tensor<T> hardsigmoid(const Tensor<T>& x) {
  return detail::unary_activation(
      "hardsigmoid", x, [](T v) { return std::min(std::max(v + T(3), T(0)), T(6)) / T(6); },
      [](T g, T v, T) { return (v > T(-3) && v < T(3)) ? g / T(6) : T(0); });
}

}  // namespace frost
