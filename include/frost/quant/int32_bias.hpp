#pragma once
// The int32 bias of an INT8 conv or linear layer, and its simulation in the fake-quantized model.
//
// The INT8 model adds the bias to the int32 accumulator in units of s_in * s_w[c] (the input's
// scale times the channel's weight scale), so it adds round(b / (s_in * s_w)) * s_in * s_w, not
// b. Left in float, the fake-quantized model differs from the INT8 one by up to half of that
// unit before requantization, which flips the rounding of about one output in a thousand per
// layer; along a network these flips feed the next layers and add up. So in eval the QAT layers
// snap their bias to the same grid (one rule, int32_bias_code, used here and by convert), and
// the fake-quantized model computes what the INT8 one does. Training keeps the float bias, as
// PyTorch does: the rounding is far below that of the activations and would only slow the
// bias's gradient.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "frost/autograd/function.hpp"
#include "frost/core/tensor.hpp"
#include "frost/kernels/dwconv/packing.hpp"
#include "frost/quant/fake_quantize.hpp"
#include "frost/quant/qparams.hpp"

namespace frost::quant {

// Bias codes are kept to +-2^29, half the depthwise kernel's limit on a bias folded with the
// zero-point correction, so every kernel takes them. A bias that far out (2^29 units) is
// already far beyond any u8 output range.
inline constexpr double kMaxBiasCode = static_cast<double>(kernels::kMaxDwconvFoldedBias) / 2;

// round(bias / (input_scale * weight_scale)), clamped to +-kMaxBiasCode; 0 for a non-finite one.
inline std::int32_t int32_bias_code(float bias, float input_scale, float weight_scale) {
  const double unit = static_cast<double>(input_scale) * static_cast<double>(weight_scale);
  const double q = std::nearbyint(static_cast<double>(bias) / unit);
  return static_cast<std::int32_t>(std::isfinite(q) ? std::clamp(q, -kMaxBiasCode, kMaxBiasCode)
                                                    : 0.0);
}

// `bias` [C] on the INT8 model's grid: code * s_in * s_w[c] with the weight parameters `w` (per
// tensor or per output channel). The gradient passes straight through to `bias`.
inline Tensor<float> int32_grid_bias(const Tensor<float>& bias, float input_scale,
                                     const QParams& w) {
  const std::int64_t channels = bias.numel();
  FROST_CHECK(!w.per_channel() || static_cast<std::int64_t>(w.channels()) == channels,
              "int32_grid_bias", "weight parameters have ", w.channels(),
              " channels for a bias of ", channels);
  Tensor<float> snapped = Tensor<float>::zeros({channels});
  {
    const Tensor<float> b = bias.detach().contiguous();
    for (std::int64_t c = 0; c < channels; ++c) {
      const float ws = w.scale[w.per_channel() ? static_cast<std::size_t>(c) : 0];
      const double code = int32_bias_code(b.data()[c], input_scale, ws);
      snapped.data()[c] =
          static_cast<float>(code * static_cast<double>(input_scale) * static_cast<double>(ws));
    }
  }
  // Straight through: the value is the snapped bias, the gradient that of the float one.
  return autograd::make_function("int32_grid_bias", snapped, {bias}, [](const Tensor<float>& g) {
    return std::vector<Tensor<float>>{g};
  });
}

}  // namespace frost::quant
