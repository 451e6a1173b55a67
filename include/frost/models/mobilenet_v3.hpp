#pragma once
// MobileNetV3 large and small (Howard et al. 2019) laid out as torchvision's: features.0 the stem
// (Conv-BN-Hardswish, stride 2), features.1 .. the inverted residuals (each a Sequential "block"
// of [expansion], depthwise, [squeeze-excite], projection), the last 1x1 Conv-BN-Hardswish to
// 6x the last block's channels, avgpool, classifier = [Linear, Hardswish, Dropout, Linear].
// Batch norms use eps 0.001 and momentum 0.01, as torchvision's. At width 1.0 and 1000 classes
// large has 5483032 parameters and small 2542856.
//
//   auto net = frost::models::mobilenet_v3_small({.width_mult = 0.5, .num_classes = 10});

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frost/core/rng.hpp"
#include "frost/models/conv_bn_act.hpp"
#include "frost/models/init.hpp"
#include "frost/models/input_check.hpp"
#include "frost/models/make_divisible.hpp"
#include "frost/nn/activation.hpp"
#include "frost/nn/conv.hpp"
#include "frost/nn/dropout.hpp"
#include "frost/nn/linear.hpp"
#include "frost/nn/module.hpp"
#include "frost/nn/pooling.hpp"
#include "frost/nn/sequential.hpp"
#include "frost/ops/elementwise.hpp"

namespace frost::models {

// torchvision's SqueezeExcitation: scale = hardsigmoid(fc2(relu(fc1(avgpool(x))))), x * scale.
// The channel multiply is written here, in forward: quantization finds it in the trace.
class SqueezeExcitation : public nn::Module {
 public:
  SqueezeExcitation(std::int64_t channels, std::int64_t squeeze_channels)
      : nn::Module("SqueezeExcitation") {
    avgpool_ = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(1));
    fc1_ = register_module("fc1", std::make_shared<nn::Conv2d>(channels, squeeze_channels, 1));
    fc2_ = register_module("fc2", std::make_shared<nn::Conv2d>(squeeze_channels, channels, 1));
    activation_ = register_module("activation", std::make_shared<nn::ReLU>());
    scale_activation_ = register_module("scale_activation", std::make_shared<nn::Hardsigmoid>());
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    const Tensor<float> scale =
        (*scale_activation_)((*fc2_)((*activation_)((*fc1_)((*avgpool_)(x)))));
    return scale * x;
  }

 private:
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool_;
  std::shared_ptr<nn::Conv2d> fc1_, fc2_;
  std::shared_ptr<nn::ReLU> activation_;
  std::shared_ptr<nn::Hardsigmoid> scale_activation_;
};

// One row of torchvision's table (channels before the width multiplier).
struct InvertedResidualConfigV3 {
  std::int64_t input_channels, kernel, expanded_channels, out_channels;
  bool use_se, use_hardswish;
  std::int64_t stride;
};

inline nn::BatchNorm2dOptions mobilenet_v3_batch_norm() {
  return {.eps = 0.001, .momentum = 0.01};
}

// torchvision's InvertedResidual of MobileNetV3 (with the width multiplier already applied).
class InvertedResidualV3 : public nn::Module {
 public:
  explicit InvertedResidualV3(const InvertedResidualConfigV3& c)
      : nn::Module("InvertedResidual"),
        use_residual_(c.stride == 1 && c.input_channels == c.out_channels) {
    FROST_CHECK(c.stride == 1 || c.stride == 2, "InvertedResidual", "stride must be 1 or 2, got ",
                c.stride);
    const Activation act = c.use_hardswish ? Activation::kHardswish : Activation::kReLU;
    const nn::BatchNorm2dOptions bn = mobilenet_v3_batch_norm();
    auto block = std::make_shared<nn::Sequential>();
    if (c.expanded_channels != c.input_channels)
      block->push_back(conv_bn_act(c.input_channels, c.expanded_channels, 1,
                                   {.activation = act, .batch_norm = bn}));
    block->push_back(conv_bn_act(
        c.expanded_channels, c.expanded_channels, c.kernel,
        {.stride = c.stride, .groups = c.expanded_channels, .activation = act, .batch_norm = bn}));
    if (c.use_se)
      block->push_back(std::make_shared<SqueezeExcitation>(
          c.expanded_channels, make_divisible(static_cast<double>(c.expanded_channels / 4), 8)));
    block->push_back(conv_bn_act(c.expanded_channels, c.out_channels, 1,
                                 {.activation = Activation::kNone, .batch_norm = bn}));
    block_ = register_module("block", block);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    Tensor<float> y = (*block_)(x);
    return use_residual_ ? y + x : y;
  }

  bool use_residual() const { return use_residual_; }

 private:
  bool use_residual_;
  std::shared_ptr<nn::Sequential> block_;
};

enum class MobileNetV3Mode { kLarge, kSmall };

struct MobileNetV3Options {
  MobileNetV3Mode mode = MobileNetV3Mode::kLarge;
  double width_mult = 1.0;
  std::int64_t num_classes = 1000;
  std::int64_t in_channels = 3;
  double dropout = 0.2;
};

class MobileNetV3 : public nn::Module {
 public:
  explicit MobileNetV3(const MobileNetV3Options& options = {}, Generator& gen = default_generator())
      : nn::Module("MobileNetV3"), options_(options) {
    FROST_CHECK(options.width_mult > 0 && options.num_classes > 0 && options.in_channels > 0 &&
                    options.dropout >= 0 && options.dropout <= 1,
                "MobileNetV3", "invalid options: width_mult ", options.width_mult, ", num_classes ",
                options.num_classes, ", in_channels ", options.in_channels, ", dropout ",
                options.dropout);
    using C = InvertedResidualConfigV3;
    constexpr bool RE = false, HS = true;
    const bool large = options.mode == MobileNetV3Mode::kLarge;
    std::vector<C> table;
    if (large) {
      table = {{16, 3, 16, 16, false, RE, 1},   {16, 3, 64, 24, false, RE, 2},
               {24, 3, 72, 24, false, RE, 1},   {24, 5, 72, 40, true, RE, 2},
               {40, 5, 120, 40, true, RE, 1},   {40, 5, 120, 40, true, RE, 1},
               {40, 3, 240, 80, false, HS, 2},  {80, 3, 200, 80, false, HS, 1},
               {80, 3, 184, 80, false, HS, 1},  {80, 3, 184, 80, false, HS, 1},
               {80, 3, 480, 112, true, HS, 1},  {112, 3, 672, 112, true, HS, 1},
               {112, 5, 672, 160, true, HS, 2}, {160, 5, 960, 160, true, HS, 1},
               {160, 5, 960, 160, true, HS, 1}};
    } else {
      table = {{16, 3, 16, 16, true, RE, 2},  {16, 3, 72, 24, false, RE, 2},
               {24, 3, 88, 24, false, RE, 1}, {24, 5, 96, 40, true, HS, 2},
               {40, 5, 240, 40, true, HS, 1}, {40, 5, 240, 40, true, HS, 1},
               {40, 5, 120, 48, true, HS, 1}, {48, 5, 144, 48, true, HS, 1},
               {48, 5, 288, 96, true, HS, 2}, {96, 5, 576, 96, true, HS, 1},
               {96, 5, 576, 96, true, HS, 1}};
    }
    const auto adjust = [&](std::int64_t c) {
      return make_divisible(static_cast<double>(c) * options.width_mult, 8);
    };
    for (C& c : table) {
      c.input_channels = adjust(c.input_channels);
      c.expanded_channels = adjust(c.expanded_channels);
      c.out_channels = adjust(c.out_channels);
    }
    const std::int64_t last_channel = adjust(large ? 1280 : 1024);
    const nn::BatchNorm2dOptions bn = mobilenet_v3_batch_norm();

    auto features = std::make_shared<nn::Sequential>();
    features->push_back(
        conv_bn_act(options.in_channels, table.front().input_channels, 3,
                    {.stride = 2, .activation = Activation::kHardswish, .batch_norm = bn}));
    for (const C& c : table) features->push_back(std::make_shared<InvertedResidualV3>(c));
    const std::int64_t last_in = table.back().out_channels, last_out = 6 * last_in;
    features->push_back(conv_bn_act(last_in, last_out, 1,
                                    {.activation = Activation::kHardswish, .batch_norm = bn}));
    features_ = register_module("features", features);
    avgpool_ = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(1));
    classifier_ = register_module(
        "classifier",
        std::make_shared<nn::Sequential>(
            std::make_shared<nn::Linear>(last_out, last_channel), std::make_shared<nn::Hardswish>(),
            std::make_shared<nn::Dropout>(options.dropout, gen),
            std::make_shared<nn::Linear>(last_channel, options.num_classes)));
    init_classification_weights(*this, gen);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    check_image_input(model_name(), x, options_.in_channels);
    return (*classifier_)((*avgpool_)((*features_)(x)).flatten(1));
  }

  // "MobileNetV3-Large" / "MobileNetV3-Small" (in errors).
  std::string model_name() const {
    return options_.mode == MobileNetV3Mode::kLarge ? "MobileNetV3-Large" : "MobileNetV3-Small";
  }
  const MobileNetV3Options& options() const { return options_; }
  const std::shared_ptr<nn::Sequential>& features() const { return features_; }
  const std::shared_ptr<nn::Sequential>& classifier() const { return classifier_; }

 private:
  MobileNetV3Options options_;
  std::shared_ptr<nn::Sequential> features_, classifier_;
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool_;
};

// The options' mode is overridden by the function's.
inline std::shared_ptr<MobileNetV3> mobilenet_v3_large(MobileNetV3Options options = {},
                                                       Generator& gen = default_generator()) {
  options.mode = MobileNetV3Mode::kLarge;
  return std::make_shared<MobileNetV3>(options, gen);
}
inline std::shared_ptr<MobileNetV3> mobilenet_v3_small(MobileNetV3Options options = {},
                                                       Generator& gen = default_generator()) {
  options.mode = MobileNetV3Mode::kSmall;
  return std::make_shared<MobileNetV3>(options, gen);
}

}  // namespace frost::models
