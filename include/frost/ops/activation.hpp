#pragma once
// Differentiable activations: relu, relu6, leaky_relu, sigmoid, tanh, hardswish, hardsigmoid.
// Each is one element-wise forward and one element-wise backward rule; the rules at the kinks
// follow PyTorch's (relu: 0 at x = 0; relu6 and hardsigmoid: 0 at the ends of the linear part;
// hardswish: derivative x / 3 + 0.5 on [-3, 3]).

#include <algorithm>
#include <cmath>
#include <vector>

#include "frost/core/simd.hpp"

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

// Forward rules with an xsimd form (core/tensor_ops.hpp runs `batch` on every element of a
// dense float or double tensor; operator() is the same rule one element at a time). xsimd's exp
// and tanh are within a few ULP of std::exp / std::tanh; hardswish and hardsigmoid are the same
// IEEE operations in both forms, so bit-identical.
struct SigmoidFn {
  template <class T>
  T operator()(T v) const {
    return T(1) / (T(1) + std::exp(-v));
  }
  template <class B>
  B batch(B v) const {
    return B(1) / (B(1) + xsimd::exp(-v));
  }
};
struct TanhFn {
  template <class T>
  T operator()(T v) const {
    return std::tanh(v);
  }
  template <class B>
  B batch(B v) const {
    return xsimd::tanh(v);
  }
};
struct HardswishFn {
  template <class T>
  T operator()(T v) const {
    return v * std::min(std::max(v + T(3), T(0)), T(6)) / T(6);
  }
  template <class B>
  B batch(B v) const {
    return v * xsimd::min(xsimd::max(v + B(3), B(0)), B(6)) / B(6);
  }
};
struct HardsigmoidFn {
  template <class T>
  T operator()(T v) const {
    return std::min(std::max(v + T(3), T(0)), T(6)) / T(6);
  }
  template <class B>
  B batch(B v) const {
    return xsimd::min(xsimd::max(v + B(3), B(0)), B(6)) / B(6);
  }
};

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
  return detail::unary_activation("sigmoid", x, detail::SigmoidFn{},
                                  [](T g, T, T y) { return g * y * (T(1) - y); });
}

template <FloatElement T>
inline Tensor<T> tanh(const Tensor<T>& x) {
  return detail::unary_activation("tanh", x, detail::TanhFn{},
                                  [](T g, T, T y) { return g * (T(1) - y * y); });
}

// x * relu6(x + 3) / 6
template <FloatElement T>
inline Tensor<T> hardswish(const Tensor<T>& x) {
  return detail::unary_activation("hardswish", x, detail::HardswishFn{}, [](T g, T v, T) {
    return v < T(-3) ? T(0) : (v <= T(3) ? g * (v / T(3) + T(0.5)) : g);
  });
}

// relu6(x + 3) / 6
template <FloatElement T>
inline Tensor<T> hardsigmoid(const Tensor<T>& x) {
  return detail::unary_activation("hardsigmoid", x, detail::HardsigmoidFn{}, [](T g, T v, T) {
    return (v > T(-3) && v < T(3)) ? g / T(6) : T(0);
  });
}

}  // namespace frost
