#pragma once
// gradcheck: compares the analytic gradients of a function (backward()) with central finite
// differences, in double precision.
//
// To check every output element at once without building the full Jacobian, the output y is
// projected on a fixed random direction v: L = sum(v * y). The analytic dL/dx comes from
// y.backward(v); the numerical one perturbs each input element by +-eps. A wrong backward rule
// shows up for almost every v, including the fixed one.

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "frost/core/tensor.hpp"

namespace frost {

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;  // max over checked elements of |analytic - numerical|
  double max_rel_error = 0;  // the same divided by max(|numerical|, 1e-12)
  std::string message;       // the first mismatch; empty when ok
  explicit operator bool() const { return ok; }
};

namespace autograd::detail {
inline double projected(const Tensor<double>& y, const Tensor<double>& v) {
  const Tensor<double> yc = y.contiguous();
  double s = 0;
  for (std::int64_t i = 0; i < yc.numel(); ++i) s += yc.data()[i] * v.data()[i];
  return s;
}
}  // namespace autograd::detail

// fn: (const std::vector<Tensor<double>>&) -> Tensor<double>. Every input that requires grad
// (dense leaves) is checked; an element fails when |analytic - numerical| > atol + rtol *
// |numerical|. Returns the errors; `ok` is false on a mismatch (the inputs are left unchanged,
// their .grad() holds the analytic gradient of L).
template <class Fn>
inline GradcheckResult gradcheck(Fn&& fn, const std::vector<Tensor<double>>& inputs,
                                 double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3) {
  for (const auto& x : inputs)
    FROST_CHECK(x.defined() && x.is_leaf() && x.is_contiguous(), "gradcheck",
                "inputs must be dense leaf tensors, got shape ", shape_str(x.shape()));
  Tensor<double> y = fn(inputs);
  FROST_CHECK(y.requires_grad(), "gradcheck", "the output of shape ", shape_str(y.shape()),
              " does not require grad");
  Generator gen(0x9c4d);
  const Tensor<double> v = Tensor<double>::randn(y.shape(), gen);
  for (auto x : inputs) x.zero_grad();
  y.backward(v);
  y = Tensor<double>();

  GradcheckResult result;
  NoGradGuard no_grad;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const Tensor<double>& x = inputs[k];
    if (!x.requires_grad()) continue;
    const Tensor<double> analytic = x.grad();
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      double& element = x.data()[i];
      const double saved = element;
      element = saved + eps;
      const double plus = autograd::detail::projected(fn(inputs), v);
      element = saved - eps;
      const double minus = autograd::detail::projected(fn(inputs), v);
      element = saved;
      const double numerical = (plus - minus) / (2 * eps);
      const double a = analytic.defined() ? analytic.contiguous().data()[i] : 0.0;
      const double err = std::abs(a - numerical);
      result.max_abs_error = std::max(result.max_abs_error, err);
      result.max_rel_error =
          std::max(result.max_rel_error, err / std::max(std::abs(numerical), 1e-12));
      if (!(err <= atol + rtol * std::abs(numerical)) && result.ok) {
        result.ok = false;
        std::ostringstream os;
        os << "gradcheck: input " << k << " (shape " << shape_str(x.shape()) << ") element " << i
           << ": analytic " << a << " vs numerical " << numerical;
        result.message = os.str();
      }
    }
  }
  return result;
}

}  // namespace frost
