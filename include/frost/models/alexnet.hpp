#pragma once
// AlexNet (Krizhevsky et al. 2012) laid out as torchvision's: features (Conv 11x11 stride 4,
// ReLU, MaxPool 3/2, Conv 5x5, ReLU, MaxPool, three Conv 3x3 with ReLU, MaxPool), avgpool to
// 6x6, classifier = [Dropout, Linear(256*6*6, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU,
// Linear(4096, classes)]. 61100840 parameters at 1000 classes. PyTorch's default layer
// initialisation drawn from the generator, as torchvision keeps it. Inputs are at least 63x63
// (the three unpadded 3x3 max pools after the stride-4 stem).
//
//   auto net = frost::models::alexnet({.num_classes = 10});

#include <cstdint>
#include <memory>
#include <string>

#include "frost/core/rng.hpp"
#include "frost/models/init.hpp"
#include "frost/models/input_check.hpp"
#include "frost/nn/activation.hpp"
#include "frost/nn/conv.hpp"
#include "frost/nn/dropout.hpp"
#include "frost/nn/linear.hpp"
#include "frost/nn/module.hpp"
#include "frost/nn/pooling.hpp"
#include "frost/nn/sequential.hpp"

namespace frost::models {

struct AlexNetOptions {
  std::int64_t num_classes = 1000;
  std::int64_t in_channels = 3;
  double dropout = 0.5;
};

class AlexNet : public nn::Module {
 public:
  static constexpr std::int64_t kMinInputSize = 63;

  explicit AlexNet(const AlexNetOptions& options = {}, Generator& gen = default_generator())
      : nn::Module("AlexNet"), options_(options) {
    FROST_CHECK(options.num_classes > 0 && options.in_channels > 0 && options.dropout >= 0 &&
                    options.dropout <= 1,
                "AlexNet", "invalid options: num_classes ", options.num_classes, ", in_channels ",
                options.in_channels, ", dropout ", options.dropout);
    const auto conv = [](std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride,
                         std::int64_t padding) {
      return std::make_shared<nn::Conv2d>(in, out, k,
                                          nn::Conv2dOptions{.stride = stride, .padding = padding});
    };
    const auto pool = [] {
      return std::make_shared<nn::MaxPool2d>(3, nn::MaxPool2dOptions{.stride = 2});
    };
    const auto relu = [] { return std::make_shared<nn::ReLU>(); };
    features_ = register_module(
        "features", std::make_shared<nn::Sequential>(
                        conv(options.in_channels, 64, 11, 4, 2), relu(), pool(),
                        conv(64, 192, 5, 1, 2), relu(), pool(), conv(192, 384, 3, 1, 1), relu(),
                        conv(384, 256, 3, 1, 1), relu(), conv(256, 256, 3, 1, 1), relu(), pool()));
    avgpool_ = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(6));
    classifier_ = register_module(
        "classifier",
        std::make_shared<nn::Sequential>(std::make_shared<nn::Dropout>(options.dropout, gen),
                                         std::make_shared<nn::Linear>(256 * 6 * 6, 4096), relu(),
                                         std::make_shared<nn::Dropout>(options.dropout, gen),
                                         std::make_shared<nn::Linear>(4096, 4096), relu(),
                                         std::make_shared<nn::Linear>(4096, options.num_classes)));
    init_default_weights(*this, gen);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    check_image_input(type_name(), x, options_.in_channels, kMinInputSize);
    return (*classifier_)((*avgpool_)((*features_)(x)).flatten(1));
  }

  const AlexNetOptions& options() const { return options_; }
  const std::shared_ptr<nn::Sequential>& features() const { return features_; }
  const std::shared_ptr<nn::Sequential>& classifier() const { return classifier_; }

 private:
  AlexNetOptions options_;
  std::shared_ptr<nn::Sequential> features_, classifier_;
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool_;
};

inline std::shared_ptr<AlexNet> alexnet(const AlexNetOptions& options = {},
                                        Generator& gen = default_generator()) {
  return std::make_shared<AlexNet>(options, gen);
}

}  // namespace frost::models
