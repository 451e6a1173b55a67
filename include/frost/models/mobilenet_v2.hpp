#pragma once
// MobileNetV2 (Sandler et al. 2018) laid out as torchvision's, so state dicts line up:
// features.0 the stem (Conv-BN-ReLU6, "0", "1", "2"), features.1 .. 17 the inverted residuals
// (each with its Sequential "conv"), features.18 the 1x1 Conv-BN-ReLU6 to the last channels, then
// global average pooling and classifier = [Dropout, Linear]. At width 1.0 and 1000 classes it has
// 3504872 parameters, as torchvision's.
//
//   auto net = frost::models::mobilenet_v2({.width_mult = 0.5, .num_classes = 10,
//                                           .small_input = true});
//
// small_input runs the stem at stride 1 (for 28x28 / 32x32 images: the output stride is then 16).

#include <cstdint>
#include <memory>
#include <string>

#include "frost/core/rng.hpp"
#include "frost/models/conv_bn_act.hpp"
#include "frost/models/init.hpp"
#include "frost/models/input_check.hpp"
#include "frost/models/make_divisible.hpp"
#include "frost/nn/batch_norm.hpp"
#include "frost/nn/conv.hpp"
#include "frost/nn/dropout.hpp"
#include "frost/nn/linear.hpp"
#include "frost/nn/module.hpp"
#include "frost/nn/sequential.hpp"
#include "frost/ops/elementwise.hpp"
#include "frost/ops/pool.hpp"

namespace frost::models {

// torchvision's InvertedResidual of MobileNetV2: [1x1 expansion Conv-BN-ReLU6 when expand_ratio
// != 1], 3x3 depthwise Conv-BN-ReLU6 (stride), 1x1 projection Conv + BN; x + block(x) when the
// stride is 1 and the channels are kept.
class InvertedResidualV2 : public nn::Module {
 public:
  InvertedResidualV2(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride,
                     std::int64_t expand_ratio)
      : nn::Module("InvertedResidual"), use_residual_(stride == 1 && in_channels == out_channels) {
    FROST_CHECK(stride == 1 || stride == 2, "InvertedResidual", "stride must be 1 or 2, got ",
                stride);
    const std::int64_t hidden = in_channels * expand_ratio;
    auto block = std::make_shared<nn::Sequential>();
    if (expand_ratio != 1)
      block->push_back(conv_bn_act(in_channels, hidden, 1, {.activation = Activation::kReLU6}));
    block->push_back(conv_bn_act(
        hidden, hidden, 3, {.stride = stride, .groups = hidden, .activation = Activation::kReLU6}));
    block->push_back(
        std::make_shared<nn::Conv2d>(hidden, out_channels, 1, nn::Conv2dOptions{.bias = false}));
    block->push_back(std::make_shared<nn::BatchNorm2d>(out_channels));
    conv_ = register_module("conv", block);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    return use_residual_ ? x + (*conv_)(x) : (*conv_)(x);
  }

  bool use_residual() const { return use_residual_; }

 private:
  bool use_residual_;
  std::shared_ptr<nn::Sequential> conv_;
};

struct MobileNetV2Options {
  double width_mult = 1.0;
  std::int64_t num_classes = 1000;
  std::int64_t in_channels = 3;
  double dropout = 0.2;
  bool small_input = false;  // stem at stride 1, for 28x28 / 32x32 images
};

class MobileNetV2 : public nn::Module {
 public:
  explicit MobileNetV2(const MobileNetV2Options& options = {}, Generator& gen = default_generator())
      : nn::Module("MobileNetV2"), options_(options) {
    FROST_CHECK(options.width_mult > 0 && options.num_classes > 0 && options.in_channels > 0 &&
                    options.dropout >= 0 && options.dropout <= 1,
                "MobileNetV2", "invalid options: width_mult ", options.width_mult, ", num_classes ",
                options.num_classes, ", in_channels ", options.in_channels, ", dropout ",
                options.dropout);
    struct Stage {
      std::int64_t t, c, n, s;
    };
    static constexpr Stage kStages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                        {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    const double w = options.width_mult;
    std::int64_t channels = make_divisible(32 * w);
    last_channels_ = make_divisible(1280 * std::max(1.0, w));
    auto features = std::make_shared<nn::Sequential>();
    features->push_back(
        conv_bn_act(options.in_channels, channels, 3,
                    {.stride = options.small_input ? 1 : 2, .activation = Activation::kReLU6}));
    for (const Stage& st : kStages) {
      const std::int64_t out = make_divisible(static_cast<double>(st.c) * w);
      for (std::int64_t i = 0; i < st.n; ++i) {
        features->push_back(
            std::make_shared<InvertedResidualV2>(channels, out, i == 0 ? st.s : 1, st.t));
        channels = out;
      }
    }
    features->push_back(
        conv_bn_act(channels, last_channels_, 1, {.activation = Activation::kReLU6}));
    features_ = register_module("features", features);
    classifier_ = register_module(
        "classifier", std::make_shared<nn::Sequential>(
                          std::make_shared<nn::Dropout>(options.dropout, gen),
                          std::make_shared<nn::Linear>(last_channels_, options.num_classes)));
    init_classification_weights(*this, gen);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    check_image_input(type_name(), x, options_.in_channels);
    Tensor<float> y = (*features_)(x);
    y = adaptive_avg_pool2d(y, 1).flatten(1);
    return (*classifier_)(y);
  }

  const MobileNetV2Options& options() const { return options_; }
  std::int64_t last_channels() const { return last_channels_; }
  const std::shared_ptr<nn::Sequential>& features() const { return features_; }
  const std::shared_ptr<nn::Sequential>& classifier() const { return classifier_; }

 private:
  MobileNetV2Options options_;
  std::int64_t last_channels_ = 0;
  std::shared_ptr<nn::Sequential> features_, classifier_;
};

inline std::shared_ptr<MobileNetV2> mobilenet_v2(const MobileNetV2Options& options = {},
                                                 Generator& gen = default_generator()) {
  return std::make_shared<MobileNetV2>(options, gen);
}

}  // namespace frost::models
