#pragma once
// nn::Conv2d: 2-D convolution over NCHW input with stride, padding, dilation and groups
// (groups == in_channels is a depthwise convolution). weight [out, in / groups, kh, kw], bias
// [out]. Initialised like PyTorch's: kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)) for weight and bias.
//
//   nn::Conv2d conv(32, 64, 3, {.stride = 2, .padding = 1, .bias = false});

#include <cstdint>
#include <string>

#include "frost/nn/init.hpp"
#include "frost/nn/module.hpp"
#include "frost/nn/size_str.hpp"
#include "frost/ops/conv.hpp"

namespace frost::nn {

struct Conv2dOptions {
  Size2d stride = 1;
  Size2d padding = 0;
  Size2d dilation = 1;
  std::int64_t groups = 1;
  bool bias = true;
};

class Conv2d : public Module {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2d kernel_size,
         Conv2dOptions options = {})
      : Module("Conv2d"),
        in_channels_(in_channels),
        out_channels_(out_channels),
        kernel_size_(kernel_size),
        options_(options) {
    const std::int64_t g = options.groups;
    FROST_CHECK(in_channels > 0 && out_channels > 0 && g > 0 && in_channels % g == 0 &&
                    out_channels % g == 0,
                "Conv2d", "in_channels ", in_channels, " and out_channels ", out_channels,
                " must be positive multiples of groups ", g);
    FROST_CHECK(kernel_size.height > 0 && kernel_size.width > 0 && options.stride.height > 0 &&
                    options.stride.width > 0 && options.dilation.height > 0 &&
                    options.dilation.width > 0 && options.padding.height >= 0 &&
                    options.padding.width >= 0,
                "Conv2d", "invalid geometry kernel_size=", size_str(kernel_size),
                " stride=", size_str(options.stride), " padding=", size_str(options.padding),
                " dilation=", size_str(options.dilation));
    weight_ =
        register_parameter("weight", Tensor<float>::empty({out_channels, in_channels / g,
                                                           kernel_size.height, kernel_size.width}));
    if (options.bias) bias_ = register_parameter("bias", Tensor<float>::empty({out_channels}));
    reset_parameters();
  }

  void reset_parameters(Generator& gen = default_generator()) {
    init::default_layer_init_(weight_, bias_, gen);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    FROST_CHECK(x.dim() == 4 && x.size(1) == in_channels_, repr().c_str(), "expected input [N, ",
                in_channels_, ", H, W], got ", shape_str(x.shape()), " (weight ",
                shape_str(weight_.shape()), ")");
    return conv2d(x, weight_, bias_, options_.stride, options_.padding, options_.dilation,
                  options_.groups);
  }

  std::string extra_repr() const override {
    std::string s = std::to_string(in_channels_) + ", " + std::to_string(out_channels_) +
                    ", kernel_size=" + size_str(kernel_size_) +
                    ", stride=" + size_str(options_.stride);
    if (options_.padding != Size2d(0)) s += ", padding=" + size_str(options_.padding);
    if (options_.dilation != Size2d(1)) s += ", dilation=" + size_str(options_.dilation);
    if (options_.groups != 1) s += ", groups=" + std::to_string(options_.groups);
    if (!bias_.defined()) s += ", bias=false";
    return s;
  }

  const Tensor<float>& weight() const { return weight_; }
  const Tensor<float>& bias() const { return bias_; }
  std::int64_t in_channels() const { return in_channels_; }
  std::int64_t out_channels() const { return out_channels_; }
  Size2d kernel_size() const { return kernel_size_; }
  const Conv2dOptions& options() const { return options_; }

 private:
  std::int64_t in_channels_, out_channels_;
  Size2d kernel_size_;
  Conv2dOptions options_;
  Tensor<float> weight_, bias_;
};

}  // namespace frost::nn
