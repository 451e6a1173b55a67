#pragma once
// Shared by the optimizer tests: parameters with gradients set by hand, and comparison against
// plain double-precision reference implementations written in the tests.

#include <frost/core/tensor.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <vector>

namespace optim_test {

using frost::Shape;
using frost::Tensor;

inline Tensor<float> param(const std::vector<float>& values, const Shape& shape) {
  return Tensor<float>::from_vector(values, shape).requires_grad_();
}

inline void set_grad(Tensor<float>& p, const std::vector<double>& g) {
  std::vector<float> f(g.begin(), g.end());
  p.set_grad(Tensor<float>::from_vector(f, p.shape()));
}

inline std::vector<double> values(const Tensor<float>& t) {
  const Tensor<float> c = t.contiguous();
  return std::vector<double>(c.data(), c.data() + c.numel());
}

inline std::vector<double> as_double(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}

// Element-wise |actual - expected| <= tol * max(1, |expected|).
inline void require_close(const std::vector<double>& actual, const std::vector<double>& expected,
                          double tol = 1e-6) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("element " << i << ": actual " << actual[i] << ", expected " << expected[i]);
    REQUIRE(std::abs(actual[i] - expected[i]) <= tol * std::max(1.0, std::abs(expected[i])));
  }
}

}  // namespace optim_test
