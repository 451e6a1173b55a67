#pragma once
// ResNet-18 and ResNet-50 (He et al. 2016) laid out as torchvision's (v1.5: the stride of a
// bottleneck is in its 3x3 conv): conv1, bn1, relu, maxpool, layer1 .. layer4 of BasicBlock /
// Bottleneck modules (conv1, bn1, conv2, bn2, [conv3, bn3], relu, downsample = [Conv 1x1, BN]),
// avgpool, fc. At 1000 classes ResNet-18 has 11689512 parameters and ResNet-50 25557032.
// Initialised as torchvision's: convolutions Kaiming normal (fan_out), BN 1 / 0, fc PyTorch's
// default.
//
//   auto net = frost::models::resnet18({.num_classes = 10});

#include <cstdint>
#include <memory>
#include <string>

#include "frost/core/rng.hpp"
#include "frost/models/init.hpp"
#include "frost/models/input_check.hpp"
#include "frost/nn/activation.hpp"
#include "frost/nn/batch_norm.hpp"
#include "frost/nn/conv.hpp"
#include "frost/nn/linear.hpp"
#include "frost/nn/module.hpp"
#include "frost/nn/pooling.hpp"
#include "frost/nn/sequential.hpp"
#include "frost/ops/elementwise.hpp"

namespace frost::models {

namespace detail {

inline std::shared_ptr<nn::Conv2d> resnet_conv(std::int64_t in, std::int64_t out, std::int64_t k,
                                               std::int64_t stride = 1) {
  return std::make_shared<nn::Conv2d>(
      in, out, k, nn::Conv2dOptions{.stride = stride, .padding = (k - 1) / 2, .bias = false});
}

// torchvision's downsample: Conv 1x1 (stride) + BN, children "0" and "1".
inline std::shared_ptr<nn::Sequential> resnet_downsample(std::int64_t in, std::int64_t out,
                                                         std::int64_t stride) {
  return std::make_shared<nn::Sequential>(resnet_conv(in, out, 1, stride),
                                          std::make_shared<nn::BatchNorm2d>(out));
}

}  // namespace detail

// Two 3x3 convolutions; relu(bn2(conv2(relu(bn1(conv1(x))))) + identity).
class BasicBlock : public nn::Module {
 public:
  static constexpr std::int64_t kExpansion = 1;

  BasicBlock(std::int64_t in_channels, std::int64_t planes, std::int64_t stride)
      : nn::Module("BasicBlock") {
    conv1_ = register_module("conv1", detail::resnet_conv(in_channels, planes, 3, stride));
    bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm2d>(planes));
    relu_ = register_module("relu", std::make_shared<nn::ReLU>());
    conv2_ = register_module("conv2", detail::resnet_conv(planes, planes, 3));
    bn2_ = register_module("bn2", std::make_shared<nn::BatchNorm2d>(planes));
    if (stride != 1 || in_channels != planes * kExpansion)
      downsample_ = register_module(
          "downsample", detail::resnet_downsample(in_channels, planes * kExpansion, stride));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    Tensor<float> out = (*relu_)((*bn1_)((*conv1_)(x)));
    out = (*bn2_)((*conv2_)(out));
    const Tensor<float> identity = downsample_ ? (*downsample_)(x) : x;
    return (*relu_)(out + identity);
  }

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::BatchNorm2d> bn1_, bn2_;
  std::shared_ptr<nn::ReLU> relu_;
  std::shared_ptr<nn::Sequential> downsample_;
};

// 1x1 reduce, 3x3 (stride), 1x1 expand to 4x planes.
class Bottleneck : public nn::Module {
 public:
  static constexpr std::int64_t kExpansion = 4;

  Bottleneck(std::int64_t in_channels, std::int64_t planes, std::int64_t stride)
      : nn::Module("Bottleneck") {
    const std::int64_t out = planes * kExpansion;
    conv1_ = register_module("conv1", detail::resnet_conv(in_channels, planes, 1));
    bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm2d>(planes));
    conv2_ = register_module("conv2", detail::resnet_conv(planes, planes, 3, stride));
    bn2_ = register_module("bn2", std::make_shared<nn::BatchNorm2d>(planes));
    conv3_ = register_module("conv3", detail::resnet_conv(planes, out, 1));
    bn3_ = register_module("bn3", std::make_shared<nn::BatchNorm2d>(out));
    relu_ = register_module("relu", std::make_shared<nn::ReLU>());
    if (stride != 1 || in_channels != out)
      downsample_ =
          register_module("downsample", detail::resnet_downsample(in_channels, out, stride));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    Tensor<float> out = (*relu_)((*bn1_)((*conv1_)(x)));
    out = (*relu_)((*bn2_)((*conv2_)(out)));
    out = (*bn3_)((*conv3_)(out));
    const Tensor<float> identity = downsample_ ? (*downsample_)(x) : x;
    return (*relu_)(out + identity);
  }

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_, conv3_;
  std::shared_ptr<nn::BatchNorm2d> bn1_, bn2_, bn3_;
  std::shared_ptr<nn::ReLU> relu_;
  std::shared_ptr<nn::Sequential> downsample_;
};

enum class ResNetDepth { k18, k50 };

struct ResNetOptions {
  ResNetDepth depth = ResNetDepth::k18;
  std::int64_t num_classes = 1000;
  std::int64_t in_channels = 3;
};

class ResNet : public nn::Module {
 public:
  explicit ResNet(const ResNetOptions& options = {}, Generator& gen = default_generator())
      : nn::Module("ResNet"), options_(options) {
    FROST_CHECK(options.num_classes > 0 && options.in_channels > 0, model_name().c_str(),
                "invalid options: num_classes ", options.num_classes, ", in_channels ",
                options.in_channels);
    conv1_ = register_module(
        "conv1",
        std::make_shared<nn::Conv2d>(options.in_channels, 64, 7,
                                     nn::Conv2dOptions{.stride = 2, .padding = 3, .bias = false}));
    bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm2d>(64));
    relu_ = register_module("relu", std::make_shared<nn::ReLU>());
    maxpool_ = register_module("maxpool", std::make_shared<nn::MaxPool2d>(
                                              3, nn::MaxPool2dOptions{.stride = 2, .padding = 1}));
    const bool bottleneck = options.depth == ResNetDepth::k50;
    const std::int64_t blocks[4] = {bottleneck ? 3 : 2, bottleneck ? 4 : 2, bottleneck ? 6 : 2,
                                    bottleneck ? 3 : 2};
    const std::int64_t expansion = bottleneck ? Bottleneck::kExpansion : BasicBlock::kExpansion;
    std::int64_t channels = 64;
    for (int l = 0; l < 4; ++l) {
      const std::int64_t planes = std::int64_t{64} << l;
      auto layer = std::make_shared<nn::Sequential>();
      for (std::int64_t b = 0; b < blocks[l]; ++b) {
        const std::int64_t stride = (b == 0 && l > 0) ? 2 : 1;
        if (bottleneck)
          layer->push_back(std::make_shared<Bottleneck>(channels, planes, stride));
        else
          layer->push_back(std::make_shared<BasicBlock>(channels, planes, stride));
        channels = planes * expansion;
      }
      layers_[l] = register_module("layer" + std::to_string(l + 1), layer);
    }
    avgpool_ = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(1));
    fc_ = register_module("fc", std::make_shared<nn::Linear>(channels, options.num_classes));
    init_resnet_weights(*this, gen);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    check_image_input(model_name(), x, options_.in_channels);
    Tensor<float> y = (*maxpool_)((*relu_)((*bn1_)((*conv1_)(x))));
    for (const auto& layer : layers_) y = (*layer)(y);
    return (*fc_)((*avgpool_)(y).flatten(1));
  }

  // "ResNet-18" / "ResNet-50" (in errors).
  std::string model_name() const {
    return options_.depth == ResNetDepth::k50 ? "ResNet-50" : "ResNet-18";
  }
  const ResNetOptions& options() const { return options_; }

 private:
  ResNetOptions options_;
  std::shared_ptr<nn::Conv2d> conv1_;
  std::shared_ptr<nn::BatchNorm2d> bn1_;
  std::shared_ptr<nn::ReLU> relu_;
  std::shared_ptr<nn::MaxPool2d> maxpool_;
  std::shared_ptr<nn::Sequential> layers_[4];
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool_;
  std::shared_ptr<nn::Linear> fc_;
};

// The options' depth is overridden by the function's.
inline std::shared_ptr<ResNet> resnet18(ResNetOptions options = {},
                                        Generator& gen = default_generator()) {
  options.depth = ResNetDepth::k18;
  return std::make_shared<ResNet>(options, gen);
}
inline std::shared_ptr<ResNet> resnet50(ResNetOptions options = {},
                                        Generator& gen = default_generator()) {
  options.depth = ResNetDepth::k50;
  return std::make_shared<ResNet>(options, gen);
}

}  // namespace frost::models
