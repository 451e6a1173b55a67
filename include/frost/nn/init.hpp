#pragma once
// Weight initialisation with PyTorch's formulas (torch.nn.init), drawing from a seeded
// frost::Generator so that the same seed gives the same network. Every function fills the
// tensor in place (without recording a graph; the argument is a handle) and returns it.
//
//   fan_in  = size(1) * receptive field,  fan_out = size(0) * receptive field
//   gain:     linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + a^2)), selu
//   3/4 kaiming:  std = gain / sqrt(fan)              normal N(0, std), uniform U(-sqrt(3) std,
//   sqrt(3) std) xavier:   std = gain sqrt(2 / (fan_in + fan_out))            (same normal /
//   uniform forms)

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include "frost/autograd/grad_mode.hpp"
#include "frost/core/error.hpp"
#include "frost/core/rng.hpp"
#include "frost/core/tensor.hpp"

namespace frost::nn::init {

enum class FanMode { kFanIn, kFanOut };
enum class Nonlinearity { kLinear, kConv, kSigmoid, kTanh, kReLU, kLeakyReLU, kSELU };

inline double calculate_gain(Nonlinearity nonlinearity, double negative_slope = 0.01) {
  switch (nonlinearity) {
    case Nonlinearity::kLinear:
    case Nonlinearity::kConv:
    case Nonlinearity::kSigmoid:
      return 1.0;
    case Nonlinearity::kTanh:
      return 5.0 / 3.0;
    case Nonlinearity::kReLU:
      return std::sqrt(2.0);
    case Nonlinearity::kLeakyReLU:
      return std::sqrt(2.0 / (1.0 + negative_slope * negative_slope));
    case Nonlinearity::kSELU:
      return 0.75;
  }
  return 1.0;
}

// (fan_in, fan_out) of a weight of shape [out, in, k...].
inline std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor<float>& t) {
  FROST_CHECK(t.dim() >= 2, "init::calculate_fan_in_and_fan_out",
              "fan in and fan out need at least 2 dimensions, got shape ", shape_str(t.shape()));
  std::int64_t receptive = 1;
  for (std::int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

namespace detail {

// Writes draw() into every element of t, in row-major order, outside the graph.
template <class Draw>
inline Tensor<float> fill_with(Tensor<float> t, Draw&& draw) {
  NoGradGuard no_grad;
  FROST_CHECK(t.defined(), "init", "undefined tensor");
  Tensor<float> dense = t.is_contiguous() ? t : Tensor<float>::empty(t.shape());
  float* p = dense.data();
  for (std::int64_t i = 0; i < dense.numel(); ++i) p[i] = static_cast<float>(draw());
  if (dense.data() != t.data()) t.copy_(dense);
  return t;
}

inline double kaiming_std(const Tensor<float>& t, double a, FanMode mode, Nonlinearity nonlinearity,
                          const char* op) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  const std::int64_t fan = mode == FanMode::kFanIn ? fan_in : fan_out;
  FROST_CHECK(fan > 0, op, "zero fan for a tensor of shape ", shape_str(t.shape()));
  return calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
}

}  // namespace detail

inline Tensor<float> uniform_(Tensor<float> t, double low = 0.0, double high = 1.0,
                              Generator& gen = default_generator()) {
  FROST_CHECK(low <= high, "init::uniform_", "low ", low, " above high ", high);
  return detail::fill_with(t, [&] { return low + (high - low) * gen.uniform_double(); });
}

inline Tensor<float> normal_(Tensor<float> t, double mean = 0.0, double std = 1.0,
                             Generator& gen = default_generator()) {
  FROST_CHECK(std >= 0, "init::normal_", "negative standard deviation ", std);
  return detail::fill_with(t, [&] { return mean + std * gen.normal(); });
}

inline Tensor<float> constant_(Tensor<float> t, float value) {
  return detail::fill_with(t, [value] { return value; });
}
inline Tensor<float> zeros_(Tensor<float> t) {
  return constant_(t, 0.0f);
}
inline Tensor<float> ones_(Tensor<float> t) {
  return constant_(t, 1.0f);
}

// He et al. 2015. `a` is the negative slope used by kLeakyReLU.
inline Tensor<float> kaiming_normal_(Tensor<float> t, double a = 0.0,
                                     FanMode mode = FanMode::kFanIn,
                                     Nonlinearity nonlinearity = Nonlinearity::kLeakyReLU,
                                     Generator& gen = default_generator()) {
  return normal_(t, 0.0, detail::kaiming_std(t, a, mode, nonlinearity, "init::kaiming_normal_"),
                 gen);
}

inline Tensor<float> kaiming_uniform_(Tensor<float> t, double a = 0.0,
                                      FanMode mode = FanMode::kFanIn,
                                      Nonlinearity nonlinearity = Nonlinearity::kLeakyReLU,
                                      Generator& gen = default_generator()) {
  const double bound =
      std::sqrt(3.0) * detail::kaiming_std(t, a, mode, nonlinearity, "init::kaiming_uniform_");
  return uniform_(t, -bound, bound, gen);
}

// Glorot & Bengio 2010.
inline Tensor<float> xavier_normal_(Tensor<float> t, double gain = 1.0,
                                    Generator& gen = default_generator()) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  FROST_CHECK(fan_in + fan_out > 0, "init::xavier_normal_", "zero fan for shape ",
              shape_str(t.shape()));
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), gen);
}

inline Tensor<float> xavier_uniform_(Tensor<float> t, double gain = 1.0,
                                     Generator& gen = default_generator()) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  FROST_CHECK(fan_in + fan_out > 0, "init::xavier_uniform_", "zero fan for shape ",
              shape_str(t.shape()));
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return uniform_(t, -bound, bound, gen);
}

// The default of PyTorch's Conv and Linear layers: kaiming_uniform_(w, a = sqrt(5)), which is
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same bound.
inline void default_layer_init_(Tensor<float> weight, Tensor<float> bias,
                                Generator& gen = default_generator()) {
  kaiming_uniform_(weight, std::sqrt(5.0), FanMode::kFanIn, Nonlinearity::kLeakyReLU, gen);
  if (bias.defined()) {
    const std::int64_t fan_in = calculate_fan_in_and_fan_out(weight).first;
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    uniform_(bias, -bound, bound, gen);
  }
}

}  // namespace frost::nn::init
