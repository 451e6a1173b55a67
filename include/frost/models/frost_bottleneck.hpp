#pragma once
// The Frost bottleneck (FrostNet, Kim et al. 2020, "cascade pre-expansion"; DESIGN.md §6).
//
// An inverted residual whose expansion sees more than its input: a cheap 1x1 "squeeze" of the
// input to r_ch = make_divisible(C_in / r) channels is concatenated with the input, and the
// 1x1 expansion, the depthwise k x k and the 1x1 projection run on those n = r_ch + C_in
// channels:
//
//   squeeze  = ReLU(BN(conv1x1(x)))                  C_in -> r_ch
//   y        = cat([squeeze, x], channels)           n = r_ch + C_in
//   y        = ReLU(BN(conv1x1(y)))                  n -> n * e
//   y        = ReLU(BN(depthwise k x k, stride s))   n * e
//   y        = BN(conv1x1(y))                        n * e -> C_out (linear bottleneck)
//   y        = x + y                                 when s == 1 and C_in == C_out
//
// With e == 1 the block is depthwise + projection only; when C_in / r < 8 there is too little
// to squeeze and the block is a plain inverted residual (1x1 expansion C_in -> C_in * e,
// depthwise, projection). The concatenation and
// the residual add are written in forward() as plain tensor code: prepare_qat finds them in the
// trace and the INT8 engine runs them as quantized ops, nothing here is written for
// quantization. ReLU (not ReLU6 or hard-swish) everywhere: its INT8 form is a clamp that folds
// into the convolution's requantization.

#include <cstdint>
#include <memory>
#include <string>

#include "frost/core/tensor.hpp"
#include "frost/models/conv_bn_act.hpp"
#include "frost/models/make_divisible.hpp"
#include "frost/nn/module.hpp"
#include "frost/nn/sequential.hpp"
#include "frost/ops/shape_ops.hpp"

namespace frost::models {

// One row [k, c, e, r, s] of a FrostNet stage table: kernel, output channels (before the width
// multiplier), expansion, reduce factor, stride of the stage's first use.
struct FrostBlockConfig {
  std::int64_t kernel_size = 3;
  std::int64_t channels = 16;
  std::int64_t expansion = 1;
  std::int64_t reduce_factor = 1;
  std::int64_t stride = 1;

  friend bool operator==(const FrostBlockConfig&, const FrostBlockConfig&) = default;
};

class FrostBottleneck : public nn::Module {
 public:
  // `dilation` > 1 replaces a stride by dilation (FrostNet's `dilated` mode for stages 4-5).
  FrostBottleneck(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
                  std::int64_t stride, std::int64_t expansion, std::int64_t reduce_factor,
                  std::int64_t dilation = 1)
      : Module("FrostBottleneck"),
        in_channels_(in_channels),
        out_channels_(out_channels),
        kernel_size_(kernel_size),
        stride_(stride),
        expansion_(expansion),
        reduce_factor_(reduce_factor),
        dilation_(dilation) {
    FROST_CHECK(in_channels > 0 && out_channels > 0 && kernel_size > 0 && kernel_size % 2 == 1 &&
                    (stride == 1 || stride == 2) && expansion >= 1 && reduce_factor >= 1 &&
                    dilation >= 1,
                "FrostBottleneck", "invalid configuration in=", in_channels, " out=", out_channels,
                " k=", kernel_size, " s=", stride, " e=", expansion, " r=", reduce_factor,
                " dilation=", dilation,
                " (need positive channels, an odd kernel, stride 1 or 2, e >= 1, r >= 1)");
    cascade_ = expansion != 1 && in_channels / reduce_factor >= 8;
    std::int64_t n = in_channels;
    if (cascade_) {
      const std::int64_t reduced = make_divisible(static_cast<double>(in_channels / reduce_factor));
      squeeze_ = register_module("squeeze", conv_bn_act(in_channels, reduced, 1));
      n = reduced + in_channels;
    }
    const std::int64_t hidden = n * expansion;
    if (expansion != 1) expand_ = register_module("expand", conv_bn_act(n, hidden, 1));
    depthwise_ = register_module(
        "depthwise", conv_bn_act(hidden, hidden, kernel_size,
                                 {.stride = stride, .groups = hidden, .dilation = dilation}));
    project_ = register_module(
        "project", conv_bn_act(hidden, out_channels, 1, {.activation = Activation::kNone}));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    FROST_CHECK(x.dim() == 4 && x.size(1) == in_channels_, repr().c_str(), "expected input [N, ",
                in_channels_, ", H, W], got ", shape_str(x.shape()));
    Tensor<float> y = x;
    if (cascade_) y = frost::cat({(*squeeze_)(x), x}, 1);
    if (expand_) y = (*expand_)(y);
    y = (*project_)((*depthwise_)(y));
    if (has_residual()) y = x + y;
    return y;
  }

  bool cascade() const { return cascade_; }
  bool has_residual() const { return stride_ == 1 && in_channels_ == out_channels_; }
  std::int64_t in_channels() const { return in_channels_; }
  std::int64_t out_channels() const { return out_channels_; }

  std::string extra_repr() const override {
    return "in=" + std::to_string(in_channels_) + ", out=" + std::to_string(out_channels_) +
           ", k=" + std::to_string(kernel_size_) + ", s=" + std::to_string(stride_) +
           ", e=" + std::to_string(expansion_) + ", r=" + std::to_string(reduce_factor_) +
           (dilation_ > 1 ? ", dilation=" + std::to_string(dilation_) : std::string()) +
           (cascade_ ? "" : ", plain");
  }

 private:
  std::int64_t in_channels_, out_channels_, kernel_size_, stride_, expansion_, reduce_factor_,
      dilation_;
  bool cascade_ = false;
  std::shared_ptr<nn::Sequential> squeeze_, expand_, depthwise_, project_;
};

}  // namespace frost::models
