#pragma once
// Differentiable element-wise arithmetic with NumPy broadcasting: add, sub, mul, div (tensor or
// scalar operands, and the operators + - * / and unary -), neg, exp, log, sqrt, pow (scalar
// exponent), abs, clamp. Each forward is followed by its backward rule. Backward of a
// broadcasting op sums the gradient back to each input's shape (detail::sum_to), which returns
// the gradient itself, without a copy, when no broadcasting happened.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "frost/core/simd.hpp"

#include "frost/core/tensor.hpp"

namespace frost {

template <class T>
using Grads = std::vector<Tensor<T>>;

// Integer arithmetic runs in int64 and wraps on the way back to T (int32 overflow would be
// undefined behaviour in T itself); floats are computed in their own type.
template <class T>
using wide_t = std::conditional_t<std::is_integral_v<T>, std::int64_t, T>;
template <class T>
inline constexpr wide_t<T> wide(T x) {
  return static_cast<wide_t<T>>(x);
}

namespace detail {
// Integer division by zero is undefined behaviour in C++: refuse it up front.
template <class T>
inline void check_integer_divisor(const Tensor<T>& divisor, const char* op) {
  if constexpr (std::is_integral_v<T>) {
    const Tensor<T> d = divisor.contiguous();
    FROST_CHECK(std::find(d.data(), d.data() + d.numel(), T(0)) == d.data() + d.numel(), op,
                "integer division by zero (divisor of shape ", shape_str(divisor.shape()), ")");
  } else {
    (void)divisor, (void)op;
  }
}
}  // namespace detail

// ---- binary, tensor (x) tensor ---------------------------------------------------------------

template <class T>
inline Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
  const autograd::OpScope scope;
  Tensor<T> out = detail::elementwise<T>(
      "add", [](T x, T y) { return static_cast<T>(wide<T>(x) + y); }, a, b);
  if (autograd::should_record(a, b))
    autograd::record("add", out, {a, b},
                     [sa = a.shape(), sb = b.shape(), ra = a.requires_grad(),
                      rb = b.requires_grad()](const Tensor<T>& g) {
                       return Grads<T>{ra ? detail::sum_to(g, sa) : Tensor<T>(),
                                       rb ? detail::sum_to(g, sb) : Tensor<T>()};
                     });
  return scope.finish("add", {&a, &b}, out);
}

template <class T>
inline Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
  const autograd::OpScope scope;
  Tensor<T> out = detail::elementwise<T>(
      "sub", [](T x, T y) { return static_cast<T>(wide<T>(x) - y); }, a, b);
  if (autograd::should_record(a, b))
    autograd::record("sub", out, {a, b},
                     [sa = a.shape(), sb = b.shape(), ra = a.requires_grad(),
                      rb = b.requires_grad()](const Tensor<T>& g) {
                       Tensor<T> gb;
                       if (rb)
                         gb = detail::sum_to(detail::elementwise<T>(
                                                 "sub_backward", [](T x) { return -x; }, g),
                                             sb);
                       return Grads<T>{ra ? detail::sum_to(g, sa) : Tensor<T>(), gb};
                     });
  return scope.finish("sub", {&a, &b}, out);
}

template <class T>
inline Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
  const autograd::OpScope scope;
  Tensor<T> out = detail::elementwise<T>(
      "mul", [](T x, T y) { return static_cast<T>(wide<T>(x) * y); }, a, b);
  if (autograd::should_record(a, b)) {
    const bool ra = a.requires_grad(), rb = b.requires_grad();
    // Each input's gradient needs only the other input.
    autograd::record(
        "mul", out, {a, b},
        [sa = a.shape(), sb = b.shape(), a_saved = rb ? a.detach() : Tensor<T>(),
         b_saved = ra ? b.detach() : Tensor<T>()](const Tensor<T>& g) {
          const auto times = [](T x, T y) { return x * y; };
          Tensor<T> ga, gb;
          if (b_saved.defined())
            ga = detail::sum_to(detail::elementwise<T>("mul_backward", times, g, b_saved), sa);
          if (a_saved.defined())
            gb = detail::sum_to(detail::elementwise<T>("mul_backward", times, g, a_saved), sb);
          return Grads<T>{ga, gb};
        });
  }
  return scope.finish("mul", {&a, &b}, out);
}

template <class T>
inline Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
  const autograd::OpScope scope;
  detail::check_integer_divisor(b, "div");
  Tensor<T> out = detail::elementwise<T>(
      "div", [](T x, T y) { return static_cast<T>(wide<T>(x) / y); }, a, b);
  if (autograd::should_record(a, b))
    autograd::record(
        "div", out, {a, b},
        [sa = a.shape(), sb = b.shape(), ra = a.requires_grad(), rb = b.requires_grad(),
         a_saved = a.detach(), b_saved = b.detach()](const Tensor<T>& g) {
          Tensor<T> ga, gb;
          if (ra)
            ga = detail::sum_to(detail::elementwise<T>(
                                    "div_backward", [](T x, T y) { return x / y; }, g, b_saved),
                                sa);
          if (rb)
            gb = detail::sum_to(detail::elementwise<T>(
                                    "div_backward", [](T x, T p, T q) { return -x * p / (q * q); },
                                    g, a_saved, b_saved),
                                sb);
          return Grads<T>{ga, gb};
        });
  return scope.finish("div", {&a, &b}, out);
}

// ---- binary, tensor (x) scalar ---------------------------------------------------------------

template <class T>
inline Tensor<T> add(const Tensor<T>& a, std::type_identity_t<T> s) {
  const autograd::OpScope scope;
  Tensor<T> out = detail::elementwise<T>(
      "add", [s](T x) { return static_cast<T>(wide<T>(x) + s); }, a);
  if (autograd::should_record(a))
    autograd::record("add_scalar", out, {a}, [](const Tensor<T>& g) { return Grads<T>{g}; });
  return scope.finish("add_scalar", {&a}, out, [&] {
    return autograd::OpAttributes{{"value", {double(s)}}};
  });
}
template <class T>
inline Tensor<T> sub(const Tensor<T>& a, std::type_identity_t<T> s) {
  return add(a, static_cast<T>(-s));
}
// s - a
template <class T>
inline Tensor<T> rsub(const Tensor<T>& a, std::type_identity_t<T> s) {
  const autograd::OpScope scope;
  Tensor<T> out = detail::elementwise<T>(
      "sub", [s](T x) { return static_cast<T>(wide<T>(s) - x); }, a);
  if (autograd::should_record(a))
    autograd::record("rsub_scalar", out, {a}, [](const Tensor<T>& g) {
      return Grads<T>{detail::elementwise<T>(
          "rsub_backward", [](T x) { return -x; }, g)};
    });
  return scope.finish("rsub_scalar", {&a}, out, [&] {
    return autograd::OpAttributes{{"value", {double(s)}}};
  });
}
template <class T>
inline Tensor<T> mul(const Tensor<T>& a, std::type_identity_t<T> s) {
  const autograd::OpScope scope;
  Tensor<T> out = detail::elementwise<T>(
      "mul", [s](T x) { return static_cast<T>(wide<T>(x) * s); }, a);
  if (autograd::should_record(a))
    autograd::record("mul_scalar", out, {a}, [s](const Tensor<T>& g) {
      return Grads<T>{detail::elementwise<T>(
          "mul_backward", [s](T x) { return x * s; }, g)};
    });
  return scope.finish("mul_scalar", {&a}, out, [&] {
    return autograd::OpAttributes{{"value", {double(s)}}};
  });
}
template <class T>
inline Tensor<T> div(const Tensor<T>& a, std::type_identity_t<T> s) {
  const autograd::OpScope scope;
  if constexpr (std::is_integral_v<T>)
    FROST_CHECK(s != T(0), "div", "integer division by zero (tensor of shape ",
                shape_str(a.shape()), " divided by 0)");
  Tensor<T> out = detail::elementwise<T>(
      "div", [s](T x) { return static_cast<T>(wide<T>(x) / s); }, a);
  if (autograd::should_record(a))
    autograd::record("div_scalar", out, {a}, [s](const Tensor<T>& g) {
      return Grads<T>{detail::elementwise<T>(
          "div_backward", [s](T x) { return x / s; }, g)};
    });
  return scope.finish("div_scalar", {&a}, out, [&] {
    return autograd::OpAttributes{{"value", {double(s)}}};
  });
}
// s / a
template <class T>
inline Tensor<T> rdiv(const Tensor<T>& a, std::type_identity_t<T> s) {
  const autograd::OpScope scope;
  detail::check_integer_divisor(a, "div");
  Tensor<T> out = detail::elementwise<T>(
      "div", [s](T x) { return static_cast<T>(wide<T>(s) / x); }, a);
  if (autograd::should_record(a))
    autograd::record("rdiv_scalar", out, {a}, [s, a_saved = a.detach()](const Tensor<T>& g) {
      return Grads<T>{detail::elementwise<T>(
          "rdiv_backward", [s](T x, T p) { return -x * s / (p * p); }, g, a_saved)};
    });
  return scope.finish("rdiv_scalar", {&a}, out, [&] {
    return autograd::OpAttributes{{"value", {double(s)}}};
  });
}

template <class T>
inline Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) {
  return add(a, b);
}
template <class T>
inline Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) {
  return sub(a, b);
}
template <class T>
inline Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) {
  return mul(a, b);
}
template <class T>
inline Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) {
  return div(a, b);
}
template <class T>
inline Tensor<T> operator+(const Tensor<T>& a, std::type_identity_t<T> s) {
  return add(a, s);
}
template <class T>
inline Tensor<T> operator+(std::type_identity_t<T> s, const Tensor<T>& a) {
  return add(a, s);
}
template <class T>
inline Tensor<T> operator-(const Tensor<T>& a, std::type_identity_t<T> s) {
  return sub(a, s);
}
template <class T>
inline Tensor<T> operator-(std::type_identity_t<T> s, const Tensor<T>& a) {
  return rsub(a, s);
}
template <class T>
inline Tensor<T> operator*(const Tensor<T>& a, std::type_identity_t<T> s) {
  return mul(a, s);
}
template <class T>
inline Tensor<T> operator*(std::type_identity_t<T> s, const Tensor<T>& a) {
  return mul(a, s);
}
template <class T>
inline Tensor<T> operator/(const Tensor<T>& a, std::type_identity_t<T> s) {
  return div(a, s);
}
template <class T>
inline Tensor<T> operator/(std::type_identity_t<T> s, const Tensor<T>& a) {
  return rdiv(a, s);
}

// ---- unary -----------------------------------------------------------------------------------

template <class T>
inline Tensor<T> neg(const Tensor<T>& a) {
  const autograd::OpScope scope;
  Tensor<T> out = detail::elementwise<T>(
      "neg", [](T x) { return static_cast<T>(-wide<T>(x)); }, a);
  if (autograd::should_record(a))
    autograd::record("neg", out, {a}, [](const Tensor<T>& g) {
      return Grads<T>{detail::elementwise<T>(
          "neg_backward", [](T x) { return -x; }, g)};
    });
  return scope.finish("neg", {&a}, out);
}
template <class T>
inline Tensor<T> operator-(const Tensor<T>& a) {
  return neg(a);
}

namespace detail {
// exp and log on xsimd batches (core/tensor_ops.hpp), within a few ULP of std::exp / std::log.
struct ExpFn {
  template <class T>
  T operator()(T x) const {
    return std::exp(x);
  }
  template <class B>
  B batch(B x) const {
    return xsimd::exp(x);
  }
};
struct LogFn {
  template <class T>
  T operator()(T x) const {
    return std::log(x);
  }
  template <class B>
  B batch(B x) const {
    return xsimd::log(x);
  }
};
}  // namespace detail

template <FloatElement T>
inline Tensor<T> exp(const Tensor<T>& a) {
  const autograd::OpScope scope;
  Tensor<T> out = detail::elementwise<T>("exp", detail::ExpFn{}, a);
  if (autograd::should_record(a))
    autograd::record("exp", out, {a}, [y = out.detach()](const Tensor<T>& g) {
      return Grads<T>{detail::elementwise<T>(
          "exp_backward", [](T x, T e) { return x * e; }, g, y)};
    });
  return scope.finish("exp", {&a}, out);
}

template <FloatElement T>
inline Tensor<T> log(const Tensor<T>& a) {
  const autograd::OpScope scope;
  Tensor<T> out = detail::elementwise<T>("log", detail::LogFn{}, a);
  if (autograd::should_record(a))
    autograd::record("log", out, {a}, [x_saved = a.detach()](const Tensor<T>& g) {
      return Grads<T>{detail::elementwise<T>(
          "log_backward", [](T x, T p) { return x / p; }, g, x_saved)};
    });
  return scope.finish("log", {&a}, out);
}

template <FloatElement T>
inline Tensor<T> sqrt(const Tensor<T>& a) {
  const autograd::OpScope scope;
  Tensor<T> out = detail::elementwise<T>(
      "sqrt", [](T x) { return std::sqrt(x); }, a);
  if (autograd::should_record(a))
    autograd::record("sqrt", out, {a}, [y = out.detach()](const Tensor<T>& g) {
      return Grads<T>{detail::elementwise<T>(
          "sqrt_backward", [](T x, T r) { return x / (2 * r); }, g, y)};
    });
  return scope.finish("sqrt", {&a}, out);
}

template <FloatElement T>
inline Tensor<T> pow(const Tensor<T>& a, std::type_identity_t<T> exponent) {
  const autograd::OpScope scope;
  Tensor<T> out = detail::elementwise<T>(
      "pow", [exponent](T x) { return std::pow(x, exponent); }, a);
  if (autograd::should_record(a))
    autograd::record("pow", out, {a}, [exponent, x_saved = a.detach()](const Tensor<T>& g) {
      return Grads<T>{detail::elementwise<T>(
          "pow_backward",
          [exponent](T x, T p) {
            return exponent == T(0) ? T(0) : x * exponent * std::pow(p, exponent - 1);
          },
          g, x_saved)};
    });
  return scope.finish("pow", {&a}, out, [&] {
    return autograd::OpAttributes{{"exponent", {double(exponent)}}};
  });
}

// Gradient sign(x): 0 at x = 0, as in PyTorch.
template <class T>
inline Tensor<T> abs(const Tensor<T>& a) {
  const autograd::OpScope scope;
  Tensor<T> out = detail::elementwise<T>(
      "abs", [](T x) { return x < T(0) ? static_cast<T>(-wide<T>(x)) : x; }, a);
  if (autograd::should_record(a))
    autograd::record("abs", out, {a}, [x_saved = a.detach()](const Tensor<T>& g) {
      return Grads<T>{detail::elementwise<T>(
          "abs_backward", [](T x, T p) { return p > T(0) ? x : (p < T(0) ? -x : T(0)); }, g,
          x_saved)};
    });
  return scope.finish("abs", {&a}, out);
}

// Gradient passes where low <= x <= high (bounds included, as in PyTorch).
template <class T>
inline Tensor<T> clamp(const Tensor<T>& a, std::type_identity_t<T> low,
                       std::type_identity_t<T> high) {
  const autograd::OpScope scope;
  FROST_CHECK(!(high < low), "clamp", "lower bound ", +low, " above upper bound ", +high);
  Tensor<T> out = detail::elementwise<T>(
      "clamp", [low, high](T x) { return x < low ? low : (x > high ? high : x); }, a);
  if (autograd::should_record(a))
    autograd::record("clamp", out, {a}, [low, high, x_saved = a.detach()](const Tensor<T>& g) {
      return Grads<T>{detail::elementwise<T>(
          "clamp_backward", [low, high](T x, T p) { return (p >= low && p <= high) ? x : T(0); }, g,
          x_saved)};
    });
  return scope.finish("clamp", {&a}, out, [&] {
    return autograd::OpAttributes{{"min", {double(low)}}, {"max", {double(high)}}};
  });
}

}  // namespace frost
