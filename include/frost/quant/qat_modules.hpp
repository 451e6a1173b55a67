#pragma once
// Quantization-aware versions of Conv2d, Linear and Conv2d + BatchNorm2d (PyTorch's
// torch.ao.nn.qat.Conv2d / Linear and torch.ao.nn.intrinsic.qat.ConvBn2d). Each fake-quantizes
// its weight with a child FakeQuantize "weight_fake_quant" before the float op. The bias stays
// float in training. In eval, once prepare() has told the layer its input's and output's fake
// quantizers, the layer computes exactly what its INT8 op will: integer accumulation, the int32
// bias, the INT8 requantization (quant/int8_simulation.hpp).
//
// They *share* the tensors of the float modules they replace: the QAT module registers the very
// Tensor handles of the float module's parameters and buffers, so an optimizer built on the
// float model goes on training them, and their values (and running statistics) carry over
// (StatAssist, DESIGN.md §4). They keep no pointer to the float modules (prepare makes the
// replaced module forward to its replacement; a pointer back would be a cycle).
//
// Names in state_dict() (PyTorch's):
//   QatConv2d    weight, bias, weight_fake_quant.*
//   QatLinear    weight, bias, weight_fake_quant.*
//   QatConvBn2d  weight, bias (the conv's, when it has one), bn.weight, bn.bias,
//                bn.running_mean, bn.running_var, bn.num_batches_tracked, weight_fake_quant.*
//
// QatConvBn2d simulates the folding of the batch norm into the conv that the INT8 model does
// (PyTorch's _forward_approximate), so training sees the quantization error of the folded
// weight:
//   s = gamma / sqrt(running_var + eps)               per output channel
//   y = conv2d(x, weight_fake_quant(weight * s)) / s   (+ conv bias)
//   y = batch_norm2d(y)   batch statistics in training (running statistics updated exactly as
//                         nn::BatchNorm2d's, num_batches_tracked included), running ones in eval
//                         or after freeze_bn_stats()
// In eval it computes conv2d(x, fq(w_fold)) + b_fold directly, with w_fold = w * s and
// b_fold = beta + (b - mean) * s (on the int32 grid): what the converter builds from
// folded_weight_and_bias().
// A channel with s == 0 (gamma == 0) scales its weight by 1 and divides by 1 instead of 0 (no
// 0 / 0): its batch-norm output is beta whatever its conv output, as the folded conv's (whose
// weight is 0), and in training gamma still gets its gradient (the normalised conv output; with
// the weight scaled by 0 that would be 0 too, and a zero-initialised gamma could never move).
// The weight fake quantizer then sees that channel's unscaled weight (a per-tensor range may
// widen); the folded weight of the channel is 0, which quantizes to 0 on any grid.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "frost/autograd/grad_mode.hpp"
#include "frost/core/tensor.hpp"
#include "frost/nn/batch_norm.hpp"
#include "frost/nn/conv.hpp"
#include "frost/nn/linear.hpp"
#include "frost/nn/module.hpp"
#include "frost/nn/size_str.hpp"
#include "frost/ops/batch_norm.hpp"
#include "frost/ops/conv.hpp"
#include "frost/ops/elementwise.hpp"
#include "frost/ops/linear.hpp"
#include "frost/quant/fake_quantize.hpp"
#include "frost/quant/int8_simulation.hpp"

namespace frost::quant {

namespace qat_detail {

// Registers a float module's tensor under `name`, keeping its requires_grad (a frozen weight
// stays frozen).
inline Tensor<float> share_parameter(nn::Module& m, const std::string& name,
                                     const Tensor<float>& t) {
  return m.register_parameter(name, t, t.requires_grad());
}

inline void check_weight_fake_quant(const std::shared_ptr<FakeQuantizeBase>& fq,
                                    const Tensor<float>& weight, const char* op) {
  FROST_CHECK(fq != nullptr, op, "weight_fake_quant is null");
  if (fq->per_channel()) {
    FROST_CHECK(fq->ch_axis() < weight.dim(), op,
                "per-channel weight fake quantization along axis ", fq->ch_axis(),
                " for a weight of shape ", shape_str(weight.shape()));
    fq->set_channels(weight.size(fq->ch_axis()));
  }
}

// Runs a fake quantizer on a weight.
inline Tensor<float> apply(FakeQuantizeBase& fq, const Tensor<float>& w) {
  return fq(w);
}

}  // namespace qat_detail

// s = gamma / sqrt(running_var + eps) (1 / sqrt(...) without gamma): the per-channel factor of
// batch-norm folding. Differentiable in gamma; the running variance is a buffer.
template <FloatElement T>
inline Tensor<T> bn_fold_scale(const Tensor<T>& bn_weight, const Tensor<T>& running_var,
                               double eps) {
  FROST_CHECK(running_var.defined() && running_var.dim() == 1, "bn_fold_scale",
              "running_var must be a 1-D tensor");
  const Tensor<T> rv = running_var.detach().contiguous();
  for (std::int64_t c = 0; c < rv.numel(); ++c)
    FROST_CHECK(rv.data()[c] + static_cast<T>(eps) > T(0), "bn_fold_scale", "running_var[", c,
                "] + eps = ", rv.data()[c] + static_cast<T>(eps), " must be > 0");
  const Tensor<T> running_std = sqrt(add(rv, static_cast<T>(eps)));
  return bn_weight.defined() ? div(bn_weight, running_std) : rdiv(running_std, T(1));
}

// s, or 1 where s == 0 (adding a constant: s itself, bit for bit, elsewhere): what the weight
// is scaled by before its fake quantization and the conv output divided by after it.
template <FloatElement T>
inline Tensor<T> nonzero_fold_scale(const Tensor<T>& s) {
  Tensor<T> zero_channels = Tensor<T>::zeros({s.numel()});
  const Tensor<T> sc = s.detach().contiguous();
  for (std::int64_t c = 0; c < s.numel(); ++c)
    if (sc.data()[c] == T(0)) zero_channels.data()[c] = T(1);
  return add(s, zero_channels);
}

// The QatConvBn2d arithmetic on plain tensors (see the header comment), for float (the module)
// and double (gradchecks). `weight_transform` maps the scaled weight to what the conv uses
// (the weight fake quantizer; the identity in a gradcheck). With batch_stats the batch norm
// normalises with the batch statistics and updates running_mean / running_var in place with
// `momentum`; without, it uses them.
template <FloatElement T, class WeightTransform>
inline Tensor<T> conv_bn2d_approximate(const Tensor<T>& x, const Tensor<T>& weight,
                                       const Tensor<T>& bias, const Tensor<T>& bn_weight,
                                       const Tensor<T>& bn_bias, const Tensor<T>& running_mean,
                                       const Tensor<T>& running_var, const nn::Conv2dOptions& conv,
                                       bool batch_stats, double momentum, double eps,
                                       WeightTransform&& weight_transform) {
  constexpr const char* kOp = "conv_bn2d_approximate";
  FROST_CHECK(weight.defined() && weight.dim() == 4, kOp,
              "expected weight [out_channels, in_channels / groups, kH, kW], got shape ",
              shape_str(weight.defined() ? weight.shape() : Shape{}));
  const std::int64_t out = weight.size(0);
  FROST_CHECK(running_mean.defined() && running_var.defined() &&
                  running_mean.shape() == Shape{out} && running_var.shape() == Shape{out},
              kOp, "running_mean and running_var must be [", out, "] for weight shape ",
              shape_str(weight.shape()));
  FROST_CHECK(!bn_weight.defined() || bn_weight.shape() == Shape{out}, kOp, "bn weight shape ",
              shape_str(bn_weight.shape()), " does not match ", out, " output channels");
  const Tensor<T> s_used = nonzero_fold_scale(bn_fold_scale(bn_weight, running_var, eps));
  const Tensor<T> w_scaled = weight_transform(mul(weight, s_used.reshape({out, 1, 1, 1})));
  Tensor<T> y =
      conv2d(x, w_scaled, Tensor<T>(), conv.stride, conv.padding, conv.dilation, conv.groups);
  y = div(y, s_used.reshape({1, out, 1, 1}));
  if (bias.defined()) y = add(y, bias.reshape({1, out, 1, 1}));
  return batch_norm2d(y, bn_weight, bn_bias, running_mean, running_var, batch_stats, momentum, eps);
}

namespace qat_detail {
// The layer's convolution on integer codes (float or double), for the exact INT8 eval path.
inline auto conv_of_codes(const nn::Conv2dOptions& o) {
  return [o]<class T>(const Tensor<T>& xc, const Tensor<T>& wc) {
    return conv2d(xc, wc, Tensor<T>(), o.stride, o.padding, o.dilation, o.groups);
  };
}
}  // namespace qat_detail

// ---- QatConv2d ------------------------------------------------------------------------------

class QatConv2d : public nn::Module, public Int8Simulation {
 public:
  QatConv2d(const std::shared_ptr<nn::Conv2d>& conv,
            std::shared_ptr<FakeQuantizeBase> weight_fake_quant)
      : nn::Module("QatConv2d"), weight_fake_quant_(std::move(weight_fake_quant)) {
    FROST_CHECK(conv != nullptr, "QatConv2d", "conv is null");
    in_channels_ = conv->in_channels();
    out_channels_ = conv->out_channels();
    kernel_size_ = conv->kernel_size();
    options_ = conv->options();
    weight_ = qat_detail::share_parameter(*this, "weight", conv->weight());
    if (conv->bias().defined()) bias_ = qat_detail::share_parameter(*this, "bias", conv->bias());
    options_.bias = bias_.defined();
    qat_detail::check_weight_fake_quant(weight_fake_quant_, weight_, "QatConv2d");
    register_module("weight_fake_quant", weight_fake_quant_);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    FROST_CHECK(x.dim() == 4 && x.size(1) == in_channels_, repr().c_str(), "expected input [N, ",
                in_channels_, ", H, W], got ", shape_str(x.shape()));
    const Tensor<float> w = qat_detail::apply(*weight_fake_quant_, weight_);
    if (exact_path_applies(is_training(), x, weight_, *weight_fake_quant_))
      return exact_int8_forward(x, w, bias_, weight_fake_quant_->qparams(),
                                qat_detail::conv_of_codes(options_));
    return conv2d(x, w, simulated_bias(bias_, is_training(), *weight_fake_quant_), options_.stride,
                  options_.padding, options_.dilation, options_.groups);
  }

  std::string extra_repr() const override {
    std::string s = std::to_string(in_channels_) + ", " + std::to_string(out_channels_) +
                    ", kernel_size=" + nn::size_str(kernel_size_) +
                    ", stride=" + nn::size_str(options_.stride);
    if (options_.padding != Size2d(0)) s += ", padding=" + nn::size_str(options_.padding);
    if (options_.dilation != Size2d(1)) s += ", dilation=" + nn::size_str(options_.dilation);
    if (options_.groups != 1) s += ", groups=" + std::to_string(options_.groups);
    if (!bias_.defined()) s += ", bias=false";
    return s;
  }

  const Tensor<float>& weight() const { return weight_; }
  const Tensor<float>& bias() const { return bias_; }
  const std::shared_ptr<FakeQuantizeBase>& weight_fake_quant() const { return weight_fake_quant_; }
  // stride, padding, dilation, groups; bias = whether there is one.
  const nn::Conv2dOptions& options() const { return options_; }
  std::int64_t in_channels() const { return in_channels_; }
  std::int64_t out_channels() const { return out_channels_; }
  Size2d kernel_size() const { return kernel_size_; }

 private:
  std::shared_ptr<FakeQuantizeBase> weight_fake_quant_;
  std::int64_t in_channels_ = 0, out_channels_ = 0;
  Size2d kernel_size_;
  nn::Conv2dOptions options_;
  Tensor<float> weight_, bias_;
};

// ---- QatLinear ------------------------------------------------------------------------------

class QatLinear : public nn::Module, public Int8Simulation {
 public:
  QatLinear(const std::shared_ptr<nn::Linear>& linear,
            std::shared_ptr<FakeQuantizeBase> weight_fake_quant)
      : nn::Module("QatLinear"), weight_fake_quant_(std::move(weight_fake_quant)) {
    FROST_CHECK(linear != nullptr, "QatLinear", "linear is null");
    in_features_ = linear->in_features();
    out_features_ = linear->out_features();
    weight_ = qat_detail::share_parameter(*this, "weight", linear->weight());
    if (linear->bias().defined())
      bias_ = qat_detail::share_parameter(*this, "bias", linear->bias());
    qat_detail::check_weight_fake_quant(weight_fake_quant_, weight_, "QatLinear");
    register_module("weight_fake_quant", weight_fake_quant_);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    FROST_CHECK(x.dim() >= 1 && x.shape().back() == in_features_, repr().c_str(),
                "expected input [..., ", in_features_, "], got ", shape_str(x.shape()));
    const Tensor<float> w = qat_detail::apply(*weight_fake_quant_, weight_);
    if (exact_path_applies(is_training(), x, weight_, *weight_fake_quant_))
      return exact_int8_forward(
          x, w, bias_, weight_fake_quant_->qparams(),
          []<class T>(const Tensor<T>& xc, const Tensor<T>& wc) { return linear(xc, wc); });
    return linear(x, w, simulated_bias(bias_, is_training(), *weight_fake_quant_));
  }

  std::string extra_repr() const override {
    return "in_features=" + std::to_string(in_features_) +
           ", out_features=" + std::to_string(out_features_) +
           ", bias=" + (bias_.defined() ? "true" : "false");
  }

  const Tensor<float>& weight() const { return weight_; }
  const Tensor<float>& bias() const { return bias_; }
  const std::shared_ptr<FakeQuantizeBase>& weight_fake_quant() const { return weight_fake_quant_; }
  std::int64_t in_features() const { return in_features_; }
  std::int64_t out_features() const { return out_features_; }

 private:
  std::shared_ptr<FakeQuantizeBase> weight_fake_quant_;
  std::int64_t in_features_ = 0, out_features_ = 0;
  Tensor<float> weight_, bias_;
};

// ---- QatConvBn2d ----------------------------------------------------------------------------

// The batch norm's tensors inside a QatConvBn2d (child "bn"), so that they keep PyTorch's
// names. Not a layer: QatConvBn2d computes with them.
class FoldedBatchNorm2d : public nn::Module {
 public:
  explicit FoldedBatchNorm2d(const nn::BatchNorm2d& bn)
      : nn::Module("FoldedBatchNorm2d"), num_features_(bn.num_features()), options_(bn.options()) {
    if (bn.weight().defined()) qat_detail::share_parameter(*this, "weight", bn.weight());
    if (bn.bias().defined()) qat_detail::share_parameter(*this, "bias", bn.bias());
    register_buffer("running_mean", bn.running_mean());
    register_buffer("running_var", bn.running_var());
    register_buffer("num_batches_tracked", bn.num_batches_tracked());
  }
  std::string extra_repr() const override {
    return std::to_string(num_features_) + ", eps=" + std::to_string(options_.eps) +
           ", momentum=" + (options_.momentum ? std::to_string(*options_.momentum) : "None");
  }

 private:
  std::int64_t num_features_;
  nn::BatchNorm2dOptions options_;
};

class QatConvBn2d : public nn::Module, public Int8Simulation {
 public:
  QatConvBn2d(const std::shared_ptr<nn::Conv2d>& conv, const std::shared_ptr<nn::BatchNorm2d>& bn,
              std::shared_ptr<FakeQuantizeBase> weight_fake_quant)
      : nn::Module("QatConvBn2d"), weight_fake_quant_(std::move(weight_fake_quant)) {
    FROST_CHECK(conv != nullptr && bn != nullptr, "QatConvBn2d", "conv or bn is null");
    FROST_CHECK(bn->num_features() == conv->out_channels(), "QatConvBn2d", conv->repr(), " has ",
                conv->out_channels(), " output channels but ", bn->repr(), " normalises ",
                bn->num_features());
    FROST_CHECK(bn->options().track_running_stats, "QatConvBn2d", bn->repr(),
                " keeps no running statistics, which batch-norm folding needs");
    in_channels_ = conv->in_channels();
    out_channels_ = conv->out_channels();
    kernel_size_ = conv->kernel_size();
    options_ = conv->options();
    bn_options_ = bn->options();
    weight_ = qat_detail::share_parameter(*this, "weight", conv->weight());
    if (conv->bias().defined()) bias_ = qat_detail::share_parameter(*this, "bias", conv->bias());
    options_.bias = bias_.defined();
    bn_weight_ = bn->weight();
    bn_bias_ = bn->bias();
    running_mean_ = bn->running_mean();
    running_var_ = bn->running_var();
    num_batches_tracked_ = bn->num_batches_tracked();
    register_module("bn", std::make_shared<FoldedBatchNorm2d>(*bn));
    qat_detail::check_weight_fake_quant(weight_fake_quant_, weight_, "QatConvBn2d");
    register_module("weight_fake_quant", weight_fake_quant_);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    FROST_CHECK(x.dim() == 4 && x.size(1) == in_channels_, repr().c_str(), "expected input [N, ",
                in_channels_, ", H, W], got ", shape_str(x.shape()));
    if (!is_training()) return folded_forward(x);
    const bool batch_stats = !freeze_bn_;
    double momentum = bn_options_.momentum.value_or(0.0);
    if (batch_stats) {
      // As nn::BatchNorm2d: count the batch, and without a momentum average cumulatively.
      num_batches_tracked_.data()[0] += 1.0f;
      if (!bn_options_.momentum) momentum = 1.0 / num_batches_tracked_.data()[0];
    }
    return conv_bn2d_approximate(
        x, weight_, bias_, bn_weight_, bn_bias_, running_mean_, running_var_, options_, batch_stats,
        momentum, bn_options_.eps,
        [this](const Tensor<float>& w) { return qat_detail::apply(*weight_fake_quant_, w); });
  }

  // Training with the running statistics (and no more updates of them), as PyTorch's
  // freeze_bn_stats; false returns to batch statistics.
  void freeze_bn_stats(bool on = true) { freeze_bn_ = on; }
  bool bn_stats_frozen() const { return freeze_bn_; }

  // The float weight [O, I / groups, kh, kw] and bias [O] of the conv with the batch norm
  // folded in, from the running statistics: w * s and beta + (b - mean) * s. The weight is
  // computed as forward() scales it (bit for bit, except the s == 0 channels, 0 here), so
  // fake-quantizing it with weight_fake_quant()->qparams() gives the eval conv's weight.
  std::pair<Tensor<float>, Tensor<float>> folded_weight_and_bias() const {
    const NoGradGuard no_grad;
    const Tensor<float> s = bn_fold_scale(bn_weight_, running_var_, bn_options_.eps);
    const Tensor<float> w = mul(weight_, s.reshape({out_channels_, 1, 1, 1}));
    return {w.detach().contiguous(), folded_bias(s).detach().contiguous()};
  }

  std::string extra_repr() const override {
    std::string s = std::to_string(in_channels_) + ", " + std::to_string(out_channels_) +
                    ", kernel_size=" + nn::size_str(kernel_size_) +
                    ", stride=" + nn::size_str(options_.stride);
    if (options_.padding != Size2d(0)) s += ", padding=" + nn::size_str(options_.padding);
    if (options_.dilation != Size2d(1)) s += ", dilation=" + nn::size_str(options_.dilation);
    if (options_.groups != 1) s += ", groups=" + std::to_string(options_.groups);
    if (!bias_.defined()) s += ", bias=false";
    return s + (freeze_bn_ ? ", bn_frozen" : "");
  }

 private:
  // Eval: the folded conv itself, conv2d(x, fq(w * s), b_fold) with the weight zero in the
  // s == 0 channels, as the INT8 model computes it (no division by s and no batch norm after
  // it, each a float rounding the INT8 model does not have), the bias on the int32 grid.
  // beta + (b - mean) * s, differentiable in beta, b and s.
  Tensor<float> folded_bias(const Tensor<float>& s) const {
    const Tensor<float> b0 = bias_.defined() ? bias_ : Tensor<float>::zeros({out_channels_});
    Tensor<float> b = mul(sub(b0, running_mean_), s);
    return bn_bias_.defined() ? add(b, bn_bias_) : b;
  }

  Tensor<float> folded_forward(const Tensor<float>& x) {
    const Tensor<float> s = bn_fold_scale(bn_weight_, running_var_, bn_options_.eps);
    const Tensor<float> s_used = nonzero_fold_scale(s);
    Tensor<float> keep = Tensor<float>::ones({out_channels_});
    {
      const Tensor<float> sc = s.detach().contiguous();
      for (std::int64_t c = 0; c < out_channels_; ++c)
        if (sc.data()[c] == 0.0f) keep.data()[c] = 0.0f;
    }
    const Tensor<float> w =
        mul(qat_detail::apply(*weight_fake_quant_,
                              mul(weight_, s_used.reshape({out_channels_, 1, 1, 1}))),
            keep.reshape({out_channels_, 1, 1, 1}));
    if (exact_path_applies(false, x, weight_, *weight_fake_quant_))
      return exact_int8_forward(x, w, folded_bias(s), weight_fake_quant_->qparams(),
                                qat_detail::conv_of_codes(options_));
    return conv2d(x, w, simulated_bias(folded_bias(s), false, *weight_fake_quant_), options_.stride,
                  options_.padding, options_.dilation, options_.groups);
  }

 public:
  const Tensor<float>& weight() const { return weight_; }
  const Tensor<float>& bias() const { return bias_; }  // the conv's (undefined without one)
  const Tensor<float>& bn_weight() const { return bn_weight_; }
  const Tensor<float>& bn_bias() const { return bn_bias_; }
  const Tensor<float>& running_mean() const { return running_mean_; }
  const Tensor<float>& running_var() const { return running_var_; }
  const Tensor<float>& num_batches_tracked() const { return num_batches_tracked_; }
  const std::shared_ptr<FakeQuantizeBase>& weight_fake_quant() const { return weight_fake_quant_; }
  // stride, padding, dilation, groups; bias = whether the conv has one.
  const nn::Conv2dOptions& options() const { return options_; }
  const nn::BatchNorm2dOptions& bn_options() const { return bn_options_; }
  std::int64_t in_channels() const { return in_channels_; }
  std::int64_t out_channels() const { return out_channels_; }
  Size2d kernel_size() const { return kernel_size_; }

 private:
  std::shared_ptr<FakeQuantizeBase> weight_fake_quant_;
  std::int64_t in_channels_ = 0, out_channels_ = 0;
  Size2d kernel_size_;
  nn::Conv2dOptions options_;
  nn::BatchNorm2dOptions bn_options_;
  bool freeze_bn_ = false;
  Tensor<float> weight_, bias_, bn_weight_, bn_bias_, running_mean_, running_var_,
      num_batches_tracked_;
};

}  // namespace frost::quant
