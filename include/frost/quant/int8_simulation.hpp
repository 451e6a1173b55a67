#pragma once
// A QAT conv or linear layer that, in eval, computes exactly what the INT8 model will.
//
// A fake-quantized layer and its INT8 twin see the same codes but do different arithmetic: the
// float model accumulates fq(x) * fq(w) in float (about 24 bits) and rounds y / s_out, the INT8
// one accumulates q_x * q_w exactly in int32 and requantizes float(acc) * (s_in * s_w / s_out)
// (kernels/requantize.hpp). Near a rounding tie the two pick different codes, a few outputs in a
// million per layer; along a deep network each such flip feeds the next layers, and FrostNet's
// 70 layers end up with several percent of their logits one step apart. So in eval, once
// prepare() has told the layer which fake quantizers hold its input's and its output's
// parameters, the layer recovers the integer codes, accumulates them exactly (in float where no
// partial sum can reach 2^24, in double otherwise), adds the int32 bias code and applies
// the INT8 model's requantization, operation for operation. Its output is then on the output
// quantizer's grid, which that quantizer passes unchanged, and the fake-quantized model's
// numbers are the deployed model's numbers.
//
// Training, calibration (an observer still on), a layer whose gradient is needed, and layers
// prepare() could not place keep the float path, with the bias on the int32 grid in eval
// (quant/int32_bias.hpp): the rounding of the accumulation is far below that of the
// activations, and the float path is what gradients flow through.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "frost/autograd/grad_mode.hpp"
#include "frost/core/parallel.hpp"
#include "frost/core/tensor.hpp"
#include "frost/kernels/requantize.hpp"
#include "frost/quant/fake_quantize.hpp"
#include "frost/quant/int32_bias.hpp"
#include "frost/quant/qparams.hpp"

namespace frost::quant {

class Int8Simulation {
 public:
  virtual ~Int8Simulation() = default;

  // The fake quantizer whose parameters the layer's input carries (s_in).
  void set_input_fake_quant(std::shared_ptr<const FakeQuantizeBase> fq) {
    input_fake_quant_ = std::move(fq);
  }
  const std::shared_ptr<const FakeQuantizeBase>& input_fake_quant() const {
    return input_fake_quant_;
  }
  // The fake quantizer whose parameters the INT8 op's output takes (the layer's own, or that of
  // the ReLU / ReLU6 fused after it).
  void set_output_fake_quant(std::shared_ptr<const FakeQuantizeBase> fq) {
    output_fake_quant_ = std::move(fq);
  }
  const std::shared_ptr<const FakeQuantizeBase>& output_fake_quant() const {
    return output_fake_quant_;
  }

 protected:
  // The bias this layer adds on the float path: on the grid in eval, when the input and the
  // weight are fake-quantized (the INT8 model's case); `bias` otherwise.
  Tensor<float> simulated_bias(const Tensor<float>& bias, bool training,
                               const FakeQuantizeBase& weight_fake_quant) const {
    if (training || !bias.defined() || !input_fake_quant_ ||
        !input_fake_quant_->fake_quant_enabled() || !weight_fake_quant.fake_quant_enabled())
      return bias;
    const QParams in = input_fake_quant_->qparams();
    if (in.per_channel()) return bias;
    return int32_grid_bias(bias, in.scale[0], weight_fake_quant.qparams());
  }

  // Whether this call can take the exact path: eval, no gradient wanted, every fake quantizer
  // around the layer on, the output's observer off (its parameters are final), per-tensor
  // activations.
  bool exact_path_applies(bool training, const Tensor<float>& x, const Tensor<float>& weight,
                          const FakeQuantizeBase& weight_fake_quant) const {
    if (training || !input_fake_quant_ || !output_fake_quant_) return false;
    if (is_grad_enabled() && (x.requires_grad() || weight.requires_grad())) return false;
    if (!input_fake_quant_->fake_quant_enabled() || !weight_fake_quant.fake_quant_enabled() ||
        !output_fake_quant_->fake_quant_enabled() || output_fake_quant_->observer_enabled() ||
        !input_fake_quant_->has_qparams() || !output_fake_quant_->has_qparams())
      return false;
    return !input_fake_quant_->qparams().per_channel() &&
           !output_fake_quant_->qparams().per_channel();
  }

  // The INT8 op's output, dequantized: `x` the (fake-quantized) input, `w` the fake-quantized
  // weight [O, ...] with parameters `wq`, `bias` the float bias [O] or undefined, and
  // `accumulate(x_codes, w_codes)` the layer's op (conv2d or linear, no bias) on Tensor<float>
  // or Tensor<double> codes.
  //
  // The codes are integers, so float accumulation is exact while every partial sum stays below
  // 2^24: when max |x code| * sum |w codes| of the largest channel is below that (most layers:
  // 255 * 127 * 500 is), the float op computes the exact accumulator at float speed; otherwise
  // the op runs in double. The bias code is added to the exact accumulator afterwards, in
  // double, before the one float conversion the INT8 kernel does.
  template <class Accumulate>
  Tensor<float> exact_int8_forward(const Tensor<float>& x, const Tensor<float>& w,
                                   const Tensor<float>& bias, const QParams& wq,
                                   Accumulate&& accumulate) const {
    const NoGradGuard no_grad;
    const QParams in = input_fake_quant_->qparams();
    const QParams out = output_fake_quant_->qparams();
    const float s_in = in.scale[0], s_out = out.scale[0];
    const std::int32_t z_out = out.zero_point[0];
    const std::int64_t channels = w.size(0);
    const auto weight_scale = [&](std::int64_t c) {
      return wq.scale[wq.per_channel() ? static_cast<std::size_t>(c) : 0];
    };

    // Codes relative to the zero points: x = s_in * (q - z_in) on the input's grid, and the
    // weight w = s_w * q (symmetric).
    const Tensor<float> xs = x.detach().contiguous();
    Tensor<float> xc = Tensor<float>::empty(x.shape());
    float max_x = 0;
    {
      const float* src = xs.data();
      float* dst = xc.data();
      for (std::int64_t i = 0; i < xs.numel(); ++i) {
        dst[i] = std::nearbyint(src[i] / s_in);
        max_x = std::max(max_x, std::abs(dst[i]));
      }
    }
    const Tensor<float> ws = w.detach().contiguous();
    Tensor<float> wc = Tensor<float>::empty(w.shape());
    const std::int64_t per_channel = channels > 0 ? ws.numel() / channels : 0;
    double max_w_sum = 0;
    for (std::int64_t c = 0; c < channels; ++c) {
      const float sw = weight_scale(c);
      double sum = 0;
      for (std::int64_t k = 0; k < per_channel; ++k) {
        const std::int64_t i = c * per_channel + k;
        wc.data()[i] = std::nearbyint(ws.data()[i] / sw);
        sum += std::abs(wc.data()[i]);
      }
      max_w_sum = std::max(max_w_sum, sum);
    }
    std::vector<double> bias_codes(static_cast<std::size_t>(channels), 0.0);
    if (bias.defined()) {
      const Tensor<float> b = bias.detach().contiguous();
      for (std::int64_t c = 0; c < channels; ++c)
        bias_codes[static_cast<std::size_t>(c)] =
            int32_bias_code(b.data()[c], s_in, weight_scale(c));
    }
    std::vector<float> rq(static_cast<std::size_t>(channels));
    for (std::int64_t c = 0; c < channels; ++c)
      rq[static_cast<std::size_t>(c)] = kernels::requantization_scale(s_in, weight_scale(c), s_out);

    // The INT8 model's requantization (kernels/requantize.hpp), then back to float.
    const auto requantize = [&](const auto& acc_tensor) {
      const auto acc = acc_tensor.contiguous();
      Tensor<float> y = Tensor<float>::empty(acc.shape());
      const std::int64_t inner = acc.dim() > 2 ? acc.numel() / (acc.size(0) * acc.size(1)) : 1;
      const std::int64_t planes = inner > 0 ? acc.numel() / inner : 0;
      const auto lo = static_cast<float>(out.range.qmin - z_out);
      const auto hi = static_cast<float>(out.range.qmax - z_out);
      parallel_for(0, planes, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(inner, 1)),
                   [&](std::int64_t p0, std::int64_t p1) {
                     for (std::int64_t p = p0; p < p1; ++p) {
                       const auto c = static_cast<std::size_t>(p % channels);
                       const auto* a = acc.data() + p * inner;
                       float* o = y.data() + p * inner;
                       for (std::int64_t i = 0; i < inner; ++i) {
                         const double total = static_cast<double>(a[i]) + bias_codes[c];
                         float v = static_cast<float>(total) * rq[c];
                         v = std::min(std::max(v, lo), hi);
                         o[i] = std::nearbyint(v) * s_out;
                       }
                     }
                   });
      return y;
    };
    constexpr double kExactInFloat = 16777216.0;  // 2^24
    if (static_cast<double>(max_x) * max_w_sum < kExactInFloat)
      return requantize(accumulate(xc, wc));
    return requantize(accumulate(xc.template cast<double>(), wc.template cast<double>()));
  }

 private:
  std::shared_ptr<const FakeQuantizeBase> input_fake_quant_, output_fake_quant_;
};

}  // namespace frost::quant
